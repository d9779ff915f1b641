"""The backend contract: the same tests on the simulated fleet and on the live fleet (real servers
on 127.0.0.1 at a fast time scale). Whatever the flow, a rollout, an experiment or users need from
a backend behaves the same on both; only the clock's nature differs (simulated or emulated)."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from sandbox import Clients, Fault, HealthPolicy, load_model, run_deployment
from sandbox.core import RegionCatalog, RequestLog
from sandbox.flow import Backend, Rollout, RolloutPlan, SteadyState
from sandbox.live import LiveFleet
from sandbox.sim import SimFleet
from tests.support import port_of, ports_listened_on

REGIONS = ["us-east-1", "eu-west-1"]
OLD, NEW = load_model("model_v1"), load_model("model_v1_1")
SCALE = 0.05  # live: wall seconds per emulated second (users below send at most 80 a wall second)
POLICY = HealthPolicy(interval_s=10, timeout_s=2, failure_threshold=2, healthy_threshold=2)


@contextmanager
def fleet_of(kind: str, seed: int = 3) -> Iterator[Backend]:
    if kind == "sim":
        fleet: Backend = SimFleet(RegionCatalog.default(), REGIONS, REGIONS[0], seed)
    else:
        fleet = LiveFleet(REGIONS, time_scale=SCALE, seed=seed)
    with fleet:
        yield fleet


@pytest.fixture(params=["sim", "live"])
def fleet(request) -> Iterator[Backend]:
    with fleet_of(request.param) as fleet:
        yield fleet


def process_value(fleet: Backend, seconds: float, value: str):
    yield fleet.env.timeout(seconds)
    return value


def test_the_clock_counts_from_zero_and_runs_processes_to_their_value(fleet):
    assert fleet.now() >= 0
    before = fleet.now()
    assert fleet.run(process_value(fleet, 3.0, "done")) == "done"
    assert fleet.now() - before >= 3.0 - 1e-9
    before = fleet.now()
    fleet.advance(4.0)
    assert fleet.now() - before >= 4.0 - 1e-9


def test_a_background_process_runs_while_time_passes(fleet):
    seen: list[float] = []

    def tick():
        for _ in range(3):
            yield fleet.env.timeout(1.0)
            seen.append(fleet.env.now)

    fleet.spawn(tick())
    fleet.advance(5.0)
    assert len(seen) == 3 and seen == sorted(seen)


def test_deploy_verify_withdraw_and_rollback(fleet):
    assert fleet.run(fleet.deploy("eu-west-1", OLD)) is True
    assert list(fleet.run(fleet.smoke("eu-west-1", OLD))) == pytest.approx(OLD.smoke_predictions)
    assert fleet.run(fleet.deploy("eu-west-1", NEW)) is True
    assert fleet.run(fleet.smoke("eu-west-1", OLD)) is None  # the current version is NEW's
    fleet.run(fleet.withdraw("eu-west-1", NEW))
    assert fleet.run(fleet.smoke("eu-west-1", OLD)) is not None  # the kept version is back
    fleet.run(fleet.rollback("eu-west-1"))
    assert fleet.run(fleet.smoke("eu-west-1", OLD)) is None


def test_teaching_faults_fail_a_deployment_or_its_verification(fleet):
    fleet.inject("us-east-1", [Fault("deploy_failures", count=1)])
    assert fleet.run(fleet.deploy("us-east-1", OLD)) is False
    assert fleet.run(fleet.deploy("us-east-1", OLD)) is True
    fleet.inject("eu-west-1", [Fault("bad_model", count=1)])
    assert fleet.run(fleet.deploy("eu-west-1", OLD)) is True
    wrong = fleet.run(fleet.smoke("eu-west-1", OLD))
    assert wrong is not None and list(wrong) != pytest.approx(OLD.smoke_predictions)


def test_the_lessons_flow_gives_the_same_table_on_both(fleet):
    d = run_deployment(REGIONS, OLD, backend=fleet, health=POLICY, seed=3)
    sim = run_deployment(REGIONS, OLD, health=POLICY, seed=3)
    assert d.outcome == "complete" and d.trace.clock == fleet.clock
    assert [(s.action, s.region, s.result) for s in d.trace.steps] == [
        (s.action, s.region, s.result) for s in sim.trace.steps
    ]
    assert d.trace.snapshots[-1] == sim.trace.snapshots[-1]


def test_probes_mark_an_outage_within_the_rule_and_recovery_after_it(fleet):
    d = run_deployment(REGIONS, OLD, backend=fleet, health=POLICY, seed=3)
    start = fleet.now()
    fleet.inject("eu-west-1", [Fault("outage", duration_s=60)])
    fleet.advance(POLICY.interval_s * (POLICY.failure_threshold + 1) + POLICY.timeout_s)
    assert d.health() == {"us-east-1": "healthy", "eu-west-1": "unhealthy"}
    down = next(t for t in d.trace.transitions if t.state == "unhealthy")
    # the first failed probe comes within an interval (plus a probe) of the fault's start
    bound = POLICY.interval_s * POLICY.failure_threshold + POLICY.timeout_s
    assert down.t - start <= bound + (2.0 if fleet.clock == "emulated" else 0.0)
    fleet.advance(60 + POLICY.interval_s * (POLICY.healthy_threshold + 1) + POLICY.timeout_s)
    assert d.health() == {"us-east-1": "healthy", "eu-west-1": "healthy"}


def test_users_send_the_workloads_rate_and_every_attempt_is_logged(fleet):
    d = run_deployment(REGIONS, OLD, backend=fleet, health=POLICY, seed=3)
    attempts = fleet.attempt_log()
    log = RequestLog(REGIONS, REGIONS)
    rate, seconds = 2.0, 40.0
    users = d.start_users([Clients("eu-west-2", rate)], log=log, until=fleet.now() + seconds)
    fleet.advance(seconds)
    users.close()
    expected = rate * seconds
    assert abs(len(log) - expected) <= 4 * math.sqrt(expected)  # Poisson: within 4 sigma
    # the closest region serves them; a busy machine may time a few out (a margin, not a race)
    served_near = sum(r == REGIONS.index("eu-west-1") for r in log.column("region"))
    assert sum(log.column("ok")) >= 0.9 * len(log) and served_near >= 0.9 * len(log)
    assert len(attempts) >= len(log)
    # on a busy machine the live users may go out late, and then say so
    assert all("fell behind" in warning for warning in users.warnings())


def test_a_rollout_splits_users_between_versions_and_completes(fleet):
    d = run_deployment(REGIONS, OLD, backend=fleet, health=POLICY, seed=3)
    log = RequestLog(["eu-west-2", "us-east-2"], REGIONS)
    users = d.start_users(
        [Clients("eu-west-2", 2), Clients("us-east-2", 2)], versions=[NEW], log=log
    )
    plan = RolloutPlan("canary", canary_percent=50, bake_s=20)
    # a loaded machine may answer a few late (timeouts): the margin keeps the bakes' verdict
    rollout = Rollout(d, NEW, plan, hypothesis=SteadyState(max_error_rate=0.25)).run()
    users.close()
    assert rollout.outcome == "complete", rollout.trace
    assert [b["held"] for b in rollout.bakes] == [True, True]
    assert set(log.versions.names) == {OLD.version, NEW.version}


def test_closing_stops_everything_it_started():
    with fleet_of("live") as live:
        ports = {port_of(url) for url in [*live.urls.values(), live.gateway_url]}
        assert ports <= ports_listened_on()
        assert threading.active_count() > 1
    assert not ports & ports_listened_on()
