"""The lesson's "why" questions (its Key Moments), each answered by comparing real runs with
counterfactual ones: why verify right after each deployment, why routing waits for every
verification, and what a failure in one region does under each policy."""

from __future__ import annotations

import random

from sandbox.flow.deployment import POLICIES, Deployment
from sandbox.quiz.model import Question, rubric
from sandbox.quiz.options import Variant, Wrong, choices
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
        f"The run stops after {now} deployment(s), at {region}'s failed verification; with "
        f"every verification at the end, all {at_end} regions are deployed first."
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
    """Why is routing set up only after every verification? A verification that fails in one
    region (policy skip): the routes after verifying, against those that routing set up before
    the verifications would have taken (every region whose deployment succeeded)."""
    if len(variant.regions) < 3:
        return None  # with two, the lists' lengths alone would tell the key
    region = rng.choice(variant.regions)
    command = variant.command("--fail", f"{region}:verify", "--on-failure", "skip")
    d = run_command(command)
    after = list(d.routes)
    deployed = {s.region for s in d.trace.steps if s.result == DEPLOYED}
    before = [r for r in variant.regions if r in deployed]
    if not after or after == before:
        return None
    # Ask for one order or the other, evenly: neither list's length gives the key away.
    first = rng.random() < 0.5
    key_regions, other = (before, after) if first else (after, before)
    when = (
        "right after the deployments, before the verifications"
        if first
        else ("after every verification, as the lesson does")
    )
    said = (
        f"{region}'s deployment succeeds and its verification fails: routing set up after the "
        f"verifications sends users to {', '.join(after)}; set up before them, to "
        f"{', '.join(before)}, {region} included."
    )
    kept = [r for r in after if r != region]
    wrong = [
        Wrong(
            ", ".join(other), "routing_ignores_verification" if first else "routing_reversed", said
        ),
        *(
            Wrong(
                ", ".join(r for r in variant.regions if r != dropped), "failed_region_served", said
            )
            for dropped in kept
        ),
    ]
    options = choices(", ".join(key_regions), f"Right: {said}", wrong, rng)
    if options is None:
        return None
    return Question(
        id=qid,
        kind="why_routing",
        text=(
            f"The model deploys to {_listed(variant.regions)}; {region}'s verification fails "
            f"(policy skip). Which regions would get traffic if routing were set up {when}?"
        ),
        code=command,
        options=options,
        hint="Routing sends users to the regions it is given: verified ones, or merely "
        "deployed ones.",
        solution=(
            "Routing waits for every verification so that no user reaches an unverified model.",
            said,
        ),
        mistakes=("Thinking the order of routing and verification does not matter",),
        difficulty=rubric(3),
        source=command,
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
        hint="Each policy does one thing after a failure: try again, stop, roll back, or skip.",
        solution=(f"The four runs end: {said}.",),
        mistakes=("Confusing stop with rollback", "Thinking skip stops the deployment"),
        difficulty=rubric(len(POLICIES), rule_suffices=True),
        source=variant.command("--fail", f"{region}:deploy", "--on-failure", asked),
    )


def _listed(regions: tuple[str, ...]) -> str:
    return ", ".join(regions[:-1]) + f" and {regions[-1]}" if len(regions) > 1 else regions[0]
