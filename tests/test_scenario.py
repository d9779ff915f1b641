"""Scenario files: loading, defaults, and every kind of mistake named with its key path."""

from __future__ import annotations

import copy
import json
import re
import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.core.faults import Fault
from sandbox.errors import InvalidScenario
from sandbox.experiment.scenario import bundled_scenarios, load_scenario, parse_scenario

BASE = {
    "name": "t",
    "seed": 1,
    "duration_s": 600,
    "deployment": {"model": "model_v1", "regions": ["us-east-1", "eu-west-1"]},
    "clients": [{"region": "eu-west-2", "rate_per_s": 5}],
    "faults": [{"region": "eu-west-1", "kind": "outage", "start_s": 120, "duration_s": 180}],
}


def edited(path: str, value: object) -> dict:
    """BASE with the value at a dotted path set (a `[i]` step indexes a list); DROP deletes."""
    doc = copy.deepcopy(BASE)
    *parents, last = path.replace("[", ".").replace("]", "").split(".")
    node = doc
    for step in parents:
        node = node[int(step)] if isinstance(node, list) else node.setdefault(step, {})
    if value is DROP:
        del node[int(last) if isinstance(node, list) else last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return doc


DROP = object()


def test_bundled_scenarios_load():
    assert "regional_outage" in bundled_scenarios()
    for name in bundled_scenarios():
        scenario = load_scenario(name)
        assert scenario.source == name and scenario.clients and scenario.regions


def test_defaults():
    s = parse_scenario(BASE, "t.toml")
    assert (s.mode, s.on_failure, s.max_retries, s.time_scale) == ("sim", "retry", 2, 1.0)
    assert (s.routing.name, s.routing.retries) == ("latency", 1)
    assert (s.health.interval_s, s.health.failure_threshold) == (30.0, 3)
    assert (s.outlier.consecutive_5xx, s.outlier.base_ejection_s) == (5, 30.0)
    assert s.faults[0].fault == Fault("outage", duration_s=180.0)
    assert (s.faults[0].start_s, s.faults[0].end_s) == (120.0, 300.0)
    assert s.steady_state.max_error_rate is None


def test_full_file_with_every_table(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(
        """
name = "weighted latency spike"
seed = 7
duration_s = 300
mode = "live"
time_scale = 0.1
processes = true
[deployment]
model = "model_v2"
regions = ["us-east-1", "eu-west-1"]
on_failure = "skip"
max_retries = 0
[routing]
policy = "weighted"
retries = 2
weights = { "us-east-1" = 80, "eu-west-1" = 20 }
[health]
interval_s = 5
consecutive_5xx = 3
base_ejection_s = 10
[service]
capacity = 4
service_ms = 20
[[clients]]
region = "eu-west-2"
rate_per_s = 2.5
[[faults]]
region = "us-east-1"
kind = "latency"
latency_ms = 300
jitter_ms = 50
start_s = 60
[[faults]]
region = "eu-west-1"
kind = "crash"
start_s = 100
duration_s = 20
[steady_state]
max_p99_ms = 400
"""
    )
    s = load_scenario(path)
    assert (s.mode, s.time_scale, s.model, s.on_failure) == ("live", 0.1, "model_v2", "skip")
    assert s.routing.weights == {"us-east-1": 80, "eu-west-1": 20}
    assert (s.outlier.consecutive_5xx, s.service.capacity, s.service.service_ms) == (3, 4, 20.0)
    assert s.faults[0].fault.latency_ms == 300 and s.faults[0].end_s is None
    assert s.steady_state.max_p99_ms == 400 and s.steady_state.max_error_rate is None


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("faults[0].start_s", -5, "faults[0].start_s: expected a number from 0 to 600, got -5"),
        ("faults[0].start_s", DROP, "faults[0].start_s: missing"),
        ("faults[0].kind", "flood", "faults[0].kind: expected one of latency"),
        ("faults[0].latency_ms", 5, "unknown parameter 'latency_ms' for kind 'outage'"),
        ("faults[0].region", "ap-south-1", "faults[0].region: 'ap-south-1' is not one of"),
        ("faults[0].kind", "crash", 'crash is a real process kill: set mode = "live"'),
        ("faults[0].kind", "deploy_failures", "none happens after time 0: put it in deployment"),
        ("processes", True, 'processes: only for mode = "live"'),
        ("deployment.model", "model_v9", "deployment.model: unknown model 'model_v9'"),
        ("deployment.failures", ["eu-west-1:boot"], "deployment.failures[0]: 'eu-west-1:boot'"),
        ("deployment.failures", ["ap-south-1:deploy"], "'ap-south-1' is not one of"),
        ("routing.order", ["us-east-1"], "routing.order: applies to policy failover only"),
        ("routing.policy", "failover", "routing.order: policy failover needs an order"),
        (
            "health.timeout_s",
            40,
            "health.timeout_s: 40 s is not shorter than the probe interval",
        ),
        ("faults[0].duration_s", 0, "faults[0].duration_s: expected a number"),
        ("clients[0].rate_per_s", 0, "clients[0].rate_per_s: expected a number above 0"),
        ("clients[0].region", "eu-west-l", "clients[0].region: unknown region 'eu-west-l'"),
        ("clients[0].rte_per_s", 1, "clients[0].rte_per_s: unknown key; did you mean 'rate_per_s'"),
        ("clients", [], "clients: expected at least one [[clients]] table"),
        ("deployment.regions", [], "deployment.regions: expected a non-empty list"),
        ("deployment.regions", ["us-east-1", "us-east-1"], "lists us-east-1 more than once"),
        ("deployment.regions", ["us-east1-"], "deployment.regions[0]: unknown region 'us-east1-'"),
        ("deployment.on_failure", "panic", "deployment.on_failure: expected one of retry"),
        ("deployment.max_retries", 99, "deployment.max_retries: expected a whole number"),
        ("routing.policy", "nearest", "routing.policy: expected one of latency"),
        (
            "routing.weights",
            {"us-east-1": 300},
            "us-east-1: expected a whole number from 0 to 255",
        ),
        ("health.interval_s", 0, "health.interval_s: expected a number above 0 and at most 3600"),
        ("health.failure_threshold", 0, "health.failure_threshold: expected a whole number"),
        ("health.intervl_s", 5, "health.intervl_s: unknown key; did you mean 'interval_s'"),
        ("steady_state.max_error_rate", 2, "steady_state.max_error_rate: expected a number"),
        ("steady_state.max_p99_ms", 0, "steady_state.max_p99_ms: expected a number above 0"),
        ("duration_s", DROP, "duration_s: missing; add duration_s = <a number above 0"),
        ("duration_s", True, "duration_s: expected a number"),
        ("seed", -1, "seed: expected a whole number"),
        ("mode", "both", "mode: expected one of sim, live"),
        ("time_scale", 0.5, 'time_scale: only for mode = "live"'),
        ("name", "", "name: expected a non-empty string"),
        ("nmae", "x", "nmae: unknown key; did you mean 'name'"),
        ("service.capacity", 0, "service.capacity: expected a whole number from 1"),
        ("deployment", "x", "deployment: expected a table"),
    ],
)
def test_mistakes_name_the_key_path(path, value, message):
    with pytest.raises(InvalidScenario) as error:
        parse_scenario(edited(path, value), "exp.toml")
    assert str(error.value).startswith("exp.toml: ")
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("faults", "message"),
    [
        (
            [{"region": "eu-west-1", "kind": "bad_model", "count": 2, "start_s": 10}],
            "faults[0].count: a bad_model fault with a count acts on deployments",
        ),
        (
            [
                {"region": "eu-west-1", "kind": "outage", "start_s": 10, "duration_s": 100},
                {"region": "eu-west-1", "kind": "outage", "start_s": 50, "duration_s": 5},
            ],
            "faults[1].start_s: overlaps faults[0], a outage fault in eu-west-1 too",
        ),
        (
            [
                {"region": "eu-west-1", "kind": "latency", "latency_ms": 5, "start_s": 10},
                {"region": "eu-west-1", "kind": "latency", "latency_ms": 9, "start_s": 500},
            ],
            "faults[1].start_s: overlaps faults[0]",  # the first never ends
        ),
    ],
)
def test_faults_that_would_do_nothing_or_end_each_other_are_refused(faults, message):
    with pytest.raises(InvalidScenario, match=re.escape(message)):
        parse_scenario(edited("faults", faults), "exp.toml")


