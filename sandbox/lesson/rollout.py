"""The parts of a rollout's lesson that differ from the lesson's flow: its Execution Sample, its
Key Moments (the lesson's three questions asked of a rollout, and those its failures, bakes and
rollback raise), its Concept Snapshot and its opening line, every number from the rollout's trace,
its bakes, its users or counterfactual rollouts; and what its Visual Quiz asks about."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sandbox.args.request import DeployRequest
from sandbox.core.faults import Failure
from sandbox.experiment.rollout import USERS_PER_S
from sandbox.experiment.run import Experiment
from sandbox.flow.rollout import Rollout
from sandbox.flow.tracer import END_ACTION, Step, display
from sandbox.lesson.narrative import at_steps, at_the_end, steps_of
from sandbox.lesson.sample import DEFAULTS
from sandbox.quiz.options import counted, regions_text

Roller = Callable[[Sequence[Failure]], Rollout]  # the rollout with other failures
FAILED = ("Deployment failed", "Verification failed")
# The variables of a rollout's tracker a question asks about, and the actions that set each.
ROWS = {
    "serving_version": ("Shift traffic", "Roll back deployment"),
    "deployment_status": ("Deploy model", "Retry deployment", "Roll back deployment"),
    "verification_status": ("Verify deployment",),
}
VERDICTS = {True: "held", False: "deviated", None: "was inconclusive"}  # a bake's steady state
ASKS: dict[tuple[str, str | None], str] = {
    ("Start wave", None): "does the wave of {} start",
    ("Deploy model", None): "is the new version first deployed to {}",
    ("Retry deployment", None): "is the deployment to {} first retried",
    ("Verify deployment", "Verification success"): "does the verification of {} succeed",
    ("Shift traffic", None): "does traffic first shift to the new version in {}",
    ("Bake", None): "is the bake of {} judged",
    ("Roll back deployment", None): "is {} rolled back",
}


def rollout_sample(request: DeployRequest) -> str:
    """Code that, run in Python, makes the same rollout (the same trace) as `request`: the
    previous version by the lesson's flow, the command line's users, then the `Rollout`."""
    model, previous = request.sources
    plan, old = request.plan, request.previous
    assert old is not None, "a rollout's request names the version it replaces"
    given = [repr(previous)] + [
        f"{name}={value!r}"
        for name, value in (("max_retries", request.max_retries), ("seed", request.seed))
        if value != DEFAULTS[name]
    ]
    settings = [repr(plan.strategy)] + [
        f"{name}={value!r}"
        for name, value in (
            ("waves", plan.waves),
            ("canary_percent", plan.canary_percent),
            ("bake_s", plan.bake_s),
        )
        if value is not None
    ]
    failures = f", failures={[f.spec for f in request.failures]!r}" if request.failures else ""
    lines = [
        "from sandbox import Clients, Rollout, RolloutPlan, load_model, run_deployment",
        "",
        f"regions = {list(request.regions)!r}",
        f"d = run_deployment(regions, {', '.join(given)})  # {old.version}, the lesson's flow",
        f"new = load_model({model!r})  # {request.model.version}",
        f"users = d.start_users([Clients(r, {USERS_PER_S:g}) for r in regions], versions=[new])",
        f"plan = RolloutPlan({', '.join(settings)})",
        f"rollout = Rollout(d, new, plan{failures}).run()",
        "users.close()",
    ]
    return "\n".join(lines) + "\n"


def opening(r: Rollout) -> str:
    """The transcript's first line: where the rollout starts from."""
    return (
        f"The {r.plan.strategy} rollout of {r.model.name} {r.previous.version} -> "
        f"{r.model.version} to {', '.join(r.regions)} starts with every region serving "
        f"{r.previous.version}, routing and monitoring on (the previous version's deployment "
        "set them up), and the new version's statuses empty."
    )


def _reached(steps: Sequence[Step]) -> list[str]:
    """The regions a rollout deployed its new version to, in order."""
    return list(
        dict.fromkeys(
            s.region
            for s in steps
            if s.action in ("Deploy model", "Retry deployment") and s.result == "Deployment success"
        )
    )


