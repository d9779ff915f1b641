"""The README's examples run as shown."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

README = (Path(__file__).parent.parent / "README.md").read_text()
COMMANDS = re.findall(r"^\$ (mrsandbox .*)$", README, flags=re.MULTILINE)


def test_readme_has_examples():
    assert len(COMMANDS) >= 5


@pytest.mark.parametrize("line", COMMANDS)
def test_readme_command(invoke, line, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # files the examples write (--out) land here
    command, _, comment = line.partition("#")
    expected = re.search(r"exit (\d)", comment)
    result = invoke(*shlex.split(command)[1:])
    assert result.exit_code == (int(expected.group(1)) if expected else 0), result.output
    assert "Traceback" not in result.output


def test_readme_quotes_the_estimate_check_as_it_runs(invoke):
    block = README.split("$ mrsandbox regions --check-estimate\n", 1)[1].split("```", 1)[0]
    quoted = block.strip().splitlines()
    printed = invoke("regions", "--check-estimate").output.splitlines()
    assert quoted[0] == printed[0]
    assert quoted[-1] == printed[-1]
    mean = printed[-1].split()[-1]
    assert f"off by {mean} on average" in " ".join(README.split())  # the prose quotes it too


PYTHON = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)


def test_readme_python_examples():
    assert len(PYTHON) == 5
    scope: dict[str, object] = {}
    exec(PYTHON[0], scope)  # the README's own example, as a reader would paste it
    d = scope["d"]
    assert d.outcome == "complete"
    assert d.route("eu-west-2") == "eu-west-1"
    live: dict[str, object] = {}
    exec(PYTHON[1], live)
    assert live["d"].health() == {"us-east-1": "healthy", "eu-west-1": "unhealthy"}
    assert live["d"].trace.transitions[0].state == "unhealthy"


def test_readme_tritonclient_example(capsys):
    from sandbox import run_deployment
    from sandbox.core.models import load_model
    from sandbox.live import LiveFleet

    with LiveFleet(["eu-west-1"], time_scale=0.02) as fleet:
        run_deployment(["eu-west-1"], "model_v1", backend=fleet)
        exec(PYTHON[2], {"GATEWAY": fleet.gateway_url})
    rows = [[12, 70, 1], [36, 75.5, 2]]  # exactly float32 values
    expected = load_model("model_v1").predict(rows)
    printed = capsys.readouterr().out.strip("[]\n").split()
    assert [float(p) for p in printed] == pytest.approx(expected, rel=1e-6)


def test_readme_dask_sweep_example(capsys):
    scope: dict[str, object] = {"__name__": "__main__"}
    exec(PYTHON[3], scope)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 6
    detection = {tuple(line.split()[:2]): float(line.split()[2]) for line in lines}
    assert detection[("30", "3")] > detection[("10", "3")] > detection[("5", "3")]


def test_readme_quiz_example(capsys):
    scope: dict[str, object] = {}
    exec(PYTHON[4], scope)  # outside a notebook, IPython's display prints what it would show
    assert "IPython.core.display" in capsys.readouterr().out
    widget = scope["QuizWidget"](scope["load_set"]("visual"))
    assert [q.question.key for q in widget.questions] == ["A", "C", "B"]


def test_readme_figures_are_there_and_drawn_by_the_script(tmp_path):
    """Each image the README shows exists and is one `scripts/make_figures.py` writes."""
    import re
    import subprocess
    import sys

    shown = re.findall(r"!\[[^\]]+\]\((docs/figures/[^)]+\.png)\)", README)
    assert len(shown) == 5
    root = Path(__file__).parent.parent
    subprocess.run(
        [sys.executable, str(root / "scripts" / "make_figures.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    for path in shown:
        assert (root / path).is_file(), path
        assert (tmp_path / Path(path).name).is_file(), path