def test_faults_of_one_kind_one_after_the_other_are_fine():
    faults = [
        {"region": "eu-west-1", "kind": "outage", "start_s": 10, "duration_s": 40},
        {"region": "eu-west-1", "kind": "outage", "start_s": 50, "duration_s": 5},
        {"region": "us-east-1", "kind": "outage", "start_s": 20, "duration_s": 40},
    ]
    assert len(parse_scenario(edited("faults", faults), "exp.toml").faults) == 3


def test_a_routing_order_must_name_the_fleets_regions():
    doc = edited("routing", {"policy": "failover", "order": ["us-east-1", "sa-east-1"]})
    with pytest.raises(
        InvalidScenario, match=r"routing\.order: 'sa-east-1' is not one of the regions"
    ):
        parse_scenario(doc, "exp.toml")


def test_toml_syntax_errors_give_line_and_column(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('name = "x"\nseed = \n')
    with pytest.raises(InvalidScenario, match=r"bad.toml: invalid TOML: .*line 2, column 8"):
        load_scenario(path)


def test_missing_file_lists_the_bundled_scenarios(tmp_path):
    with pytest.raises(InvalidScenario, match="no such file, and not a bundled scenario"):
        load_scenario(tmp_path / "nope.toml")


def test_the_scenario_keeps_its_document():
    assert parse_scenario(BASE, "t").document == BASE


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=10,
    ),
    st.sampled_from(
        [
            "name",
            "seed",
            "duration_s",
            "deployment",
            "clients",
            "faults",
            "routing",
            "health",
            "steady_state",
            "service",
            "mode",
        ]
    ),
)
def test_generated_documents_load_or_fail_cleanly(value, key):
    doc = copy.deepcopy(BASE) | {key: value}
    try:
        parse_scenario(doc, "gen.toml")
    except InvalidScenario as e:
        assert str(e).startswith("gen.toml: ")


