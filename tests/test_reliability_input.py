"""Generated documents and command lines: scenario files, question sets, model artifacts, region
files and `mrsandbox` arguments either work or are refused with the sandbox's own error (exit
status 2 on the command line), never another exception or a traceback."""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.cli import main
from sandbox.core.models import load_model, parse_model
from sandbox.core.regions import RegionCatalog
from sandbox.errors import InvalidModel, InvalidQuiz, InvalidRegion, InvalidScenario
from sandbox.experiment.scenario import load_scenario, parse_scenario
from sandbox.quiz.material import parse_set

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = dict(load_scenario("regional_outage").document)
VISUAL = tomllib.loads((ROOT / "quizzes" / "visual.toml").read_text())
ARTIFACT = load_model("model_v1").to_dict()
FAST = settings(max_examples=150, deadline=None)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(["us-east-1", "eu-west-1", "outage", "latency", "retry", "model_v1", ""]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path of a document, lists by index."""
    found = [prefix] if prefix else []
    items = (
        doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else []
    )
    for key, value in items:
        found += paths(value, (*prefix, key))
    return found


def mutated(base: dict) -> st.SearchStrategy[dict]:
    """`base` with one to three key paths replaced, removed, or given a stray key."""
    every = paths(base)

    @st.composite
    def strategy(draw) -> dict:
        doc = copy.deepcopy(base)
        for _ in range(draw(st.integers(1, 3))):
            path = draw(st.sampled_from(every))
            node = doc
            for key in path[:-1]:
                if not isinstance(node, dict | list):
                    break
                try:
                    node = node[key]
                except (KeyError, IndexError, TypeError):
                    break
            else:
                action = draw(st.sampled_from(["replace", "remove", "add"]))
                key = path[-1]
                if not isinstance(node, dict | list):
                    continue
                try:
                    if action == "replace":
                        node[key] = draw(values)
                    elif action == "remove":
                        del node[key]
                    elif isinstance(node, dict):
                        node[draw(st.text(max_size=8))] = draw(values)
                except (KeyError, IndexError, TypeError):
                    continue
        return doc

    return strategy()


@FAST
@given(mutated(SCENARIO))
def test_generated_scenarios_load_or_are_refused_with_a_key_path(doc):
    try:
        parse_scenario(doc, "fuzz.toml")
    except InvalidScenario as e:
        assert str(e).startswith("fuzz.toml: ")


@FAST
@given(st.dictionaries(st.text(max_size=10), values, max_size=5))
def test_any_table_is_a_scenario_or_refused(doc):
    try:
        parse_scenario(doc, "fuzz.toml")
    except InvalidScenario as e:
        assert str(e).startswith("fuzz.toml: ")


@settings(max_examples=60, deadline=None)
@given(mutated(VISUAL))
def test_generated_question_sets_load_or_are_refused_with_a_key_path(doc):
    try:
        parse_set(doc, "fuzz.toml", "fuzz")
    except InvalidQuiz as e:
        assert str(e).startswith("fuzz.toml: ")


@FAST
@given(mutated(ARTIFACT))
def test_generated_model_artifacts_load_or_are_refused(doc):
    try:
        parse_model(doc, "fuzz.json")
    except InvalidModel as e:
        assert "fuzz.json" in str(e)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "name": st.one_of(st.text(max_size=12), st.sampled_from(["x-lab-1", "us-east-1"])),
                "location": st.text(max_size=12),
                "lat": st.one_of(st.floats(), st.integers(-200, 200), st.text(max_size=3)),
                "lon": st.one_of(st.floats(), st.integers(-200, 200), st.none()),
            }
        ),
        max_size=3,
    )
)
def test_generated_region_files_load_or_are_refused(tmp_path, regions):
    path = tmp_path / "regions.toml"
    lines = []
    for region in regions:
        lines.append("[[region]]")
        for key, value in region.items():
            if value is not None:
                lines.append(f"{key} = {json.dumps(value)}")
    path.write_text("\n".join(lines) + "\n")
    try:
        RegionCatalog.default().load_file(path)
    except InvalidRegion as e:
        assert str(path) in str(e) or "region" in str(e)


WORDS = [
    *("deploy", "--regions", "--region", "us-east-1,eu-west-1", "us-east-1", "eu-west-1", "x"),
    *("model_v1", "model_v2", "model.json", "--fail", "eu-west-1:deploy:1", "eu-west-1:verify"),
    *("--on-failure", "retry", "skip", "rollback", "--max-retries", "-1", "3", "99", "nan"),
    *("--seed", "--format", "json", "--tracker", "full", "--leave-out", "monitor_health"),
    *("--extra-regions", "/nonexistent.toml", "[us-east-1", "eu-west-1]", ",", "", " "),
]
COMMANDS = [
    ["deploy"],
    ["quiz", "take"],
    ["quiz", "generate"],
    ["quiz", "export", "visual", "--format"],
    ["experiment"],
    ["sweep", "regional_outage", "--vary"],
    ["regions"],
]


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(COMMANDS), st.lists(st.sampled_from(WORDS) | st.text(max_size=6), max_size=7)
)
def test_generated_command_lines_work_or_are_usage_errors(command, words):
    from click.testing import CliRunner

    if command[0] == "sweep":  # a sweep that is valid would run in worker processes
        words = [w for w in words if "=" not in w]
    result = CliRunner().invoke(main, [*command, *words], input="", prog_name="mrsandbox")
    assert result.exit_code in (0, 1, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
