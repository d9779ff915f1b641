"""The Jupyter lessons: each runs top to bottom in a fresh kernel; all are committed clean.

Notebooks are committed without outputs, so that diffs stay readable and every number on a
lesson's page is recomputed by the code above it whenever the lesson runs. Each lesson runs once
per test session (`run_lesson`); tests/test_notebooks_html.py exports the executed notebooks.
"""

from __future__ import annotations

import fcntl
import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"
LESSONS = sorted(NOTEBOOKS.glob("*.ipynb"))
NAME = re.compile(r"(\d{2})_[a-z0-9]+(?:_[a-z0-9]+)*\.ipynb")
TIMEOUT_S = 120  # per cell


def lesson_id(path: Path) -> str:
    return path.stem


def test_there_are_lessons():
    assert LESSONS, f"no notebooks in {NOTEBOOKS}"


def test_lessons_are_numbered_without_gaps():
    names = [path.name for path in LESSONS]
    badly_named = [name for name in names if not NAME.fullmatch(name)]
    assert not badly_named, f"name lessons NN_name.ipynb (e.g. 05_canary.ipynb): {badly_named}"
    numbers = [int(name[:2]) for name in names]
    assert numbers == list(range(1, len(names) + 1)), f"numbers from 01 without gaps: {names}"


@pytest.mark.parametrize("path", LESSONS, ids=lesson_id)
def test_lesson_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    dirty = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, (
        f"cells {dirty} of {path.name} have outputs or execution counts; clear them "
        f"(jupyter nbconvert --clear-output --inplace notebooks/{path.name})"
    )


def run_lesson(path: Path, tmp_path_factory: pytest.TempPathFactory) -> nbformat.NotebookNode:
    """Lesson `path` executed top to bottom in a fresh kernel, without the widgets' state (as
    JupyterLab saves a notebook), once per test session: the first test to ask runs it and keeps
    the result where every pytest-xdist worker finds it; another asking meanwhile waits on the
    lock. A failing cell raises CellExecutionError with that cell's error."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the session's directory, above each worker's own
    kept = shared / "lessons" / path.name
    kept.parent.mkdir(exist_ok=True)
    with open(kept.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if kept.exists():
            return nbformat.read(kept, as_version=4)
        nb = nbformat.read(path, as_version=4)
        NotebookClient(
            nb,
            timeout=TIMEOUT_S,
            kernel_name="python3",
            store_widget_state=False,
            resources={"metadata": {"path": str(NOTEBOOKS)}},
        ).execute()
        nbformat.write(nb, kept)
        return nb


@pytest.mark.parametrize("path", LESSONS, ids=lesson_id)
def test_lesson_runs(path, tmp_path_factory):
    run_lesson(path, tmp_path_factory)
