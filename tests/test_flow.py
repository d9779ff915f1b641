"""The lesson's flow on simulated regions: order, policies, the tracer's record."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox import Deployment, DeploymentHalted, Failure, FlowError, run_deployment
from sandbox.core.faults import Fault
from sandbox.core.health import HealthPolicy
from sandbox.core.regions import RegionCatalog
from sandbox.core.routing import RoutingPolicy
from sandbox.errors import InvalidDeployment, InvalidFault, UnknownRegion
from sandbox.flow.deployment import POLICIES

from .conftest import LESSON_REGIONS

NAMES = RegionCatalog.default().names()
PER_REGION = {
    "Select region",
    "Deploy model",
    "Retry deployment",
    "Verify deployment",
    "Skip region",
}


def test_typed_loop_gives_the_built_in_trace():
    """The material's execution sample, typed against the functions, traces like the flow."""
    d = Deployment(LESSON_REGIONS, "model_v1", seed=7)
    deploy_model, verify_deployment = d.deploy_model, d.verify_deployment
    routing_setup, monitor_health = d.routing_setup, d.monitor_health
    regions = ["us-east-1", "eu-west-1"]
    for region in regions:
        deploy_model(region)
        verify_deployment(region)
    routing_setup(regions)
    monitor_health(regions)
    assert d.trace.to_dict() == run_deployment(LESSON_REGIONS, "model_v1", seed=7).trace.to_dict()


def test_typed_loop_with_a_failure_halts_like_the_built_in_flow():
    failures = [Failure("eu-west-1", "verify")]
    d = Deployment(LESSON_REGIONS, on_failure="stop", failures=failures)
    with pytest.raises(DeploymentHalted) as halted:
        for region in LESSON_REGIONS:
            d.deploy_model(region)
            d.verify_deployment(region)
    assert halted.value.outcome == "stopped"
    built_in = run_deployment(LESSON_REGIONS, on_failure="stop", failures=failures)
    assert d.trace.to_dict() == built_in.trace.to_dict()


def test_same_seed_same_times_other_seed_other_times():
    times = [[s.t for s in run_deployment(LESSON_REGIONS, seed=s).trace.steps] for s in (1, 1, 2)]
    assert times[0] == times[1]
    assert times[0] != times[2]
    assert times[0] == sorted(times[0]) and times[0][-1] > 0


def test_retry_then_success_counts_attempts():
    d = run_deployment(LESSON_REGIONS, failures=[Failure("eu-west-1", "deploy", 2)])
    actions = [(s.action, s.region, s.result) for s in d.trace.steps]
    assert actions[3:7] == [
        ("Deploy model", "eu-west-1", "Deployment failed"),
        ("Retry deployment", "eu-west-1", "Deployment failed"),
        ("Retry deployment", "eu-west-1", "Deployment success"),
        ("Verify deployment", "eu-west-1", "Verification success"),
    ]
    assert d.outcome == "complete"


@pytest.mark.parametrize("max_retries", [0, 1, 3])
def test_retry_gives_up_after_max_retries(max_retries):
    d = run_deployment(
        LESSON_REGIONS, failures=[Failure("us-east-1", "deploy")], max_retries=max_retries
    )
    deploys = [s for s in d.trace.steps if s.region == "us-east-1" and "deploy" in s.action.lower()]
    assert len(deploys) == max_retries + 1
    assert d.outcome == "stopped"
    attempts = "1 attempt" if max_retries == 0 else f"{max_retries + 1} attempts"
    assert d.trace.steps[-1].next_step.endswith(f"failed after {attempts}")
    assert "eu-west-1" not in d.deployment_status


def test_stop_halts_at_the_first_failure():
    d = run_deployment(LESSON_REGIONS, on_failure="stop", failures=[Failure("us-east-1", "deploy")])
    assert [s.action for s in d.trace.steps] == ["Select region", "Deploy model", "End"]
    assert d.deployment_status == {"us-east-1": "failed"}
    assert not d.routing_configured


def test_rollback_undoes_every_deployed_region_newest_first():
    regions = ["us-east-1", "eu-west-1", "ap-south-1"]
    d = run_deployment(regions, on_failure="rollback", failures=[Failure("ap-south-1", "verify")])
    rolled = [s.region for s in d.trace.steps if s.action == "Roll back deployment"]
    assert rolled == ["ap-south-1", "eu-west-1", "us-east-1"]
    assert d.deployment_status == dict.fromkeys(regions, "rolled_back")
    assert d.outcome == "rolled_back"
    assert all(model is None for model in d.backend.models.values())


def test_skip_routes_only_to_verified_regions():
    d = run_deployment(
        ["us-east-1", "eu-west-1", "ap-south-1"],
        on_failure="skip",
        failures=[Failure("eu-west-1", "verify")],
    )
    assert d.outcome == "complete_with_skips"
    assert d.routes == ["us-east-1", "ap-south-1"]
    assert d.deployment_status["eu-west-1"] == "skipped"
    routing = next(s for s in d.trace.steps if s.action == "Setup traffic routing")
    assert routing.region == "us-east-1, ap-south-1"
    assert d.trace.steps[-1].next_step == "Completed without eu-west-1"