def test_regional_outage_file_is_valid_toml_on_its_own():
    from importlib.resources import files

    text = (files("sandbox") / "data" / "scenarios" / "regional_outage.toml").read_text()
    assert tomllib.loads(text)["faults"][0]["kind"] == "outage"


def test_relative_model_paths_are_beside_the_scenario_file(tmp_path, monkeypatch):
    from sandbox.core.models import load_model

    (tmp_path / "models").mkdir()
    artifact = tmp_path / "models" / "mine.json"
    artifact.write_text(json.dumps(load_model("model_v2").to_dict() | {"name": "mine"}))
    path = tmp_path / "s.toml"
    path.write_text(
        'name = "x"\nduration_s = 10\n[deployment]\nmodel = "models/mine.json"\n'
        'regions = ["eu-west-1"]\n[[clients]]\nregion = "eu-west-1"\nrate_per_s = 1\n'
    )
    monkeypatch.chdir("/")
    assert load_scenario(path).model == str(artifact)


@pytest.mark.parametrize("kind", [["outage"], {"a": 1}, 3])
def test_a_kind_that_is_not_a_string_is_refused(kind):
    with pytest.raises(InvalidScenario, match=r"faults\[0\]\.kind: expected one of"):
        parse_scenario(edited("faults[0].kind", kind), "exp.toml")
