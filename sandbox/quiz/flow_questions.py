"""Generated questions about the lesson's flow, each keyed by a simulated `mrsandbox deploy` run:
the state after a step, the step of an action, a call left out, and a failure under a policy."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from sandbox.flow.tracer import WATCHED, Trace, display
from sandbox.quiz.material import unchanged_without
from sandbox.quiz.model import Question, rubric
from sandbox.quiz.options import Variant, Wrong, choices, regions_text
from sandbox.quiz.runs import run_command

DICTS = ("deployment_status", "verification_status")
OUTCOMES = ("complete", "complete_with_skips", "stopped", "rolled_back")
ATTEMPT_ACTIONS = ("Deploy model", "Retry deployment")
WRONG_OUTCOME = {
    "complete": "failure_ignored",
    "complete_with_skips": "skip_assumed",
    "stopped": "stop_assumed",
    "rolled_back": "rollback_assumed",
}
ROWS = {"deployment_status": ATTEMPT_ACTIONS, "verification_status": ("Verify deployment",)}


def _with_failure(variant: Variant, rng: random.Random) -> list[str]:
    """The variant's own flags if it has any; else sometimes a first deployment or
    verification that fails once (the retry fixes it)."""
    if variant.flags:
        return list(variant.flags)
    if rng.random() < 0.5:
        return []
    return ["--fail", f"{rng.choice(variant.regions)}:{rng.choice(('deploy', 'verify'))}:1"]


def state_after_step(qid: str, variant: Variant, rng: random.Random) -> Question | None:
    """ "What is deployment_status after step 4?", read from the Status Tracker it shows (one
    fact), or worked out from the Process Table alone (one fact per row that changes it)."""
    failure = _with_failure(variant, rng)
    command = variant.command(*failure)
    return state_question(qid, run_command(command).trace, command, rng)


def state_question(
    qid: str,
    trace: Trace,
    command: str,
    rng: random.Random,
    variables: Sequence[str] = DICTS,
    rows: Mapping[str, tuple[str, ...]] = ROWS,
) -> Question | None:
    """The value of one of `variables` after a step of the run of `command` (`trace`); `rows`:
    each dict variable of the trace and the actions that set it."""
    variable = rng.choice(variables)
    # A step before the End row, its value's shape drawn first (evenly), so that no shape of
    # dict (empty, one success, two, a failure...) is the key more often than the others.
    shapes: dict[tuple[str, ...], list[int]] = {}
    for k in range(1, len(trace.steps)):
        shapes.setdefault(tuple(sorted(trace.snapshots[k][variable].values())), []).append(k)
    n = rng.choice(shapes[rng.choice(sorted(shapes))])
    shown = [display(s[variable]) for s in trace.snapshots]
    key = shown[n]
    value = trace.snapshots[n][variable]
    latest = {k: value[k] for k in list(value)[-1:]}
    other = next(v for v in rows if v != variable)
    options = choices(
        key,
        f"Right: step {n} leaves {variable} at {key}.",
        [
            Wrong(shown[n - 1], "step_before", f"That is {variable} before step {n}."),
            Wrong(shown[n + 1], "step_after", f"That is {variable} after step {n + 1}."),
            Wrong(display(latest), "latest_only", "The dict keeps every region's entry."),
            Wrong(shown[-1], "final_state", f"That is the final {variable}."),
            Wrong(display(trace.snapshots[n][other]), "other_variable", f"That is {other}."),
        ],
        rng,
    )
    if options is None:
        return None
    step = trace.steps[n - 1]
    from_tracker = rng.random() < 0.5
    if from_tracker:
        evidence, facts = trace.status_tracker("full").to_text(), 1
        text = f"The Status Tracker of a run is shown. What is {variable} after step {n}?"
        hint = f"Find the column 'After Step {n}' and read the row {variable}."
    else:
        setting = [s for s in trace.steps[:n] if s.action in rows[variable]]
        evidence, facts = trace.process_table().to_text(), max(1, len(setting))
        text = (
            f"The Process Table of a run is shown, without its Status Tracker. "
            f"What is {variable} after step {n}?"
        )
        hint = (
            f"Go down the rows to step {n}; each {' or '.join(rows[variable])} row sets its region."
        )
    return Question(
        id=qid,
        kind="state",
        text=text,
        code=command,
        evidence=evidence,
        options=options,
        hint=hint,
        solution=(
            f"Step {n} is {step.action} in {step.region}: {step.result}.",
            f"After it, {variable} is {key}.",
        ),
        mistakes=("Reading the column before or after the step", "Keeping only the last region"),
        difficulty=rubric(facts, rule_suffices=True),
        source=command,
    )


Asks = Mapping[tuple[str, str | None], str]  # (action, result or None: any) -> what is asked
ASKS: Asks = {  # about the first such step of the lesson's flow
    ("Deploy model", "Deployment success"): "does the first deployment to {} happen",
    ("Deploy model", "Deployment failed"): "does the first deployment to {} happen",
    ("Retry deployment", "Deployment success"): "is the deployment to {} first retried",
    ("Retry deployment", "Deployment failed"): "is the deployment to {} first retried",
    ("Verify deployment", "Verification success"): "does the verification of {} succeed",
    ("Setup traffic routing", "Routing configured"): "is traffic routing configured",
    ("Start health monitoring", "Monitoring active"): "does health monitoring start",
}


def _askable_steps(trace: Trace, asks: Asks) -> list[tuple[int, str]]:
    """(step, what a question asks about it) for steps a question can name unambiguously."""
    found: dict[str, int] = {}
    for s in trace.steps:
        ask = asks.get((s.action, s.result), asks.get((s.action, None)))
        if ask is not None:
            found.setdefault(ask.format(s.region), s.step)
    return [(step, ask) for ask, step in found.items()]


def step_of_action(qid: str, variant: Variant, rng: random.Random) -> Question | None:
    """ "At which step is traffic routing configured?", read from the Process Table it shows."""
    failure = _with_failure(variant, rng)
    command = variant.command(*failure)
    return step_question(qid, run_command(command).trace, command, rng)


def step_question(
    qid: str,
    trace: Trace,
    command: str,
    rng: random.Random,
    asks: Asks = ASKS,
) -> Question | None:
    """The step at which the run of `command` (`trace`) first does one of `asks`' actions."""
    n, asks_about = rng.choice(_askable_steps(trace, asks))
    row = trace.steps[n - 1]
    last = len(trace.steps)

    def wrong(k: int) -> Wrong:
        s = trace.steps[k - 1]
        if k == last:
            return Wrong(f"Step {k}", "end_row", f"Step {k} is the End row: {s.next_step}.")
        name = (
            "other_step" if s.region == row.region else ("step_before" if k < n else "step_after")
        )
        return Wrong(f"Step {k}", name, f"Step {k} is {s.action} ({s.region}): {s.result}.")

    related = [
        s.step
        for s in trace.steps
        if s.region == row.region and s.action != row.action and s.action != "Select region"
    ]
    candidates = [n - 1, n + 1, n + 2, last, *related[:1]]
    options = choices(
        f"Step {n}",
        f"Right: step {n} is {row.action} ({row.region}): {row.result}.",
        [wrong(k) for k in candidates if 1 <= k <= last and k != n],
        rng,
    )
    if options is None:
        return None
    return Question(
        id=qid,
        kind="step",
        text=f"The Process Table of a run is shown. At which step {asks_about}?",
        code=command,
        evidence=trace.process_table().to_text(),
        options=options,
        hint=f"Look down the Action and Result columns for '{row.action}'.",
        solution=(f"Step {n} of the Process Table is {row.action} ({row.region}): {row.result}.",),
        mistakes=("Reading the row before or after", "Confusing deploying with verifying"),
        difficulty=rubric(1),
        source=command,
    )


