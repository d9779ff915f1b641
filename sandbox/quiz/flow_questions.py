"""Generated questions about the lesson's flow, each keyed by a simulated `mrsandbox deploy` run:
the state after a step, the step of an action, a call left out, and a failure under a policy."""

from __future__ import annotations

import random
from typing import Any

from sandbox.flow import COMPLETED, POLICIES
from sandbox.quiz.material import unchanged_without
from sandbox.quiz.model import Question
from sandbox.quiz.options import Variant, choices
from sandbox.quiz.runs import run_command
from sandbox.tracer import WATCHED, display

DICTS = ("deployment_status", "verification_status")
OUTCOMES = ("complete", "complete_with_skips", "stopped", "rolled_back")
ATTEMPT_ACTIONS = ("Deploy model", "Retry deployment")


def _with_failure(variant: Variant, rng: random.Random) -> list[str]:
    """Sometimes a first deployment or verification that fails once (the retry fixes it)."""
    if rng.random() < 0.5:
        return []
    return ["--fail", f"{rng.choice(variant.regions)}:{rng.choice(('deploy', 'verify'))}:1"]


def state_after_step(qid: str, variant: Variant, rng: random.Random) -> Question | None:
    """ "What is deployment_status after step 4?" from the tracer's snapshots."""
    failure = _with_failure(variant, rng)
    command = variant.command(*failure)
    trace = run_command(command).trace
    variable = rng.choice(DICTS)
    n = rng.randrange(1, len(trace.steps))  # a step before the End row
    shown = [display(s[variable]) for s in trace.snapshots]
    key = shown[n]
    value = trace.snapshots[n][variable]
    latest = {k: value[k] for k in list(value)[-1:]}
    other = next(v for v in DICTS if v != variable)
    options = choices(
        key,
        f"Right: step {n} leaves {variable} at {key}.",
        [
            (shown[n - 1], f"One step off: that is {variable} before step {n}."),
            (shown[n + 1], f"One step off: that is {variable} after step {n + 1}."),
            (display(latest), "Only the latest region: the dict keeps every region's entry."),
            (shown[-1], f"The final state: {variable} still changes after step {n}."),
            (display(trace.snapshots[n][other]), f"That is {other}, not {variable}."),
        ],
        rng,
    )
    if options is None:
        return None
    step = trace.steps[n - 1]
    return Question(
        id=qid,
        text=f"Run the command below. What is {variable} after step {n}?",
        code=command,
        options=options,
        hint=f"Find step {n} in the Process Table, then read {variable} in the Status Tracker "
        "(--tracker full shows a column for every step).",
        solution=(
            f"Step {n} is {step.action} in {step.region}: {step.result}.",
            f"After it, {variable} is {key}.",
        ),
        mistakes=("Reading the column before or after the step", "Keeping only the last region"),
        difficulty="medium" if failure else "easy",
        source=command,
    )


def _step_actions(trace: Any) -> list[tuple[str, str, str]]:
    """(action, region, what it asks) for the steps a question can name unambiguously."""
    asks = {
        "Deploy model": "is the model first deployed to {}",
        "Retry deployment": "is the deployment to {} first retried",
        "Verify deployment": "is the deployment in {} first verified",
        "Setup traffic routing": "is traffic routing configured",
        "Start health monitoring": "does health monitoring start",
    }
    seen = set()
    found = []
    for s in trace.steps:
        if s.action in asks and (s.action, s.region) not in seen:
            seen.add((s.action, s.region))
            found.append((s.action, s.region, asks[s.action].format(s.region)))
    return found


def step_of_action(qid: str, variant: Variant, rng: random.Random) -> Question | None:
    """ "At which step is traffic routing configured?" from the process table."""
    failure = _with_failure(variant, rng)
    command = variant.command(*failure)
    trace = run_command(command).trace
    action, region, asks = rng.choice(_step_actions(trace))
    n = next(s.step for s in trace.steps if (s.action, s.region) == (action, region))
    partner = {"Deploy model": "Verify deployment", "Verify deployment": "Deploy model"}
    related = [
        s.step
        for s in trace.steps
        if (s.action, s.region) == (partner.get(action), region)
        or (action == "Setup traffic routing" and s.action == "Start health monitoring")
    ]
    last = len(trace.steps)
    candidates = [
        (n - 1, "One step off: that is the step before it."),
        (n + 1, "One step off: that is the step after it."),
        (related[0] if related else 0, f"That step is a different action in {region}."),
        (last, "That is the End row, after every action."),
        (n + 2, "Two steps off: count the rows of the Process Table again."),
    ]
    options = choices(
        f"Step {n}",
        f"Right: step {n} is {action} ({region}).",
        [(f"Step {k}", why) for k, why in candidates if 1 <= k <= last],
        rng,
    )
    if options is None:
        return None
    return Question(
        id=qid,
        text=f"Run the command below. At which step {asks}?",
        code=command,
        options=options,
        hint=f"Look at the Action column of the Process Table for '{action}'.",
        solution=(f"Step {n} of the Process Table is {action} ({region}).",),
        mistakes=("Counting from 0", "Confusing deploying with verifying"),
        difficulty="medium" if failure else "easy",
        source=command,
    )