def _rolled_back(steps: Sequence[Step]) -> list[str]:
    return [s.region for s in steps if s.action == "Roll back deployment"]


def _ending(r: Rollout, steps: bool = True) -> str:
    """`rolled back (steps 12 and 13), because the bake of wave 2 deviated (...)`, or
    `complete (Every region serves 1.1.0)`; `steps`: name the rollback's steps (not for a
    counterfactual rollout, whose steps no table shows)."""
    last = r.trace.steps[-1]
    if r.outcome != "rolled_back":
        return f"{r.outcome} ({last.next_step})"
    why = last.next_step.removeprefix("Rolled back: ")
    rolled = steps_of(r.trace.steps, "Roll back deployment")
    where = f" ({at_steps(rolled)})" if rolled and steps else ""
    return f"rolled back{where}, because {why[:1].lower()}{why[1:]}"


def _verified_before_shifts(steps: Sequence[Step]) -> list[int]:
    """The successful verifications that let a wave's traffic shift: for each shift, the last
    one of each of its regions before it."""
    found: set[int] = set()
    for shift in (s for s in steps if s.action == "Shift traffic"):
        for region in shift.region.split(", "):
            found |= {
                max(
                    s.step
                    for s in steps[: shift.step]
                    if (s.action, s.region, s.result)
                    == ("Verify deployment", region, "Verification success")
                )
            }
    return sorted(found)


def _failed(steps: Sequence[Step]) -> str:
    """`step 9 (Verify deployment in eu-west-1)`, `steps 2 (...) and 3 (...)`."""
    failed = [f"{s.step} ({s.action} in {s.region})" for s in steps if s.result in FAILED]
    return f"step{'s' if len(failed) > 1 else ''} {_joined(failed)}"


def _joined(words: Sequence[str]) -> str:
    return " and ".join([", ".join(words[:-1]), words[-1]]) if len(words) > 1 else "".join(words)


def key_moments(r: Rollout, roll: Roller, experiment: Experiment) -> list[dict[str, Any]]:
    """`{"question", "answer", "steps"}`: the lesson's three asked of this rollout, answered from
    it and from counterfactual rollouts (`roll(failures)`: its settings with only those
    failures), then any it raises (a failure, each bake, the rollback, what its users met)."""
    steps, new, old = r.trace.steps, r.model.version, r.previous.version
    verifies = steps_of(steps, "Verify deployment")
    shifts = steps_of(steps, "Shift traffic")
    deploys = steps_of(steps, "Deploy model", "Retry deployment")
    probe = r.regions[0]
    caught = roll([Failure(probe, "verify")])
    reached = _reached(caught.trace.steps)
    at_end = at_the_end(len(r.regions), new)
    moments = [
        {
            "question": "Why do we verify deployment after deploying to each region instead of "
            "verifying all at the end?",
            "answer": (
                "Each verification comes right after its region's deployment "
                f"({at_steps(verifies)}), so a bad build of {new} is caught before users or the "
                f"next region get it. Had {probe}'s verification kept failing (and nothing "
                f"else), {new} would reach {regions_text(reached)} only and the rollout would be "
                f"{_ending(caught, steps=False)}; {at_end}."
            )
            if verifies
            else f"This rollout verifies no region: it was {_ending(r)}.",
            "steps": verifies,
        }
    ]
    deployed = _reached(steps)
    failing = next(
        (s.region for s in steps if s.result == "Deployment failed"),
        deployed[-1] if deployed else steps[0].region.split(", ")[0],
    )
    in_run = (
        f"In this run {_failed(steps)} failed."
        if any(s.result in FAILED for s in steps)
        else f"In this run every deployment succeeds ({at_steps(deploys)})."
    )
    what_ifs = []
    for failure, said in (
        (Failure(failing, "deploy", 1), f"only the first deployment to {failing}"),
        (Failure(failing, "deploy"), f"every deployment to {failing}"),
    ):
        other = roll([failure])
        same = " (as in this run)" if other.trace.steps == steps else ""
        what_ifs.append(f"had {said} failed, it would be {_ending(other, steps=False)}{same}")
    moments.append(
        {
            "question": "What happens if deployment fails in one region?",
            "answer": (
                "A rollout has no failure policy to choose: it retries a failed deployment or "
                f"verification up to max_retries times ({r.max_retries} here), then rolls back "
                f"every region {new} reached. {in_run} With no other failure, "
                + "; ".join(what_ifs)
                + "."
            ),
            "steps": [s.step for s in steps if s.result in FAILED] or deploys,
        }
    )
    verified = _verified_before_shifts(steps)
    moments.append(
        {
            "question": "Why does traffic shift to the new version only after it is verified?",
            "answer": (
                f"Users keep {old} in a wave until each of its regions is deployed and its "
                f"verification succeeds ({at_steps(verified)}); only then does traffic shift to "
                f"{new} ({at_steps(shifts)}). Routing itself was set up by {old}'s deployment: "
                "routing_configured is true from the start, and a shift changes which version "
                "answers, not where users go."
            )
            if shifts
            else (
                f"In this rollout no traffic shifts: it was {_ending(r)}, so no user met "
                f"an unverified {new}."
            ),
            "steps": sorted({*verified, *shifts}),
        }
    )
    return moments + _raised(r, experiment)


