"""The lesson's "why" questions (its Key Moments), each answered by comparing real runs with
counterfactual ones: why verify right after each deployment, why routing waits for every
verification, and what a failure in one region does under each policy."""

from __future__ import annotations

import random

from sandbox.flow.deployment import POLICIES, Deployment
from sandbox.quiz.model import Question, rubric
from sandbox.quiz.options import Variant, Wrong, choices, counted, regions_text
from sandbox.quiz.runs import run_command

DEPLOYED = "Deployment success"
# What each policy does that the others do not, as a question asks it.
DOES = {
    "skip": "the other regions still get traffic",
    "rollback": "the regions deployed before the failure are undeployed",
    "retry": "the failing region is tried again before the deployment stops",
    "stop": "the deployment ends at once, the regions deployed so far left as they are",
}
ASSUMED = {p: f"{p}_assumed" for p in POLICIES}
SWAPPED = {"skip": "stop_for_skip", "stop": "skip_for_stop"}  # the other policy's answer
WHEN = ("after", "before")  # routing after every verification; traffic as soon as deployed


def _deployed(d: Deployment) -> int:
    return sum(1 for s in d.trace.steps if s.result == DEPLOYED)


def why_verify(qid: str, variant: Variant, rng: random.Random) -> Question | None:
    """Why verify right after each deployment? A verification that fails in one region under the
    stop policy: the regions the run has deployed when it finds the failure, against every region
    when all verifications come at the end (each deployment then precedes every verification)."""
    if len(variant.regions) < 2:
        return None
    region = rng.choice(variant.regions[:-1])  # the last would give both ways the same count
    command = variant.command("--fail", f"{region}:verify", "--on-failure", "stop")
    now = _deployed(run_command(command))
    at_end = len(variant.regions)
    if now >= at_end:
        return None

    def text(after_each: int, end: int) -> str:
        return f"verifying after each: {after_each} deployed; verifying at the end: {end} deployed"

    key = text(now, at_end)
    said = (
        f"The run stops after {counted(now, 'deployment')}, at {region}'s failed verification; "
        f"with every verification at the end, all {counted(at_end, 'region')} are deployed first."
    )
    wrong = [
        Wrong(text(at_end, at_end), "verify_at_end_same", said),
        Wrong(text(now, now), "verify_at_end_same", said),
        Wrong(text(at_end, now), "verify_order_reversed", said),
    ]
    options = choices(key, f"Right: {said}", wrong, rng)
    if options is None:
        return None
    return Question(
        id=qid,
        kind="why_verify",
        text=(
            f"The model deploys to {_listed(variant.regions)} in that order, and {region}'s "
            "verification fails (policy stop). How many regions get the model before the "
            "failure is found, when each region is verified right after its deployment, and "
            "when all are verified only at the end?"
        ),
        code=command,
        options=options,
        hint="Walk the flow both ways: where does the failing region's verification come?",
        solution=(
            "Verifying right after each deployment finds a bad region before the next deploys.",
            said,
        ),
        mistakes=("Thinking verification order makes no difference",),
        difficulty=rubric(3),
        source=command,
    )