def left_out(qid: str, variant: Variant, rng: random.Random) -> Question | None:
    """ "If monitoring was not started, which variable would remain false?" by running the loop
    without that call (`--leave-out`) and comparing with the full run."""
    region = rng.choice(variant.regions)
    call, python = rng.choice(
        [
            ("monitor_health", "monitor_health(regions)"),
            ("routing_setup", "routing_setup(regions)"),
            (f"verify_deployment:{region}", f"verify_deployment({region!r})"),
            (f"deploy_model:{region}", f"deploy_model({region!r})"),
        ]
    )
    full_command = variant.command()
    command = variant.command("--leave-out", call)
    full, without = run_command(full_command), run_command(command)
    names = unchanged_without(full, without)
    start = without.trace.snapshots[0]
    if len(names) == 1:
        name = names[0]
        key, text = (
            name,
            (
                f"If the call {python} were left out of the loop, which variable would remain "
                f"{display(start[name])} in the Status Tracker?"
            ),
        )
        distractors = [(v, f"{v} still changes without {python}.") for v in WATCHED if v != name]
        evidence = f"Without {python}, only {name} keeps its start value {display(start[name])}."
    else:
        name = rng.choice([v for v in DICTS if full.trace.snapshots[-1][v] != start[v]])
        final = without.trace.snapshots[-1][name]
        key = display(final)
        text = f"If the call {python} were left out of the loop, what would {name} be at the end?"
        distractors = [
            (display(full.trace.snapshots[-1][name]), "That is the full run's final state."),
            (display(start[name]), "The flow runs until it refuses a call; steps before it count."),
            (
                display({k: final[k] for k in list(final)[:-1]}),
                "One region too few: the last call before the refusal still counts.",
            ),
            (
                display(dict.fromkeys(final, "failed")),
                "A call left out is not a failure: nothing is marked failed.",
            ),
        ]
        evidence = f"Without {python}, {name} ends as {key}: {without.trace.steps[-1].next_step}."
    options = choices(key, "Right: " + evidence, distractors, rng)
    if options is None:
        return None
    return Question(
        id=qid,
        text=text,
        code=full_command,
        options=options,
        hint="Run it with --leave-out and compare the Final column with the full run's.",
        solution=(evidence,),
        mistakes=("Forgetting that the flow refuses calls out of order",),
        difficulty="medium" if len(names) == 1 else "hard",
        source=command,
    )


def failure_path(qid: str, variant: Variant, rng: random.Random) -> Question | None:
    """A failure in one region under retry, stop, rollback or skip: attempts, outcome, traffic."""
    region = rng.choice(variant.regions)
    stage = rng.choice(("deploy", "verify"))
    count = rng.choice((1, 2, 3, None))
    policy = rng.choice(POLICIES)
    retries = rng.choice((0, 1, 2, 3))
    spec = f"{region}:{stage}" + (f":{count}" if count else "")
    extra = ["--fail", spec, "--on-failure", policy]
    if policy == "retry" and retries != 2:
        extra += ["--max-retries", str(retries)]
    command = variant.command(*extra)
    d = run_command(command)
    ask = rng.choice(("attempts", "outcome", "traffic"))
    fails = "every time" if count is None else f"the first {count} time{'s' * (count > 1)}"
    setup = f"The {stage} step in {region} fails {fails}; the policy is {policy}."
    if ask == "attempts":
        attempts = sum(
            1 for s in d.trace.steps if s.region == region and s.action in ATTEMPT_ACTIONS
        )
        if attempts == 0:
            return None
        allowed = retries + 1 if policy == "retry" else 1
        key = str(attempts)
        text = f"{setup} How many times is the model deployed to {region}, retries included?"
        distractors = [
            (str(attempts + 1), "One too many: count the Deploy and Retry rows of the region."),
            (str(attempts - 1), "One too few: the first deployment counts too."),
            (str(allowed), "The most the policy allows, whether or not the failures last."),
            (str(count or 1), "The number of failures, not of deployments."),
            ("1", "A failure does not end the region's deployments under every policy."),
        ]
        distractors = [(t, why) for t, why in distractors if int(t) >= 1]
        evidence = f"{region} gets {attempts} Deploy/Retry row(s); outcome {d.outcome}."
    elif ask == "outcome":
        key = d.outcome or ""
        text = f"{setup} What is the deployment's outcome?"
        why = {
            "complete": "complete needs every region verified, with no skip.",
            "complete_with_skips": "only the skip policy completes without a region.",
            "stopped": "stopped comes from the stop policy, or retry running out.",
            "rolled_back": "only the rollback policy rolls regions back.",
        }
        distractors = [(o, why[o]) for o in OUTCOMES if o != key]
        evidence = f"The End row says {d.trace.steps[-1].next_step}."
    else:
        key = ", ".join(d.routes) if d.routes else "none"
        text = (
            f"{setup} Which regions receive traffic after the deployment "
            "(none if routing is never set up)?"
        )
        others = [r for r in variant.regions if r != region]
        distractors = [
            (", ".join(variant.regions), "Every listed region: a failed region gets no traffic."),
            (", ".join(others), "Routing is set up only when the flow reaches its end."),
            (region, "The failed region is the last to get traffic, not the only one."),
            ("none", "A completed deployment routes to its verified regions."),
            (variant.regions[0], "Routing covers every verified region, not the first only."),
        ]
        evidence = f"Outcome {d.outcome}; routed regions: {key}."
    options = choices(key, f"Right: {evidence}", distractors, rng)
    if options is None:
        return None
    return Question(
        id=qid,
        text=text,
        code=command,
        options=options,
        hint="Run the command and read the Process Table: each Deploy, Retry, Skip and Roll back "
        "row, and the End row.",
        solution=(
            f"Policy {policy}: "
            + (
                f"up to {retries} retries per region, then stop."
                if policy == "retry"
                else {
                    "stop": "the first failure stops the deployment.",
                    "rollback": "the first failure rolls back every region deployed so far.",
                    "skip": "a failed region is skipped and the others go on.",
                }[policy]
            ),
            evidence,
        ),
        mistakes=("Counting failures instead of attempts", "Expecting traffic after a halt"),
        difficulty="medium" if d.outcome in COMPLETED else "hard",
        source=command,
    )