def test_skip_of_every_region_stops_without_routing():
    d = run_deployment(["us-east-1"], on_failure="skip", failures=[Failure("us-east-1", "deploy")])
    assert d.outcome == "stopped"
    assert not d.routing_configured
    assert "no verified region" in d.trace.steps[-1].next_step


def test_verification_failure_is_caught_right_after_its_deployment():
    d = run_deployment(
        ["us-east-1", "eu-west-1", "ap-south-1"],
        on_failure="stop",
        failures=[Failure("eu-west-1", "verify")],
    )
    assert d.verification_status == {"us-east-1": "success", "eu-west-1": "failed"}
    assert "ap-south-1" not in d.deployment_status


@pytest.mark.parametrize(("interval", "threshold"), [(10.0, 3), (30.0, 3), (5.0, 2)])
def test_an_outage_is_detected_after_interval_times_threshold(interval, threshold):
    policy = HealthPolicy(interval_s=interval, failure_threshold=threshold, healthy_threshold=2)
    d = run_deployment(["us-east-1", "eu-west-1"], "model_v2", health=policy)
    assert d.route("eu-west-2") == "eu-west-1"
    assert d.route("us-east-2") == "us-east-1"
    d.advance(60)
    assert d.health() == {"us-east-1": "healthy", "eu-west-1": "healthy"}
    start = d.backend.now()
    d.backend.inject("eu-west-1", [Fault("outage", duration_s=200)])
    d.advance(interval * threshold + interval)
    assert d.health()["eu-west-1"] == "unhealthy"
    assert d.route("eu-west-2") == "us-east-1"
    down = d.trace.transitions[0]
    assert (down.region, down.source, down.state) == ("eu-west-1", "probe", "unhealthy")
    assert interval * (threshold - 1) < down.t - start <= interval * threshold + 1
    d.advance(200)
    assert d.health()["eu-west-1"] == "healthy"
    assert d.route("eu-west-2") == "eu-west-1"
    assert [t.state for t in d.trace.transitions] == ["unhealthy", "healthy"]
    assert "Health Transitions" in d.trace.render("text")


def test_routing_policy_and_failover_order_apply_to_the_flow():
    policy = RoutingPolicy("failover", order=("eu-west-1", "us-east-1"))
    d = run_deployment(["us-east-1", "eu-west-1"], routing=policy)
    assert d.route("us-east-2") == "eu-west-1"
    with pytest.raises(InvalidDeployment, match="'ap-south-1' is not one of"):
        Deployment(LESSON_REGIONS, routing=RoutingPolicy("failover", order=("ap-south-1",)))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda d: d.verify_deployment("us-east-1"), "call deploy_model first"),
        (lambda d: d.routing_setup(d.regions), "not verified yet: us-east-1, eu-west-1"),
        (lambda d: d.monitor_health(d.regions), "after routing_setup"),
        (lambda d: d.deploy_model("ap-south-1"), "not one of this deployment's regions"),
        (lambda d: d.route("us-east-1"), "needs routing_setup"),
        (lambda d: d.deploy_model("eu-west-1"), "listed order; the next one is 'us-east-1'"),
        (lambda d: d.routing_setup("us-east-1,eu-west-1"), "takes the deployment's regions"),
    ],
)
def test_out_of_order_calls_are_flow_errors(call, message):
    d = Deployment(LESSON_REGIONS)
    with pytest.raises(FlowError, match=message):
        call(d)
    assert d.trace.steps == []


def test_next_region_waits_for_verification():
    d = Deployment(LESSON_REGIONS)
    d.deploy_model("us-east-1")
    with pytest.raises(FlowError, match="verify_deployment\\('us-east-1'\\) comes right after"):
        d.deploy_model("eu-west-1")
    with pytest.raises(FlowError, match="not verified yet: us-east-1"):
        d.routing_setup(d.regions)
    d.verify_deployment("us-east-1")
    with pytest.raises(FlowError, match="already been deployed"):
        d.deploy_model("us-east-1")


def test_routing_and_monitoring_take_every_region_once():
    d = Deployment(LESSON_REGIONS)
    for region in LESSON_REGIONS:
        d.deploy_model(region)
        d.verify_deployment(region)
    with pytest.raises(FlowError, match="takes the deployment's regions"):
        d.routing_setup(["us-east-1"])
    assert d.routing_setup(list(reversed(LESSON_REGIONS))) == ["eu-west-1", "us-east-1"]
    with pytest.raises(FlowError, match="already configured"):
        d.routing_setup(LESSON_REGIONS)
    with pytest.raises(FlowError, match="takes the deployment's regions"):
        d.monitor_health(["eu-west-1"])
    d.monitor_health(LESSON_REGIONS)
    assert d.outcome == "complete"


