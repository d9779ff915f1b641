"""Rollouts from the command line and from scenario files, and the DNS TTL's cost."""

from __future__ import annotations

import copy
import json

import pytest

from sandbox.args.deploy import parse_deploy_args
from sandbox.errors import InvalidScenario
from sandbox.experiment.run import run_experiment
from sandbox.experiment.scenario import load_scenario, parse_scenario
from sandbox.flow.plan import RolloutPlan

THREE = "us-east-1,eu-west-1,ap-northeast-1"


# --- mrsandbox deploy --strategy ----------------------------------------------------------------


def test_a_canary_rollout_on_the_command_line(invoke):
    result = invoke("deploy", "--regions", THREE, "model_v1_1", "--strategy", "canary")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Rollout of model_v1 1.0.0 -> 1.1.0 to us-east-1,")
    assert "| 10% to 1.1.0" in result.output and "| 100% to 1.1.0" in result.output
    assert result.output.count("Steady state held: ") == 3
    assert "serving_version" in result.output
    assert "Outcome: complete (Every region serves 1.1.0)" in result.output
    said = "served last by version (failed ones too): 1.0.0 "
    assert "Users: " in result.output and said in result.output


def test_a_bad_bake_rolls_the_touched_regions_back_and_exits_1(invoke):
    args = ["deploy", "--regions", THREE, "model_v1_1", "--strategy", "waves"]
    args += ["--waves", "us-east-1;eu-west-1,ap-northeast-1", "--bake-s", "30"]
    result = invoke(*args, "--fail", "ap-northeast-1:bake")
    assert result.exit_code == 1, result.output
    rolled = [line for line in result.output.splitlines() if "| Roll back deployment |" in line]
    assert [line.split("|")[2].strip() for line in rolled] == [
        *("ap-northeast-1", "eu-west-1", "us-east-1")
    ]
    assert "Outcome: rolled_back (Rolled back: the bake of wave 2 deviated" in result.output