def _raised(r: Rollout, experiment: Experiment) -> list[dict[str, Any]]:
    """The moments this rollout raises itself: each failure, each bake, the rollback, and what
    its users met."""
    steps, new, old = r.trace.steps, r.model.version, r.previous.version
    moments = []
    for s in steps:
        if s.result not in FAILED:
            continue
        after = steps[s.step]  # a failure is never the End row
        if after.action == "Retry deployment":
            retry = sum(
                (t.action, t.region) == (after.action, s.region) for t in steps[: after.step]
            )
            then = f"it tries again: step {after.step} is retry {retry} of {r.max_retries}"
        else:
            then = f"no retry is left (max_retries is {r.max_retries}), so it rolls back: " + (
                f"step {after.step} is {after.action} ({after.region})"
                if after.action != END_ACTION
                else f"{after.next_step}, with no region to take back"
            )
        moments.append(
            {
                "question": f"What does the rollout do after step {s.step} ({s.action} in "
                f"{s.region}: {s.result})?",
                "answer": f"{then[:1].upper()}{then[1:]}.",
                "steps": [s.step, after.step],
            }
        )
    for bake, step in zip(r.bakes, steps_of(steps, "Bake"), strict=True):
        moments.append(_bake_moment(r, bake, step))
    rolled = steps_of(steps, "Roll back deployment")
    if rolled:
        back = _rolled_back(steps)
        held = [region for b in r.bakes if b["held"] for region in b["regions"] if region in back]
        also = (
            f", {regions_text(held)} too although {'its' if len(held) == 1 else 'their'} own "
            "bake held"
            if held
            else ""
        )
        moments.append(
            {
                "question": "What does the rollback undo?",
                "answer": f"{at_steps(rolled).capitalize()} "
                f"take{'' if len(rolled) > 1 else 's'} {regions_text(back)} back to {old}, the "
                f"last deployed first: every region {new} reached{also}. Afterwards "
                f"serving_version is {display(r.trace.snapshots[-1]['serving_version'])}.",
                "steps": rolled,
            }
        )
    moments.append(_users_moment(r, experiment, shifts=steps_of(steps, "Shift traffic")))
    return moments