def test_failures_may_be_written_as_on_the_command_line():
    d = run_deployment(LESSON_REGIONS, failures=["eu-west-1:deploy:1"])
    assert [s.result for s in d.trace.steps if s.region == "eu-west-1"][:2] == [
        "Deployment failed",
        "Deployment success",
    ]


def test_calls_after_the_end_are_refused():
    d = run_deployment(LESSON_REGIONS)
    with pytest.raises(FlowError, match="has ended \\(complete\\)"):
        d.deploy_model("us-east-1")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"regions": []}, InvalidDeployment, "non-empty list"),
        ({"regions": "us-east-1"}, InvalidDeployment, "non-empty list"),
        ({"regions": ["us-east-1", "us-east-1"]}, InvalidDeployment, "more than once: us-east-1"),
        ({"regions": ["us-east1-"]}, UnknownRegion, "did you mean 'us-east1'"),
        (
            {"on_failure": "panic"},
            InvalidDeployment,
            "on_failure: expected one of retry, stop",
        ),
        ({"max_retries": -1}, InvalidDeployment, "max_retries"),
        ({"max_retries": True}, InvalidDeployment, "max_retries"),
        (
            {"max_retries": 21},
            InvalidDeployment,
            "max_retries: expected a whole number from 0 to 20",
        ),
        ({"failures": [Failure("ap-south-1", "deploy")]}, InvalidDeployment, "not one of"),
        ({"failures": ["eu-west-1"]}, InvalidFault, "is not a failure"),
        ({"failures": [("eu-west-1", "deploy")]}, InvalidDeployment, "failures take Failure"),
        ({"seed": -1}, InvalidDeployment, "seed: expected a whole number from 0 to"),
        ({"seed": "x"}, InvalidDeployment, "seed: expected a whole number from 0 to"),
    ],
)
def test_bad_settings_are_refused(kwargs, error, message):
    settings_ = {"regions": LESSON_REGIONS, **kwargs}
    with pytest.raises(error, match=message):
        Deployment(settings_.pop("regions"), **settings_)


@st.composite
def deployments(draw):
    regions = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=5, unique=True))
    failures = draw(
        st.lists(
            st.builds(
                Failure,
                st.sampled_from(regions),
                st.sampled_from(["deploy", "verify"]),
                st.none() | st.integers(1, 4),
            ),
            max_size=3,
            unique_by=lambda f: (f.region, f.stage),
        )
    )
    return {
        "regions": regions,
        "on_failure": draw(st.sampled_from(POLICIES)),
        "max_retries": draw(st.integers(0, 3)),
        "failures": failures,
        "seed": draw(st.integers(0, 2**32)),
    }


@settings(max_examples=150, deadline=None)
@given(deployments())
def test_flow_invariants(spec):
    d = run_deployment(spec.pop("regions"), **spec)
    steps = d.trace.steps
    assert [s.step for s in steps] == list(range(1, len(steps) + 1))
    assert steps[-1].action == "End" and d.outcome is not None
    assert len(d.trace.snapshots) == len(steps) + 1
    # each region's deploy is followed by its verify before the next region starts
    per_region = [s for s in steps if s.action in PER_REGION and s.action != "Select region"]
    order = list(dict.fromkeys(s.region for s in per_region))
    assert [s.region for s in per_region] == sorted((s.region for s in per_region), key=order.index)
    assert order == d.regions[: len(order)]
    # routing only after the last verification, monitoring right after routing
    actions = [s.action for s in steps]
    if "Setup traffic routing" in actions:
        r = actions.index("Setup traffic routing")
        assert all(a not in PER_REGION for a in actions[r:])
        assert actions[r + 1 : r + 3] == ["Start health monitoring", "End"]
        assert set(d.routes) == {k for k, v in d.verification_status.items() if v == "success"}
    # outcome is consistent with the record
    if d.outcome in ("complete", "complete_with_skips"):
        assert d.routing_configured and d.monitoring_active
        assert ("Skip region" in actions) == (d.outcome == "complete_with_skips")
    else:
        assert not d.monitoring_active
        assert d.outcome == "stopped" or spec["on_failure"] == "rollback"
    if d.outcome == "rolled_back":
        assert set(d.deployment_status.values()) <= {"rolled_back", "failed"}
        assert all(model is None for model in d.backend.models.values())
    # the tracker is always the snapshots, rendered
    full = d.trace.status_tracker("full")
    for row in full.rows:
        assert list(row[1:]) == [
            repr(v) if not isinstance(v, bool) else str(v).lower()
            for v in (snap[row[0]] for snap in d.trace.snapshots)
        ]
    # no failure injected -> complete
    if not spec["failures"]:
        assert d.outcome == "complete"
