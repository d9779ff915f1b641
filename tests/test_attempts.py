"""The one request-attempt loop that the simulated users and the gateway drive: which regions a
request tries, in which order, what each outcome feeds (passive health, the attempt log), and
when it gives up. Driven here by hand, as both backends drive it."""

from __future__ import annotations

from sandbox.core import AttemptLog, HealthView, RegionCatalog, Router, RoutingPolicy
from sandbox.core.attempts import Attempts
from sandbox.core.routing import VersionSplit

CATALOG = RegionCatalog.default()
FLEET = ["us-east-1", "eu-west-1", "ap-south-1"]
ALL_ANSWER = dict.fromkeys(FLEET, True)
NONE_ANSWERS = dict.fromkeys(FLEET, False)


def drive(
    request: Attempts, answers: dict[str, bool]
) -> tuple[list[tuple[str, str | None]], Attempts]:
    """Answer each attempt as `answers` says for its region; the attempts (region, version asked)
    and the request."""
    made = []
    for t, (region, version) in enumerate(request, 1):
        made.append((region, version))
        request.record(answers[region], version or "1.0.0", t, 5)
    return made, request


def test_the_closest_healthy_region_answers_first():
    router = Router(RoutingPolicy(retries=2), FLEET, CATALOG)
    made, result = drive(
        Attempts("eu-west-2", router, None, VersionSplit()), dict.fromkeys(FLEET, True)
    )
    assert [region for region, _ in made] == ["eu-west-1"]
    assert (result.fail_open, result.count, result.answered) == (False, 1, True)
    assert result.region == result.first == "eu-west-1"


def test_a_failure_tries_the_next_region_and_feeds_health_and_the_log():
    now = [0.0]
    view = HealthView(FLEET, lambda: now[0])
    log = AttemptLog()
    router = Router(RoutingPolicy(retries=1), FLEET, CATALOG)
    answers = {"us-east-1": True, "eu-west-1": False, "ap-south-1": True}
    made, result = drive(Attempts("eu-west-2", router, view, VersionSplit(), log), answers)
    assert [region for region, _ in made] == ["eu-west-1", "us-east-1"]
    assert result.answered and result.count == 2 and result.region == "us-east-1"
    assert view.error_rate("eu-west-1") == 1.0 and view.error_rate("us-east-1") == 0.0
    assert len(log) == 2 and log.served(0, 10, ["eu-west-1"], "1.0.0").failed == 1


def test_it_gives_up_after_the_policys_retries():
    router = Router(RoutingPolicy(retries=1), FLEET, CATALOG)
    made, result = drive(
        Attempts("eu-west-2", router, None, VersionSplit()), dict.fromkeys(FLEET, False)
    )
    assert len(made) == 2 and not result.answered and result.count == 2


def test_with_no_healthy_region_it_fails_open():
    view = HealthView(FLEET, lambda: 0.0)
    for region in FLEET:  # every region ejected by its 5xx answers
        for _ in range(view.outlier_policy.consecutive_5xx):
            view.outcome(region, False)
    assert view.healthy_regions() == []
    router = Router(RoutingPolicy(retries=0), FLEET, CATALOG)
    made, result = drive(
        Attempts("eu-west-2", router, view, VersionSplit()), dict.fromkeys(FLEET, True)
    )
    assert result.fail_open and result.answered and made[0][0] == "eu-west-1"


def test_the_split_chooses_each_attempts_version():
    split = VersionSplit(seed=1)
    split.set("eu-west-1", {"1.1.0": 100.0})
    router = Router(RoutingPolicy(retries=0), FLEET, CATALOG)
    made, _ = drive(Attempts("eu-west-2", router, None, split), ALL_ANSWER)
    assert made == [("eu-west-1", "1.1.0")]


def test_a_pinned_version_tries_only_the_regions_serving_it_and_asks_each_for_it():
    router = Router(RoutingPolicy(retries=2), FLEET, CATALOG)
    split = VersionSplit()
    split.set("eu-west-1", {"1.0.0": 50.0, "2.0.0": 50.0})
    among = ["ap-south-1", "us-east-1"]
    made, result = drive(
        Attempts("eu-west-2", router, None, split, None, "2.0.0", among), NONE_ANSWERS
    )
    assert made == [("us-east-1", "2.0.0"), ("ap-south-1", "2.0.0")]  # eu-west-1 is nearer
    assert not result.answered


def test_a_pinned_version_fails_open_only_among_the_regions_serving_it():
    view = HealthView(FLEET, lambda: 0.0)
    while "ap-south-1" in view.healthy_regions():  # the one region serving it fails its probes
        view.probe("ap-south-1", False)
    router = Router(RoutingPolicy(retries=2), FLEET, CATALOG)
    request = Attempts("eu-west-2", router, view, VersionSplit(), None, "2.0.0", ["ap-south-1"])
    made, result = drive(request, ALL_ANSWER)
    assert [region for region, _ in made] == ["ap-south-1"]
    assert result.fail_open and result.answered
