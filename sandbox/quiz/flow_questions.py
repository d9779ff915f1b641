"""Generated questions about the lesson's flow, each keyed by a simulated `mrsandbox deploy` run:
the state after a step, the step of an action, a call left out, and a failure under a policy."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from sandbox.flow.deployment import COMPLETED, POLICIES
from sandbox.flow.tracer import WATCHED, display
from sandbox.quiz.material import unchanged_without
from sandbox.quiz.model import Question
from sandbox.quiz.options import Variant, choices
from sandbox.quiz.runs import run_command

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


def _askable_steps(trace: Any) -> list[tuple[int, str]]:
    """(step, what a question asks about it) for steps a question can name unambiguously."""
    asks = {
        ("Deploy model", "Deployment success"): "does the first deployment to {} happen",
        ("Deploy model", "Deployment failed"): "does the first deployment to {} happen",
        ("Retry deployment", "Deployment success"): "is the deployment to {} first retried",
        ("Retry deployment", "Deployment failed"): "is the deployment to {} first retried",
        ("Verify deployment", "Verification success"): "does the verification of {} succeed",
        ("Setup traffic routing", "Routing configured"): "is traffic routing configured",
        ("Start health monitoring", "Monitoring active"): "does health monitoring start",
    }
    found: dict[str, int] = {}
    for s in trace.steps:
        ask = asks.get((s.action, s.result))
        if ask is not None:
            found.setdefault(ask.format(s.region), s.step)
    return [(step, ask) for ask, step in found.items()]


def step_of_action(qid: str, variant: Variant, rng: random.Random) -> Question | None:
    """ "At which step is traffic routing configured?" from the process table."""
    failure = _with_failure(variant, rng)
    command = variant.command(*failure)
    trace = run_command(command).trace
    n, asks = rng.choice(_askable_steps(trace))
    row = trace.steps[n - 1]
    related = [
        s.step
        for s in trace.steps
        if s.region == row.region and s.action != row.action and s.action != "Select region"
    ]
    last = len(trace.steps)
    candidates = [n - 1, n + 1, n + 2, last, *related[:1]]

    def shown(k: int) -> str:
        s = trace.steps[k - 1]
        if k == last:
            return f"No: step {k} is the End row: {s.next_step}."
        return f"No: step {k} is {s.action} ({s.region}): {s.result}."

    options = choices(
        f"Step {n}",
        f"Right: step {n} is {row.action} ({row.region}): {row.result}.",
        [(f"Step {k}", shown(k)) for k in candidates if 1 <= k <= last],
        rng,
    )
    if options is None:
        return None
    return Question(
        id=qid,
        text=f"Run the command below. At which step {asks}?",
        code=command,
        options=options,
        hint=f"Look at the Action and Result columns of the Process Table for '{row.action}'.",
        solution=(f"Step {n} of the Process Table is {row.action} ({row.region}): {row.result}.",),
        mistakes=("Reading the row before or after", "Confusing deploying with verifying"),
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
    start, end = without.trace.snapshots[0], without.trace.snapshots[-1]
    ending = without.trace.steps[-1].next_step
    if len(names) == 1:
        name = names[0]
        key = name
        text = (
            f"If the call {python} were left out of the loop, which variable would remain "
            f"{display(start[name])} in the Status Tracker?"
        )
        distractors = [
            (v, f"No: without {python}, {v} still ends as {display(end[v])}.")
            for v in WATCHED
            if v not in (name, "regions")  # regions is the input: it never changes
        ]
        evidence = f"without {python}, only {name} keeps its start value {display(start[name])}."
    else:
        name = rng.choice([v for v in DICTS if full.trace.snapshots[-1][v] != start[v]])
        final = end[name]
        key = display(final)
        text = f"If the call {python} were left out of the loop, what would {name} be at the end?"
        wrong = f"No: without {python}, {name} ends as {key} ({ending})."
        distractors = [
            (display(full.trace.snapshots[-1][name]), f"{wrong} That is the full run's."),
            (display(start[name]), f"{wrong} The calls before the refusal still count."),
            (display({k: final[k] for k in list(final)[:-1]}), wrong),
            (display(dict.fromkeys(final, "failed")), f"{wrong} A call left out is no failure."),
        ]
        evidence = f"without {python}, {name} ends as {key}; the End row says: {ending}."
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
    fails = {None: "every time", 1: "once, the first time"}.get(count, f"the first {count} times")
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
        rows = f"No: the Process Table has {attempts} Deploy/Retry rows for {region}"
        distractors = [
            (str(attempts + 1), f"{rows}."),
            (str(attempts - 1), f"{rows}; the first deployment counts too."),
            (str(allowed), f"{rows}; {allowed} is the most the policy allows."),
            ("1", f"{rows}; a failure does not end the region's deployments at once."),
        ]
        if count is not None:
            distractors.append((str(count), f"{rows}; {count} is the number of failures."))
        distractors = [(t, why) for t, why in distractors if int(t) >= 1]
        evidence = f"{region} has {attempts} Deploy/Retry rows; the outcome is {d.outcome}."
    elif ask == "outcome":
        key = d.outcome or ""
        text = f"{setup} What is the deployment's outcome?"
        why = {
            "complete": "complete needs every region verified, with no skip.",
            "complete_with_skips": "only the skip policy completes without a region.",
            "stopped": "stopped comes from the stop policy, or retry running out.",
            "rolled_back": "only the rollback policy rolls regions back.",
        }
        ending = d.trace.steps[-1].next_step
        distractors = [(o, f"No: the End row says {ending}; {why[o]}") for o in OUTCOMES]
        evidence = f"the End row says {ending}."
    else:
        key = ", ".join(d.routes) if d.routes else "none"
        text = (
            f"{setup} Which regions receive traffic after the deployment "
            "(none if routing is never set up)?"
        )
        others = [r for r in variant.regions if r != region]
        candidates = [list(variant.regions), others, [region], [], variant.regions[:1]]
        distractors = [
            (", ".join(c) or "none", _traffic_feedback(c, d.routes, (region, stage), d.outcome))
            for c in candidates
        ]
        evidence = f"the outcome is {d.outcome}; routed regions: {key}."
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


def _traffic_feedback(
    option: Sequence[str], routes: Sequence[str], failed: tuple[str, str], outcome: str | None
) -> str:
    """Why an option's regions are not the ones that get traffic, fact by fact; `failed` is
    the failing region and its stage."""
    if not routes:
        return f"No: the outcome is {outcome}, so routing is never set up: no region gets traffic."
    stage = {"deploy": "deployment", "verify": "verification"}[failed[1]]
    facts = [
        f"{r} gets no traffic" + (f" (its {stage} failed)" if r == failed[0] else "")
        for r in option
        if r not in routes
    ]
    facts += [f"{r} is verified and gets traffic too" for r in routes if r not in option]
    return f"No: {'; '.join(facts)}."
