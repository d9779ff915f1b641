"""The words of a run's lesson, every number taken from its trace or from counterfactual runs:
the Key Moments (the lesson's three questions and those the run raises), the Concept Snapshot
and the Full Transcript."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sandbox.core.faults import Failure
from sandbox.flow.deployment import POLICIES, Deployment
from sandbox.flow.tracer import END_ACTION, Step, Trace, display
from sandbox.quiz.options import counted

Runner = Callable[[Sequence[Failure], str], Deployment]  # the run with other failures, policy


def steps_of(steps: Sequence[Step], *actions: str) -> list[int]:
    """The numbers of the steps that do one of `actions`."""
    return [s.step for s in steps if s.action in actions]


def _listed(numbers: Sequence[int]) -> str:
    words = [str(n) for n in numbers]
    return " and ".join([", ".join(words[:-1]), words[-1]]) if len(words) > 1 else "".join(words)


def at_steps(numbers: Sequence[int]) -> str:
    """`step 3`, `steps 3 and 5`, `steps 2, 4 and 6`."""
    return f"step{'s' if len(numbers) > 1 else ''} {_listed(numbers)}"


def all_regions(n: int) -> str:
    """`both regions`, `all 3 regions` (n > 1)."""
    return "both regions" if n == 2 else f"all {counted(n, 'region')}"


def at_the_end(n: int, model: str) -> str:
    """What verifying at the end would do with `n` regions."""
    if n > 1:
        return f"verifying at the end would first deploy {model} to {all_regions(n)}"
    return (
        "with one region both orders verify at the same point, but with more, verifying at "
        f"the end would first deploy {model} everywhere"
    )


def key_moments(d: Deployment, run: Runner) -> list[dict[str, Any]]:
    """`{"question", "answer", "steps"}`: the lesson's three, answered from this run and from
    counterfactual runs (`run(failures, policy)`: this run's settings with those), then any the
    run raises itself (a failure and its policy, a skip, a rollback)."""
    steps, regions = d.trace.steps, d.regions
    verifies = steps_of(steps, "Verify deployment")
    deploys = steps_of(steps, "Deploy model", "Retry deployment")
    routing = steps_of(steps, "Setup traffic routing")
    moments = []
    probe = regions[0]
    found = sum(
        s.result == "Deployment success"
        for s in run([Failure(probe, "verify")], "stop").trace.steps
    )
    moments.append(
        {
            "question": "Why do we verify deployment after deploying to each region instead of "
            "verifying all at the end?",
            "answer": (
                "Each verification comes right after its region's deployment "
                f"({at_steps(verifies)}), so a bad deployment is caught before the next region "
                "gets the model. With "
                f"{probe}'s verification failing (policy stop), the flow stops after "
                f"{counted(found, 'deployment')}; {at_the_end(len(regions), 'the model')}."
            )
            if verifies
            else "This run verifies no region: its flow ended before any verification.",
            "steps": verifies,
        }
    )
    failing = next((s.region for s in steps if "failed" in s.result), regions[-1])
    others = [f for f in d.failures if not (f.region == failing and f.stage == "deploy")]
    endings = {
        p: run([Failure(failing, "deploy"), *others], p).trace.steps[-1].next_step for p in POLICIES
    }
    failed_here = [s.step for s in steps if "failed" in s.result]
    if failed_here:
        in_run = (
            f"In this run {at_steps(failed_here)} failed; under the {d.on_failure} policy the run "
            f"ends: {steps[-1].next_step}."
        )
    elif deploys:
        in_run = f"In this run every deployment succeeds ({at_steps(deploys)})."
    else:
        in_run = f"In this run nothing is deployed: {steps[-1].next_step}."
    moments.append(
        {
            "question": "What happens if deployment fails in one region?",
            "answer": (
                f"It depends on the failure policy. {in_run} Had every deployment to {failing} "
                "failed: " + "; ".join(f"{p}: {endings[p]}" for p in POLICIES) + "."
            ),
            "steps": failed_here or deploys,
        }
    )
    moments.append(
        {
            "question": "Why is traffic routing set up only after all regions are verified?",
            "answer": (
                f"Routing sends users only to verified regions, so it waits for every verification "
                f"({at_steps(verifies)}) and comes at step {routing[0]}: it routes "
                f"{', '.join(d.routes) or 'no region'}."
            )
            if routing
            else (
                "In this run routing is never set up: the flow ended before it "
                f"({steps[-1].next_step}), so no user is sent to an unverified region."
            ),
            "steps": [*verifies, *routing],
        }
    )
    moments += _raised(d)
    return moments


def _raised(d: Deployment) -> list[dict[str, Any]]:
    """The key moments this run raises itself: each failure, skip and rollback."""
    steps = d.trace.steps
    moments = []
    for s in steps:
        if "failed" in s.result:
            after = steps[s.step] if s.step < len(steps) else s
            then = (
                f"the flow ends: {after.next_step}"
                if after.action == END_ACTION
                else f"step {after.step} is {after.action} ({after.region}): {after.result}"
            )
            moments.append(
                {
                    "question": f"What does the flow do after step {s.step} ({s.action} in "
                    f"{s.region}: {s.result})?",
                    "answer": f"Under the {d.on_failure} policy, {then}.",
                    "steps": [s.step, after.step],
                }
            )
        elif s.action == "Skip region":
            moments.append(
                {
                    "question": f"Why does {s.region} get no traffic?",
                    "answer": f"Step {s.step} skips it after its failure (policy skip); "
                    + (
                        f"routing sends users to {', '.join(d.routes)}."
                        if d.routes
                        else "no region is left to route users to."
                    ),
                    "steps": [s.step],
                }
            )
    rolled = steps_of(steps, "Roll back deployment")
    if rolled:
        moments.append(
            {
                "question": "What does the rollback undo?",
                "answer": f"{at_steps(rolled).capitalize()} "
                f"take{'' if len(rolled) > 1 else 's'} the model out of every region deployed "
                "before the failure, so no region is left with a partial deployment.",
                "steps": rolled,
            }
        )
    return moments


def concept_snapshot(d: Deployment) -> list[str]:
    """Five lines or fewer: what this run shows."""
    steps, regions = d.trace.steps, d.regions
    verifies = steps_of(steps, "Verify deployment")
    failed = [s for s in steps if "failed" in s.result]
    routing = steps_of(steps, "Setup traffic routing")
    monitoring = steps_of(steps, "Start health monitoring")
    lines = [
        f"The model {d.model.name} {d.model.version} goes to {counted(len(regions), 'region')}: "
        f"{', '.join(regions)}."
    ]
    if verifies:
        lines.append(f"Each deployment is verified right away ({at_steps(verifies)}).")
    if failed:
        lines.append(
            f"{at_steps([s.step for s in failed]).capitalize()} failed; the {d.on_failure} policy "
            "decided what came next."
        )
    if routing:
        lines.append(
            f"Traffic routing comes after every verification (step {routing[0]})"
            + (f", then health monitoring (step {monitoring[0]})." if monitoring else ".")
        )
    lines.append(f"Outcome: {d.outcome} ({steps[-1].next_step}).")
    return lines[:5]


def transcript(d: Deployment) -> list[str]:
    """The run told step by step: what each step did and which variables it changed."""
    opening = (
        f"The deployment of {d.model.name} {d.model.version} to {', '.join(d.regions)} starts "
        "with every status empty and routing and monitoring off."
    )
    return told(d.trace, opening)


def told(trace: Trace, opening: str) -> list[str]:
    """`opening`, then each step of `trace`: what it did and which variables it changed."""
    lines = [opening]
    for s in trace.steps:
        if s.action == END_ACTION:
            lines.append(f"Step {s.step}: the end. {s.next_step}.")
            continue
        before, after = trace.snapshots[s.step - 1], trace.snapshots[s.step]
        changed = [
            f"{v} becomes {display(after[v])}" for v in trace.watched if before[v] != after[v]
        ]
        where = {"-": "", "all regions": " for all regions"}.get(s.region, f" in {s.region}")
        said = f"Step {s.step}, at t = {s.t:g} s: {s.action}{where}. {s.result}."
        if changed:
            said += " Now " + "; ".join(changed) + "."
        lines.append(f"{said} Next: {s.next_step}.")
    return lines