def left_out(qid: str, variant: Variant, rng: random.Random) -> Question | None:
    """ "If the call verify_deployment('eu-west-1') were left out, what would deployment_status
    be at the end?" by running the loop without that call (`--leave-out`): the flow refuses the
    next call, and the runs differ. (The material's own "which variable would remain false"
    question, solved by matching names, is the visual set's.)"""
    region = rng.choice(variant.regions)
    call, python = rng.choice(
        [
            ("routing_setup", "routing_setup(regions)"),
            (f"verify_deployment:{region}", f"verify_deployment({region!r})"),
            (f"deploy_model:{region}", f"deploy_model({region!r})"),
        ]
    )
    full_command = variant.command(*variant.flags)
    command = variant.command(*variant.flags, "--leave-out", call)
    full, without = run_command(full_command), run_command(command)
    names = unchanged_without(full, without)
    start, end = without.trace.snapshots[0], without.trace.snapshots[-1]
    ending = without.trace.steps[-1].next_step
    if len(names) == 1:
        name = names[0]
        key, facts = name, 1
        text = (
            f"If the call {python} were left out of the loop, which variable would remain "
            f"{display(start[name])} in the Status Tracker?"
        )
        wrong = [
            Wrong(v, "still_changes", f"Without {python}, {v} still ends as {display(end[v])}.")
            for v in WATCHED
            # regions is the input: it never changes; one that stays put is right too
            if v not in (name, "regions") and end[v] != start[v]
        ]
        evidence = f"without {python}, only {name} keeps its start value {display(start[name])}."
    else:
        changed = [v for v in DICTS if full.trace.snapshots[-1][v] != end[v]]
        if not changed:  # the full run's dict would be the key, and the longest option
            return None
        name = rng.choice(changed)
        final = end[name]
        key, facts = display(final), 3  # the refusal, the calls before it, the dict
        text = f"If the call {python} were left out of the loop, what would {name} be at the end?"
        said = f"Without {python}, {name} ends as {key} ({ending})."
        wrong = [
            Wrong(display(full.trace.snapshots[-1][name]), "full_run", said),
            Wrong(display(start[name]), "nothing_before", said),
            Wrong(display({k: final[k] for k in list(final)[:-1]}), "drops_last", said),
            Wrong(display({**final, region: "failed"}), "left_out_fails", said),
        ]
        evidence = f"without {python}, {name} ends as {key}; the End row says: {ending}."
    options = choices(key, "Right: " + evidence, wrong, rng)
    if options is None:
        return None
    return Question(
        id=qid,
        kind="left_out",
        text=text,
        code=full_command,
        options=options,
        hint="Run the command, then again with --leave-out and that call: the flow refuses "
        "the next call, and the Final columns differ.",
        solution=(evidence,),
        mistakes=("Forgetting that the flow refuses calls out of order",),
        difficulty=rubric(facts),
        source=command,
    )


