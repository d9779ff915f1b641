"""What the users saw: the table of a run's requests by the region users were near and the version
that served them, the users a deployment starts recording every request, and how many requests
an experiment's version served."""

from __future__ import annotations

import math

import pytest

from sandbox import Clients, run_deployment
from sandbox.core.records import RequestLog
from sandbox.experiment import parse_scenario, run_experiment, users_saw

REGIONS = ["us-east-1", "eu-west-1"]


def rows(table):
    return {row[0]: row[1:] for row in table.rows}


def test_a_row_per_region_users_were_near_and_one_for_all():
    log = RequestLog(["eu-west-2", "us-east-2"], REGIONS, chunk=2)  # several chunks
    # (client, region, ok, version): a failed 1.1.0 answer counts for 1.1.0 and as failed
    sent = [(0, 1, True, "1.0.0"), (0, 1, False, "1.1.0"), (1, 0, True, "1.1.0")]
    sent += [(1, 0, True, "1.0.0"), (1, -1, False, None)]  # the last: no region answered
    for t, (client, region, ok, version) in enumerate(sent):
        log.add(float(t), client, region, region, 1, 5.0, ok, version=version)
    table = users_saw(log, "two groups")
    assert table.title == "two groups"
    assert table.headers == (
        "users near",
        "requests",
        "served last by 1.0.0 (failed too)",
        "served last by 1.1.0 (failed too)",
        "failed",
    )
    assert rows(table) == {
        "eu-west-2": ("2", "1", "1", "1"),
        "us-east-2": ("3", "1", "1", "1"),
        "all": ("5", "2", "2", "2"),
    }


def test_a_log_without_requests_is_a_table_of_zeros():
    table = users_saw(RequestLog(["eu-west-2"], REGIONS))
    assert table.headers == ("users near", "requests", "failed")
    assert rows(table) == {"eu-west-2": ("0", "0"), "all": ("0", "0")}


@pytest.mark.parametrize("given", [None, "users.log", [1, 2]])
def test_anything_but_a_request_log_is_refused_naming_what_to_pass(given):
    with pytest.raises(TypeError, match=r"users_saw takes a RequestLog, such as users\.log"):
        users_saw(given)


def test_users_started_without_a_log_record_every_request_in_their_own():
    d = run_deployment(REGIONS, "model_v1")
    rate, seconds = 10.0, 60.0
    users = d.start_users([Clients("eu-west-2", rate)], until=d.backend.now() + seconds)
    d.advance(seconds + 5)
    users.close()
    log = users.log
    assert log is not None and (log.clients, log.regions) == (["eu-west-2"], REGIONS)
    expected = rate * seconds
    assert abs(len(log) - expected) <= 4 * math.sqrt(expected)  # Poisson: within 4 sigma
    served_all = (str(len(log)), str(len(log)), "0")  # 1.0.0 served every one, none failed
    assert rows(users_saw(log))["eu-west-2"] == served_all


def test_users_given_a_log_record_into_it():
    d = run_deployment(REGIONS, "model_v1")
    log = RequestLog(["eu-west-2"], REGIONS)
    users = d.start_users([Clients("eu-west-2", 5)], log=log, until=d.backend.now() + 20)
    d.advance(25)
    users.close()
    assert users.log is log and len(log) > 0


CANARY = {
    "name": "small canary",
    "seed": 2,
    "duration_s": 60,
    "deployment": {"model": "model_v1", "regions": REGIONS},
    "rollout": {"model": "model_v1_1", "strategy": "canary", "canary_percent": 50, "bake_s": 20},
    "clients": [{"region": r, "rate_per_s": 5} for r in REGIONS],
    "faults": [
        {
            "region": "us-east-1",
            "kind": "error_rate",
            "error_rate": 0.5,
            "version": "1.1.0",
            "start_s": 0,
        }
    ],
}


def test_an_experiments_versions_served_what_its_users_saw():
    run = run_experiment(parse_scenario(CANARY, "test"))
    assert run.rollout is not None and run.rollout.outcome == "rolled_back"
    table = rows(users_saw(run.log))
    headers = users_saw(run.log).headers[2:-1]
    versions = [h.removeprefix("served last by ").removesuffix(" (failed too)") for h in headers]
    assert "1.1.0" in versions  # the canary's share met some users before the rollback
    for i, version in enumerate(versions):
        assert run.served_by(version) == int(table["all"][1 + i]) > 0
    assert sum(run.served_by(v) for v in versions) <= len(run.log)
    assert run.served_by("9.9.9") == 0  # a version that never served