def test_the_json_document_carries_the_steps_and_the_users_by_version(invoke):
    args = ["deploy", "--regions", "us-east-1,eu-west-1", "model_v1_1", "--strategy", "canary"]
    result = invoke(*args, "--canary-percent", "30", "--bake-s", "60", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["outcome"] == "complete"
    actions = [s["action"] for s in document["steps"]]
    assert actions.count("Bake") == 2 and actions.count("Shift traffic") == 4
    assert set(document["users_by_version"]) == {"1.0.0", "1.1.0"}
    assert document["rollout"]["strategy"] == "canary"
    versions = (document["rollout"]["from_version"], document["rollout"]["to_version"])
    assert versions == ("1.0.0", "1.1.0")
    assert [b["held"] for b in document["rollout"]["bakes"]] == [True, True]
    last = document["snapshots"][-1]["variables"]
    assert last["serving_version"] == {"us-east-1": "1.1.0", "eu-west-1": "1.1.0"}


def test_the_same_seed_gives_the_same_rollout(invoke):
    args = ["deploy", "--regions", THREE, "model_v1_1", "--strategy", "canary", "--seed", "7"]
    first, second = invoke(*args), invoke(*args)
    assert first.output == second.output
    assert invoke(*args[:-1], "8").output != first.output


def test_previous_with_sequential_rolls_out_the_lesson_s_way(invoke):
    args = ["deploy", "--regions", "us-east-1,eu-west-1", "model_v1_1", "--previous", "model_v1"]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert "(sequential: us-east-1 ; eu-west-1)" in result.output
    assert "| Bake " not in result.output


def test_parse_deploy_args_carries_the_plan_and_the_previous_version():
    request = parse_deploy_args(
        [
            "--regions",
            THREE,
            "model_v1_1",
            "--strategy",
            "waves",
            "--waves",
            "eu-west-1;us-east-1,ap-northeast-1",
        ]
    )
    assert request.rollout and request.previous is not None
    assert request.previous.version == "1.0.0"
    assert request.plan == RolloutPlan("waves", (("eu-west-1",), ("us-east-1", "ap-northeast-1")))
    plain = parse_deploy_args(["--regions", THREE, "model_v1_1"])
    assert not plain.rollout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--waves", "us-east-1;eu-west-1"],
            "Invalid value for '--waves': applies to strategy waves or canary",
        ),
        (
            ["--strategy", "waves", "--waves", "us-east-1;mars-1"],
            "Invalid value for '--waves': 'mars-1' is not one of",
        ),
        (
            ["--strategy", "waves", "--waves", "us-east-1"],
            "eu-west-1, ap-northeast-1 in no wave: put every region in one of the waves",
        ),
        (["--strategy", "waves", "--waves", "us-east-1;;eu-west-1"], "empty region name"),
        (
            ["--strategy", "canary", "--canary-percent", "100"],
            "'--canary-percent': 100.0 is not in the range 0<x<100",
        ),
        (
            ["--strategy", "waves", "--canary-percent", "10"],
            "Invalid value for '--canary-percent': applies to strategy canary",
        ),
        (
            ["--bake-s", "10"],
            "Invalid value for '--bake-s': applies to strategy waves or canary",
        ),
        (["--strategy", "canary", "--bake-s", "-1"], "'--bake-s': -1.0 is not in the range"),
        (
            ["--strategy", "blue-green"],
            "'blue-green' is not one of 'sequential', 'waves', 'canary'",
        ),
        (
            ["--strategy", "canary", "--previous", "model_v2"],
            "Invalid value for '--previous': MODEL model_v1_1 is 'model_v1', not a version of "
            "'model_v2'",
        ),
        (["--strategy", "canary", "--previous", "model_v1_1"], "which the regions already serve"),
        (["--strategy", "canary", "--previous", "nope.json"], "Invalid value for '--previous'"),
        (
            ["--fail", "eu-west-1:bake"],
            "Invalid value for '--fail': a bake failure needs a rollout",
        ),
        (["--fail", "eu-west-1:bake:2"], "a bake failure takes no COUNT"),
        (["--strategy", "waves", "--bake-s", "0", "--fail", "eu-west-1:bake"], "no bake to catch"),
        (
            ["--previous", "model_v1", "--fail", "eu-west-1:bake"],
            "no bake to catch it (sequential)",
        ),
        (["--strategy", "canary", "--on-failure", "skip"], "Invalid value for '--on-failure'"),
        (["--strategy", "canary", "--seed", str(2**63)], "9223372036854775808 is not in the range"),
        (
            ["--strategy", "canary", "--leave-out", "monitor_health"],
            "Invalid value for '--leave-out'",
        ),
    ],
)
def test_rollout_options_that_do_not_fit_are_usage_errors(invoke, args, message):
    result = invoke("deploy", "--regions", THREE, "model_v1_1", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_rollout_of_a_first_version_asks_for_the_previous_one(invoke):
    result = invoke("deploy", "--regions", THREE, "model_v1", "--strategy", "canary")
    assert result.exit_code == 2
    assert "no earlier version of model_v1 than 1.0.0 is bundled: give --previous" in result.output


def test_serve_refuses_a_negative_dns_ttl(invoke):
    result = invoke("serve", "--regions", "us-east-1", "--dns-ttl-s", "-5")
    assert result.exit_code == 2
    assert "'--dns-ttl-s': -5.0 is not in the range" in result.output


# --- [rollout] in scenario files ----------------------------------------------------------------


def _document(**rollout):
    scenario = load_scenario("bad_version_canary")
    document = copy.deepcopy(dict(scenario.document))
    document["rollout"] = {"model": "model_v1_1"} | rollout
    return document


@pytest.mark.parametrize(
    ("rollout", "message"),
    [
        (
            {"model": "model_v2"},
            "rollout.model: it is 'model_v2', not a version of 'model_v1'",
        ),
        ({"model": "model_v1"}, "which the regions already serve"),
        ({"strategy": "blue"}, "rollout.strategy: expected one of sequential, waves, canary"),
        ({"strategy": "waves", "waves": "us-east-1;;eu-west-1"}, "rollout.waves: 'us-east-1;;"),
        (
            {"strategy": "waves", "waves": [["us-east-1"], "eu-west-1"]},
            "rollout.waves: expected waves of region names",
        ),
        (
            {"strategy": "waves", "waves": [["us-east-1"]]},
            "rollout.waves: eu-west-1, ap-northeast-1 in no wave",
        ),
        (
            {"strategy": "waves", "canary_percent": 5},
            "rollout.canary_percent: applies to strategy canary",
        ),
        (
            {"strategy": "canary", "canary_percent": 0},
            "rollout.canary_percent: expected a number above 0 and below 100, got 0",
        ),
        (
            {"strategy": "canary", "canary_percent": 100},
            "rollout.canary_percent: expected a number above 0 and below 100, got 100",
        ),
        ({"strategy": "waves", "waves": []}, "rollout.waves: expected waves of region names"),
        (
            {"strategy": "sequential", "failures": ["eu-west-1:bake"]},
            "rollout.failures: eu-west-1:bake: this rollout has no bake",
        ),
        (
            {"strategy": "canary", "bake_s": "long"},
            "rollout.bake_s: expected a number from 0",
        ),
        ({"start_s": 5000}, "rollout.start_s: expected a number from 0 to 900"),
        (
            {"failures": ["mars-1:bake"]},
            "rollout.failures[0]: 'mars-1' is not one of deployment.regions",
        ),
        (
            {"failures": ["eu-west-1:bake:3"]},
            "rollout.failures[0]: 'eu-west-1:bake:3': a bake failure takes no COUNT",
        ),
        ({"canary": 10}, "rollout.canary: unknown key; did you mean 'canary_percent'?"),
    ],
)
def test_rollout_tables_are_checked_with_their_key_paths(rollout, message):
    with pytest.raises(InvalidScenario, match=r"^my\.toml: ") as caught:
        parse_scenario(_document(**rollout), "my.toml")
    assert message in str(caught.value)


def test_waves_are_given_as_text_or_as_lists():
    as_text = parse_scenario(
        _document(strategy="waves", waves="us-east-1;eu-west-1,ap-northeast-1"), "s"
    )
    as_lists = parse_scenario(
        _document(strategy="waves", waves=[["us-east-1"], ["eu-west-1", "ap-northeast-1"]]), "s"
    )
    assert as_text.rollout == as_lists.rollout
    assert as_text.rollout.plan.waves == (("us-east-1",), ("eu-west-1", "ap-northeast-1"))


def test_a_version_fault_names_a_version_the_run_serves():
    document = _document()
    document["faults"][1]["version"] = "9.9.9"
    with pytest.raises(InvalidScenario) as caught:
        parse_scenario(document, "my.toml")
    assert str(caught.value) == (
        "my.toml: faults[1].version: '9.9.9' is not a version this run serves: "
        "1.0.0 (deployment.model) or 1.1.0 (rollout.model)"
    )


def test_a_bake_failure_belongs_in_rollout_failures():
    document = _document()
    document["deployment"]["failures"] = ["eu-west-1:bake"]
    with pytest.raises(InvalidScenario, match=r"deployment\.failures\[0\]: a bake failure belongs"):
        parse_scenario(document, "my.toml")


@pytest.mark.parametrize("ttl", [-1, "60", True, 90_000])
def test_dns_ttl_is_checked(ttl):
    document = copy.deepcopy(dict(load_scenario("outage_dns_ttl_60").document))
    document["routing"]["dns_ttl_s"] = ttl
    with pytest.raises(
        InvalidScenario, match=r"routing\.dns_ttl_s: expected a number from 0 to 86400"
    ):
        parse_scenario(document, "my.toml")


# --- the bundled scenarios ----------------------------------------------------------------------


def test_the_canary_catches_the_bad_version_before_most_users_see_it():
    canary = run_experiment(load_scenario("bad_version_canary")).journal
    sequential = run_experiment(load_scenario("bad_version_sequential")).journal
    assert canary["rollout"]["outcome"] == "rolled_back"
    assert sequential["rollout"]["outcome"] == "complete"
    new_share = {
        name: j["summary"]["by_version"].get("1.1.0", {"share": 0.0})["share"]
        for name, j in (("canary", canary), ("sequential", sequential))
    }
    assert new_share["canary"] < 0.05 < 0.5 < new_share["sequential"]
    assert canary["summary"]["failed"] < sequential["summary"]["failed"] / 10
    bake = canary["rollout"]["bakes"][0]
    assert bake["held"] is False and bake["failed"] > 0
    assert canary["rollout"]["start_s"] == pytest.approx(60, abs=1)
    assert not canary["deviated"] and sequential["deviated"]


def test_the_rollout_is_in_the_report_and_the_events():
    experiment = run_experiment(load_scenario("bad_version_canary"))
    report = experiment.report()
    assert "Rollout (canary) 1.0.0 -> 1.1.0 from " in report
    assert "Answers by version: 1.0.0 " in report
    assert "Fault error_rate of version 1.1.0 in eu-west-1 from 0 s:" in report
    steps = [e for e in experiment.events if e["event"] == "rollout_step"]
    assert [e["action"] for e in steps] == [s.action for s in experiment.rollout.trace.steps]


# --- the DNS TTL's cost -------------------------------------------------------------------------


def _outage(ttl: float) -> dict:
    scenario = load_scenario("outage_dns_ttl_60")
    document = copy.deepcopy(dict(scenario.document))
    document["routing"]["dns_ttl_s"] = ttl
    return run_experiment(parse_scenario(document, scenario.source)).journal["summary"]


def test_the_dns_ttl_adds_to_the_failover_users_see():
    none = _outage(0)
    fault = none["per_fault"][0]
    detected = fault["expected_detection_s"][1]  # the probes' bound, interval x threshold and more
    assert 30 <= detected < 31 and fault["expected_failover_s"] == [0.0, detected]
    assert fault["failover_s"] <= fault["expected_failover_s"][1]
    for ttl in (15, 45, 60, 90):
        summary = _outage(ttl)
        cached = summary["per_fault"][0]
        term = cached["failover_s"] - fault["failover_s"]
        assert cached["expected_failover_s"][1] == pytest.approx(detected + ttl)
        assert 0 < term <= ttl + 1  # users kept the cached region for up to one TTL more
        assert cached["failover_s"] <= cached["expected_failover_s"][1]
        assert summary["failed"] > none["failed"]  # without a retry, each of those failed


def test_the_ttl_scenarios_compare_as_their_comments_say():
    ttl = run_experiment(load_scenario("outage_dns_ttl_60"))
    none = run_experiment(load_scenario("outage_no_dns_ttl"))
    slow, fast = ttl.journal["summary"]["per_fault"][0], none.journal["summary"]["per_fault"][0]
    assert slow["failover_s"] > fast["failover_s"] + 30
    bound = slow["expected_failover_s"][1]
    assert f"expected at most {bound:g} s: at most detection's" in ttl.report()
    assert "+ DNS TTL 60 s" in ttl.report()
