"""Chaos Toolkit: `mrsandbox experiment --journal-format chaostoolkit` checked against chaoslib,
and the bundled experiment run by the real `chaos` CLI against `mrsandbox serve`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tomllib
from datetime import UTC, datetime
from fnmatch import fnmatch
from pathlib import Path

import pytest
import requests
from chaoslib.experiment import ensure_experiment_is_valid, run_experiment
from chaoslib.hypothesis import within_tolerance

from tests.support import Serve, interruptible, serves

BIN = Path(sys.executable).parent
CHAOS = str(BIN / "chaos")
ROOT = Path(__file__).resolve().parent.parent
# Probes every 0.3 wall seconds, a region out after 3 failed ones: the pause of 3 s leaves room.
FAST = ["--time-scale", "0.05", "--health-interval", "6", "--health-timeout", "4"]
WAIT_S = "3"
RUN = [CHAOS, "--no-log-file", "run", "--rollback-strategy", "always", "--journal-path"]


def chaoslib_journal() -> dict:
    """A journal chaoslib itself writes, of a one-probe, one-action experiment."""
    probe = {"type": "python", "module": "os.path", "func": "isdir", "arguments": {"s": "."}}
    return run_experiment(
        {
            "title": "t",
            "description": "d",
            "steady-state-hypothesis": {
                "title": "h",
                "probes": [{"type": "probe", "name": "p", "tolerance": True, "provider": probe}],
            },
            "method": [{"type": "action", "name": "a", "provider": probe}],
            "rollbacks": [],
        }
    )


def journals(invoke, tmp_path: Path, scenario: str) -> tuple[dict, dict]:
    """The sandbox's journal and Chaos Toolkit's of the same run, as `--out` writes them."""
    found = []
    for shape in ("sandbox", "chaostoolkit"):
        out = tmp_path / shape
        result = invoke("experiment", scenario, "--out", str(out), "--journal-format", shape)
        assert result.exit_code in (0, 1), result.output
        found.append(json.loads((out / "journal.json").read_text()))
    return found[0], found[1]


def at(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


@pytest.mark.parametrize("scenario", ["regional_outage", "flaky_region_no_retries"])
def test_the_journal_has_chaoslibs_shape_and_the_sandboxs_verdicts(
    invoke, tmp_path, monkeypatch, scenario
):
    own, ctk = journals(invoke, tmp_path, scenario)
    real = chaoslib_journal()
    assert ctk.keys() == real.keys()
    assert ctk["status"] == own["status"] == "completed" and ctk["deviated"] == own["deviated"]
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ['PATH']}")  # mrsandbox installed
    ensure_experiment_is_valid(ctk["experiment"])
    assert ctk["experiment"]["extensions"][0]["scenario"] == own["scenario"]
    probe_keys, run_keys = (
        real["steady_states"]["before"]["probes"][0].keys(),
        real["run"][0].keys(),
    )
    states = ctk["steady_states"]
    assert isinstance(states["during"], list) and len(states["during"]) == 1
    phases = {"before": states["before"], "during": states["during"][0], "after": states["after"]}
    for phase, state in phases.items():
        checks = own["steady_states"][phase]
        assert state["steady_state_met"] == checks["held"]
        assert len(state["probes"]) == len(checks["probes"]) == 2
        for run, check in zip(state["probes"], checks["probes"], strict=True):
            assert run.keys() == probe_keys
            assert run["output"] == check["value"] and run["tolerance_met"] == check["held"]
            # chaoslib's own tolerance check agrees with the sandbox's verdict
            assert within_tolerance(run["activity"]["tolerance"], run["output"]) is check["held"]
            assert at(run["end"]) - at(run["start"]) == pytest.approx(run["duration"])
    verdicts = [p["tolerance_met"] for state in phases.values() for p in state["probes"]]
    assert (False in verdicts) == own["deviated"]
    faults = own["summary"]["per_fault"]
    assert [r["output"] for r in ctk["run"]] == faults and len(faults) == 1
    assert [r.keys() for r in ctk["run"]] == [run_keys]
    assert at(ctk["run"][0]["start"]) - at(ctk["start"]) == faults[0]["start_s"]
    assert ctk["start"] == "1970-01-01T00:00:00+00:00"  # sim: emulated seconds from the epoch
    assert at(ctk["end"]) - at(ctk["start"]) == ctk["duration"] == own["scenario"]["duration_s"]
    assert ctk["rollbacks"] == [] == ctk["experiment"]["rollbacks"]


LIVE = """
name = "live"
mode = "live"
duration_s = 20
time_scale = 0.02
[deployment]
regions = ["us-east-1", "eu-west-1"]
[[clients]]
region = "eu-west-1"
rate_per_s = 2
[[faults]]
region = "eu-west-1"
kind = "outage"
start_s = 5
duration_s = 5
[steady_state]
max_error_rate = 1
"""


def test_a_live_run_is_placed_at_the_wall_clock_time_its_users_started(invoke, tmp_path):
    path = tmp_path / "live.toml"
    path.write_text(LIVE)
    before = datetime.now(UTC).timestamp()
    result = invoke("experiment", str(path), "--journal-format", "chaostoolkit", "--format", "json")
    after = datetime.now(UTC).timestamp()
    assert result.exit_code == 0, result.output
    ctk = json.loads(result.stdout)  # a loaded machine may add a warning on stderr
    assert before < at(ctk["start"]) < after
    assert (
        at(ctk["end"]) - at(ctk["start"]) == pytest.approx(ctk["duration"])
        and ctk["duration"] >= 20
    )
    [fault] = ctk["run"]
    assert at(fault["start"]) - at(ctk["start"]) == pytest.approx(5) and fault["duration"] == 5
    assert ctk["experiment"]["tags"] == ["mrsandbox", "live"]


def test_the_same_seed_gives_the_same_bytes_and_the_default_is_unchanged(invoke, tmp_path):
    def run(*args: str) -> str:
        result = invoke("experiment", "regional_outage", "--format", "json", *args)
        assert result.exit_code == 0, result.output
        return result.output

    first = run("--journal-format", "chaostoolkit")
    assert first == run("--journal-format", "chaostoolkit")
    default = run()
    assert default == run("--journal-format", "sandbox") != first
    assert "steady_states" in json.loads(default) and "chaoslib-version" not in default


def test_an_aborted_run_and_a_scenario_without_hypothesis(invoke, tmp_path):
    aborted = tmp_path / "aborted.toml"
    aborted.write_text(
        'name = "a"\nduration_s = 10\n[deployment]\nregions = ["eu-west-1"]\non_failure = "stop"\n'
        'failures = ["eu-west-1:deploy"]\n[[clients]]\nregion = "eu-west-1"\nrate_per_s = 1\n'
    )
    result = invoke(
        "experiment", str(aborted), "--journal-format", "chaostoolkit", "--format", "json"
    )
    assert result.exit_code == 1
    ctk = json.loads(result.output)
    assert ctk["status"] == "aborted" and ctk["deviated"] is True
    # as chaoslib does for an experiment without a hypothesis
    assert ctk["steady_states"] == {"before": None, "after": None, "during": []}
    assert "steady-state-hypothesis" not in ctk["experiment"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--journal-format", "xml", "--format", "json"],
            "'xml' is not one of 'sandbox', 'chaostoolkit'",
        ),
        (["--journal-format", "chaostoolkit"], "add --out DIR or --format json"),
    ],
)
def test_bad_journal_format_usage(invoke, args, message):
    result = invoke("experiment", "regional_outage", *args)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_the_bundled_experiment_is_found_and_installed(invoke):
    path = Path(invoke("experiment", "--chaostoolkit-experiment").output.strip())
    assert path.is_file() and path.suffix == ".json"
    relative = path.relative_to(ROOT / "sandbox").as_posix()
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert any(fnmatch(relative, glob) for glob in data["package-data"]["sandbox"])


class Fleet(Serve):
    """`mrsandbox serve` for Chaos Toolkit, stopped by Ctrl-C as a user would."""

    def __init__(self) -> None:
        super().__init__("--regions", "us-east-1,eu-west-1", *FAST, preexec_fn=interruptible)

    def env(self, region: str) -> dict[str, str]:
        return os.environ | {
            "MRSANDBOX_GATEWAY": self.ready["gateway"],
            "MRSANDBOX_REGION_URL": self.ready["regions"][region],
            "MRSANDBOX_CLIENT_REGION": region,
            "MRSANDBOX_ADMIN_TOKEN": self.ready["admin_token"],
            "MRSANDBOX_FAILOVER_WAIT_S": WAIT_S,
        }

    def faults(self, region: str) -> list:
        answer = requests.get(
            f"{self.ready['regions'][region]}/admin/faults",
            headers={"Authorization": f"Bearer {self.ready['admin_token']}"},
            timeout=5,
        )
        assert answer.status_code == 200
        return answer.json()["faults"]

    def stop(self) -> None:
        """Ctrl-C, as a user stops it: it exits 0 and no server of it answers any more."""
        self.process.send_signal(signal.SIGINT)
        assert self.process.wait(timeout=15) == 0, self.process.stderr.read()
        urls = [self.ready["gateway"], *self.ready["regions"].values()]
        assert not any(serves(url) for url in urls)


@pytest.fixture
def fleet():
    started = Fleet()
    yield started
    started.kill()


def chaos_run(experiment: Path, journal: Path, env: dict[str, str]) -> tuple[int, dict]:
    done = subprocess.run(
        [*RUN, str(journal), str(experiment)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert journal.exists(), done.stdout + done.stderr
    return done.returncode, json.loads(journal.read_text())


def test_chaos_run_of_the_bundled_experiment_against_serve(invoke, fleet, tmp_path):
    bundled = Path(invoke("experiment", "--chaostoolkit-experiment").output.strip())
    code, journal = chaos_run(bundled, tmp_path / "journal.json", fleet.env("eu-west-1"))
    assert code == 0 and journal["status"] == "completed" and journal["deviated"] is False
    for state in (journal["steady_states"]["before"], journal["steady_states"]["after"]):
        assert state["steady_state_met"] is True
        assert [p["output"]["status"] for p in state["probes"]] == [200, 200, 200]
    inject, health, prediction = (r["output"] for r in journal["run"])
    assert inject["status"] == 200 and inject["body"]["faults"][0]["kind"] == "outage"
    # the health probes noticed, and the gateway answered from the other region
    assert health["status"] == 200 and "eu-west-1" not in health["body"]["healthy_regions"]
    assert prediction["status"] == 200 and prediction["headers"]["X-Served-By"] == "us-east-1"
    [rollback] = journal["rollbacks"]
    assert rollback["status"] == "succeeded" and rollback["output"]["body"] == {"faults": []}
    assert fleet.faults("eu-west-1") == [] and fleet.faults("us-east-1") == []
    fleet.stop()


def test_chaos_run_deviates_when_every_region_is_out(invoke, fleet, tmp_path):
    """A copy of the bundled experiment that takes both regions out: the gateway has none left."""
    bundled = Path(invoke("experiment", "--chaostoolkit-experiment").output.strip())
    experiment = json.loads(bundled.read_text())
    experiment["configuration"]["other_url"] = {"type": "env", "key": "OTHER_REGION_URL"}
    for activities in (experiment["method"], experiment["rollbacks"]):
        twin = json.loads(json.dumps(activities[0]).replace("${region_url}", "${other_url}"))
        activities.insert(1, twin | {"name": f"{twin['name']}-too"})
    del experiment["method"][0]["pauses"]  # the twin pauses, once both regions are out
    variant = tmp_path / "every_region_out.json"
    variant.write_text(json.dumps(experiment))
    env = fleet.env("eu-west-1") | {"OTHER_REGION_URL": fleet.ready["regions"]["us-east-1"]}
    code, journal = chaos_run(variant, tmp_path / "journal.json", env)
    assert code == 1 and journal["status"] == "completed" and journal["deviated"] is True
    after = journal["steady_states"]["after"]
    gateway = after["probes"][1]  # the admin API (probe 0) still answers
    assert after["steady_state_met"] is False and gateway["tolerance_met"] is False
    assert gateway["output"]["status"] == 503
    assert len(journal["rollbacks"]) == 2
    assert fleet.faults("eu-west-1") == [] and fleet.faults("us-east-1") == []
    fleet.stop()


@pytest.mark.parametrize(
    ("wrong", "probe", "status"),
    [
        ({"MRSANDBOX_ADMIN_TOKEN": "nope"}, 0, 401),  # the fault could not be injected
        ({"MRSANDBOX_REGION_URL": "http://127.0.0.1:1"}, 0, None),  # nor there
        ({"MRSANDBOX_MODEL": "model_v2"}, 2, 404),  # the fleet serves model_v1
    ],
)
def test_chaos_run_stops_before_the_method_when_its_settings_are_wrong(
    invoke, fleet, tmp_path, wrong, probe, status
):
    bundled = Path(invoke("experiment", "--chaostoolkit-experiment").output.strip())
    _, journal = chaos_run(bundled, tmp_path / "journal.json", fleet.env("eu-west-1") | wrong)
    # chaoslib's exit status and status differ by the probe's failure (it could not run: failed;
    # it ran out of tolerance: completed, exit 0); the method never runs in either case
    assert journal["run"] == [] and journal["steady_states"]["after"] is None
    before = journal["steady_states"]["before"]
    assert before["steady_state_met"] is False
    if status is not None:
        assert before["probes"][probe]["output"]["status"] == status
    assert fleet.faults("eu-west-1") == []
    fleet.stop()