def why_routing(qid: str, variant: Variant, rng: random.Random) -> Question | None:
    """Why is routing set up only after every verification? One region's verification fails,
    under skip or stop: the routes of the lesson's order (the run's), against the regions that
    would get traffic if each got it as soon as it was deployed (the run's deployed regions).
    The two policies' runs give four answers; each question offers all four, so that neither a
    list's length nor "every region" gives the key away."""
    if len(variant.regions) < 2:
        return None
    region = rng.choice(variant.regions[:-1])  # the last would make stop's two lists one
    fail = ("--fail", f"{region}:verify", "--on-failure")
    commands = {p: variant.command(*fail, p) for p in ("skip", "stop")}
    answers: dict[tuple[str, str], str] = {}
    for p, command in commands.items():
        d = run_command(command)
        deployed = {s.region for s in d.trace.steps if s.result == DEPLOYED}
        answers[p, "after"] = regions_text(d.routes)
        answers[p, "before"] = regions_text([r for r in variant.regions if r in deployed])
    if len(set(answers.values())) < len(answers):
        return None
    policy, when = rng.choice(("skip", "stop")), rng.choice(("before", "after"))
    other_policy = "stop" if policy == "skip" else "skip"
    other_when = "after" if when == "before" else "before"
    after, before = (answers[policy, w].replace("No region", "no region") for w in WHEN)
    said = (
        f"Under {policy}, routing after every verification sends users to {after}; traffic to "
        f"each region as soon as it is deployed reaches {before}: {region} too, although its "
        "verification fails."
    )
    wrong = [
        Wrong(
            answers[policy, other_when],
            "routing_ignores_verification" if when == "before" else "routing_reversed",
            said,
        ),
        Wrong(answers[other_policy, when], SWAPPED[policy], said),
        Wrong(
            answers[other_policy, other_when],
            "failed_region_served"
            if region in answers[other_policy, other_when].split(", ")
            else SWAPPED[policy],
            said,
        ),
    ]
    options = choices(answers[policy, when], f"Right: {said}", wrong, rng)
    if options is None:
        return None
    asked = (
        "if each region got traffic as soon as it was deployed, before its verification"
        if when == "before"
        else "with routing set up after every verification, as the lesson does"
    )
    return Question(
        id=qid,
        kind="why_routing",
        text=(
            f"The model deploys to {', then '.join(variant.regions)}; {region}'s verification "
            f"fails (policy {policy}). Which regions would get traffic {asked}?"
        ),
        code=commands[policy],
        options=options,
        hint="Routing sends users to the regions it is given: verified ones, or merely "
        "deployed ones; and the policy decides which regions are deployed at all.",
        solution=(
            "Routing waits for every verification so that no user reaches an unverified model.",
            said,
        ),
        mistakes=("Thinking the order of routing and verification does not matter",),
        difficulty=rubric(3),
        source=commands[policy],
    )


def policy(qid: str, variant: Variant, rng: random.Random) -> Question | None:
    """What does a failure in one region do under each policy? The same failing deployment run
    under all four policies; the key is the one policy whose run shows the asked behaviour."""
    region = rng.choice(variant.regions[1:] or variant.regions)
    asked = rng.choice(POLICIES)
    runs = {
        p: run_command(variant.command("--fail", f"{region}:deploy", "--on-failure", p))
        for p in POLICIES
    }
    shows = {
        "skip": [p for p, d in runs.items() if d.routes],
        "rollback": [
            p for p, d in runs.items() if any("Roll back" in s.action for s in d.trace.steps)
        ],
        "retry": [
            p for p, d in runs.items() if any(s.action == "Retry deployment" for s in d.trace.steps)
        ],
        "stop": [p for p, d in runs.items() if d.outcome == "stopped" and p != "retry"],
    }
    if shows[asked] != [asked]:
        return None
    endings = {p: d.trace.steps[-1].next_step for p, d in runs.items()}
    said = "; ".join(f"{p}: {endings[p]}" for p in POLICIES)
    wrong = [Wrong(p, ASSUMED[p], f"Under {p}, {endings[p]}.") for p in POLICIES if p != asked]
    options = choices(asked, f"Right: under {asked}, {DOES[asked]}. {endings[asked]}.", wrong, rng)
    if options is None:
        return None
    return Question(
        id=qid,
        kind="policy",
        text=(
            f"The model deploys to {_listed(variant.regions)}, and every deployment to "
            f"{region} fails. Under which --on-failure policy does this happen: {DOES[asked]}?"
        ),
        options=options,
        hint="retry, stop, rollback and skip each do one thing after a failure: try again, end "
        "the run, undo what was deployed, or move on to the next region.",
        solution=(f"The four runs end: {said}.",),
        mistakes=("Confusing stop with rollback", "Thinking skip stops the deployment"),
        difficulty=rubric(len(POLICIES), rule_suffices=True),
        source=variant.command("--fail", f"{region}:deploy", "--on-failure", asked),
    )


def _listed(regions: tuple[str, ...]) -> str:
    return ", ".join(regions[:-1]) + f" and {regions[-1]}" if len(regions) > 1 else regions[0]