def _bake_moment(r: Rollout, bake: dict[str, Any], step: int) -> dict[str, Any]:
    new, percent = r.model.version, r.plan.percent
    share = f"{percent:g}% of their traffic" if percent < 100 else "all their traffic"
    rules = "; ".join(
        f"{p['probe']} {p['value']:.4g} against at most {p['tolerance']:g}"
        for p in bake["probes"]
        if p["value"] is not None
    )
    verdict = VERDICTS[bake["held"]]
    after = r.trace.steps[step]
    then = after.next_step if after.action == END_ACTION else after.result
    caveat = ""
    if bake["held"] is None:
        caveat = f" An inconclusive bake does not stop a rollout: {new} goes on unjudged"
        hidden = [f.region for f in r.failures if f.stage == "bake" and f.region in bake["regions"]]
        caveat += (
            f", and the bake failure in {regions_text(hidden)} is never seen." if hidden else "."
        )
    elif 0 < bake["requests"] * _error_tolerance(bake) < 1:  # fewer than 1 / tolerance
        caveat = (
            f" With {counted(bake['requests'], 'prediction')}, a single failure is already an "
            f"error rate of {1 / bake['requests']:.3g}: a short bake or a small share sees little."
        )
    return {
        "question": f"What does the bake of wave {bake['wave']} ({', '.join(bake['regions'])}) "
        "decide?",
        "answer": (
            f"For {bake['bake_s']:g} s, with {new} answering {share}, it watched the predictions "
            f"{new} served there: {counted(bake['requests'], 'prediction')}, {bake['failed']} "
            f"failed{f' ({rules})' if rules else ''}. The steady state {verdict}, so step "
            f"{after.step} is {after.action}: {then}.{caveat}"
        ),
        "steps": [step, after.step],
    }


def _error_tolerance(bake: dict[str, Any]) -> float:
    """The highest error rate the bake's steady state allows (1 when it bounds none)."""
    return next((p["tolerance"] for p in bake["probes"] if p["probe"] == "error_rate"), 1.0)


def _users_moment(r: Rollout, experiment: Experiment, shifts: list[int]) -> dict[str, Any]:
    summary = experiment.journal["summary"]
    met = "; ".join(
        f"{version} answered {n['requests']} ({n['failed']} failed)"
        for version, n in summary["by_version"].items()
    )
    retries = experiment.scenario.routing.retries
    failed_attempts = sum(b["failed"] for b in r.bakes)
    retried = (
        f" The bakes counted {failed_attempts} failed predictions of {r.model.version}; a "
        f"user's request that met one was tried again (routing retries "
        f"{retries}), so {summary['failed']} of the users' requests failed."
        if failed_attempts and retries
        else ""
    )
    return {
        "question": "Which versions answered the users during the rollout?",
        "answer": (
            f"Users near every region sent {summary['sent']} requests ({USERS_PER_S:g} per second "
            f"near each region): {met}.{retried}"
        ),
        "steps": shifts,
    }


def concept_snapshot(r: Rollout, experiment: Experiment) -> list[str]:
    """Five lines: what this rollout shows."""
    steps, new, old = r.trace.steps, r.model.version, r.previous.version
    shifts, bakes = steps_of(steps, "Shift traffic"), steps_of(steps, "Bake")
    waves = "; ".join(f"wave {n}: {', '.join(w)}" for n, w in enumerate(r.waves, 1))
    lines = [
        f"{r.model.name} {new} replaces {old} in {counted(len(r.regions), 'region')} by a "
        f"{r.plan.strategy} rollout ({waves}).",
        f"Traffic shifts to {new} in a wave ({at_steps(shifts)}) only after each of its "
        f"regions is deployed and verified ({at_steps(_verified_before_shifts(steps))})."
        if shifts
        else f"No traffic shifted to {new}: the rollout was {_ending(r)}.",
    ]
    bake = r.plan.bake
    if not bake:
        lines.append(
            f"No bake: only the verification (a smoke test) judges {new} before users get it."
        )
    else:
        first = (
            f"{r.plan.percent:g}% of a wave's traffic, then all of it"
            if r.plan.percent < 100
            else "a wave's traffic"
        )
        held = ", ".join(f"wave {b['wave']} {VERDICTS[b['held']]}" for b in r.bakes)
        lines.append(
            f"{new} takes {first}; each wave bakes {bake:g} s on real predictions "
            + (f"({at_steps(bakes)}: {held})." if bakes else "(none ran before the end).")
        )
    summary = experiment.journal["summary"]
    served = ", ".join(f"{version} {n['requests']}" for version, n in summary["by_version"].items())
    lines.append(
        f"Users sent {summary['sent']} requests meanwhile, served last by {served} (failed "
        "ones too)."
    )
    lines.append(f"Outcome: {r.outcome} ({steps[-1].next_step}).")
    return lines