def _policy_for(outcome: str, rng: random.Random) -> tuple[str, int | None, int]:
    """A policy, how often the failure happens (None: every time) and the retries allowed, that
    end in `outcome` when the failing region is not the only one."""
    retries = rng.choice((0, 1, 2, 3))
    if outcome == "complete":
        return "retry", rng.randint(1, max(1, retries)), max(1, retries)
    if outcome == "complete_with_skips":
        return "skip", rng.choice((1, 2, None)), retries
    if outcome == "rolled_back":
        return "rollback", rng.choice((1, 2, None)), retries
    if rng.random() < 0.5:
        return "stop", rng.choice((1, 2, None)), retries
    return "retry", rng.choice((retries + 1, None)), retries


def failure_path(qid: str, variant: Variant, rng: random.Random) -> Question | None:
    """A failure in one region under retry, stop, rollback or skip: attempts, outcome, traffic.

    The outcome is drawn first, evenly (traffic questions halt a quarter of the time), so that no
    outcome and no "no region" is the key more often than the others.
    """
    ask = rng.choice(("attempts", "outcome", "traffic"))
    outcome = rng.choice(OUTCOMES)
    if ask == "traffic":
        outcome = rng.choice(("complete", "complete_with_skips", "complete_with_skips"))
        if rng.random() < 0.25:
            outcome = rng.choice(("stopped", "rolled_back"))
    policy, count, retries = _policy_for(outcome, rng)
    region = rng.choice(variant.regions)
    stage = rng.choice(("deploy", "verify"))
    spec = f"{region}:{stage}" + (f":{count}" if count else "")
    extra = ["--fail", spec, "--on-failure", policy]
    if policy == "retry" and retries != 2:
        extra += ["--max-retries", str(retries)]
    command = variant.command(*extra)
    d = run_command(command)
    fails = {None: "every time", 1: "at its first attempt only (1 failure)"}.get(
        count, f"the first {count} times"
    )
    limit = f" with up to {retries} retries" if policy == "retry" else ""
    setup = f"The {stage} step in {region} fails {fails}; the policy is {policy}{limit}."
    ending = d.trace.steps[-1].next_step
    if ask == "attempts":
        attempts = sum(
            1 for s in d.trace.steps if s.region == region and s.action in ATTEMPT_ACTIONS
        )
        if attempts == 0:
            return None
        allowed = retries + 1 if policy == "retry" else 1
        key, facts = str(attempts), 3
        text = (
            f"{setup} How many times does the flow deploy the model to {region}, the first "
            "deployment and every retry counted?"
        )
        rows = f"The Process Table has {attempts} Deploy/Retry rows for {region}."
        wrong = [
            Wrong(str(attempts + 1), "one_attempt_more", rows),
            Wrong(str(attempts - 1), "first_not_counted", rows),
            Wrong(str(allowed), "policy_maximum", rows),
            Wrong("1", "single_attempt", rows),
        ]
        if count is not None:
            wrong.append(Wrong(str(count), "failures_counted", rows))
        wrong = [w for w in wrong if int(w.text) >= 1]
        evidence = f"{region} has {attempts} Deploy/Retry rows; the outcome is {d.outcome}."
    elif ask == "outcome":
        key, facts = d.outcome or "", 2
        text = f"{setup} What is the deployment's outcome?"
        wrong = [Wrong(o, WRONG_OUTCOME[o], f"The End row says: {ending}.") for o in OUTCOMES]
        evidence = f"the End row says: {ending}."
    else:
        key, facts = regions_text(d.routes), 2
        text = f"{setup} Which regions receive traffic once the deployment has ended?"
        others = [r for r in variant.regions if r != region]
        halted = not d.routes
        wrong = [
            Wrong(regions_text(c), name, _traffic_feedback(c, d.routes, (region, stage), ending))
            for c, name in (
                (list(variant.regions), "halt_still_routes" if halted else "failed_region_served"),
                (others, "halt_still_routes" if halted else "skip_assumed"),
                ([region], "failed_region_served"),
                ([], "skip_routes_nothing" if policy == "skip" else "stop_assumed"),
                (list(variant.regions[:1]), "first_region_only"),
            )
        ]
        evidence = f"the outcome is {d.outcome}; routed regions: {key}."
    options = choices(key, f"Right: {evidence}", wrong, rng)
    if options is None:
        return None
    return Question(
        id=qid,
        kind="failure",
        text=text,
        code=command,
        options=options,
        hint="Follow the policy row by row: what it does after each failure, and when routing "
        "is set up.",
        solution=(_policy_rule(policy, retries), evidence),
        mistakes=("Counting failures instead of attempts", "Expecting traffic after a halt"),
        difficulty=rubric(facts, rule_suffices=True),
        source=command,
    )


def _policy_rule(policy: str, retries: int) -> str:
    if policy == "retry":
        return f"Policy retry: up to {retries} retries per region, then stop."
    return {
        "stop": "Policy stop: the first failure stops the deployment.",
        "rollback": "Policy rollback: the first failure rolls back every region deployed so far.",
        "skip": "Policy skip: a failed region is skipped and the others go on.",
    }[policy]


def _traffic_feedback(
    option: Sequence[str], routes: Sequence[str], failed: tuple[str, str], ending: str
) -> str:
    """Why an option's regions are not the ones that get traffic, fact by fact; `failed` is
    the failing region and its stage."""
    if not routes:
        return f"The End row says: {ending}. Routing is never set up: no region gets traffic."
    stage = {"deploy": "deployment", "verify": "verification"}[failed[1]]
    facts = [
        f"{r} gets no traffic" + (f" (its {stage} failed)" if r == failed[0] else "")
        for r in option
        if r not in routes
    ]
    facts += [f"{r} is verified and gets traffic too" for r in routes if r not in option]
    return f"{'; '.join(facts)}."
