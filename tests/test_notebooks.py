"""The Jupyter lessons: each runs top to bottom in a fresh kernel; all are committed clean.

Notebooks are committed without outputs, so that diffs stay readable and every number on a
lesson's page is recomputed by the code above it whenever the lesson runs. Each lesson runs once
per test session as a student first opens it (`run_lesson`), and once with every exercise
answered by its hidden solution; tests/test_notebooks_html.py exports the executed notebooks.

An exercise is three kinds of tagged cell: `answer`, the code cell a student edits; `check`, a code
cell after it whose output is a `sandbox.course` verdict computed from the run; and `solution`,
the markdown cell after the answer holding the solution's code, folded in `<details>`.
"""

from __future__ import annotations

import ast
import fcntl
import os
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from sandbox.quiz.review import REVIEW, lesson_of

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"
LESSONS = sorted(NOTEBOOKS.glob("*.ipynb"))
NAME = re.compile(r"(\d{2})_[a-z0-9]+(?:_[a-z0-9]+)*\.ipynb")
TIMEOUT_S = 120  # per cell
SCREEN_LINES = 25  # the most a code cell may hold
EXERCISES = 2  # the fewest a lesson may hold
SOLUTION = re.compile(r"<details>\s*<summary>Solution</summary>.*?```python\n(.*?)```", re.S)
# What a cell may import besides the standard library: the package's promised names.
OUTSIDE = {"IPython"}


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


def tagged(cell: nbformat.NotebookNode, tag: str) -> bool:
    return tag in cell.get("metadata", {}).get("tags", [])


def exercises(nb: nbformat.NotebookNode) -> list[tuple[int, int, list[int]]]:
    """Each exercise as (its answer cell, its solution cell, its check cells), in order."""
    found = []
    for n, cell in enumerate(nb.cells):
        if tagged(cell, "answer"):
            found.append((n, -1, []))
        elif found and tagged(cell, "solution") and found[-1][1] == -1:
            found[-1] = (found[-1][0], n, found[-1][2])
        elif found and tagged(cell, "check"):
            found[-1][2].append(n)
    return found


def solved(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """`nb` with each answer cell holding its solution's code."""
    nb = nbformat.from_dict(nb)
    for answer, solution, _ in exercises(nb):
        nb.cells[answer].source = SOLUTION.search(nb.cells[solution].source).group(1)
    return nb


def run_lesson(
    path: Path, tmp_path_factory: pytest.TempPathFactory, *, answered: bool = False
) -> nbformat.NotebookNode:
    """Lesson `path` executed top to bottom in a fresh kernel, without the widgets' state (as
    JupyterLab saves a notebook), as committed or with every exercise `answered` by its solution,
    once per test session: the first test to ask runs it and keeps the result where every
    pytest-xdist worker finds it; another asking meanwhile waits on the lock. A failing cell
    raises CellExecutionError with that cell's error."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the session's directory, above each worker's own
    kept = shared / "lessons" / (f"solved-{path.name}" if answered else path.name)
    kept.parent.mkdir(exist_ok=True)
    with open(kept.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if kept.exists():
            return nbformat.read(kept, as_version=4)
        nb = nbformat.read(path, as_version=4)
        nb = solved(nb) if answered else nb
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


def verdicts(nb: nbformat.NotebookNode, cells: list[int]) -> list[str]:
    """The text each check cell in `cells` showed, one per cell."""
    shown = []
    for n in cells:
        texts = [
            "".join(o.get("data", {}).get("text/plain", ""))
            for o in nb.cells[n].outputs
            if o.output_type in ("execute_result", "display_data")
        ]
        assert len(texts) == 1, f"check cell {n} should show one verdict, showed {texts}"
        shown.append(texts[0])
    return shown


@pytest.mark.parametrize("path", LESSONS, ids=lesson_id)
def test_every_lesson_has_exercises_with_checks_and_folded_solutions(path):
    nb = nbformat.read(path, as_version=4)
    found = exercises(nb)
    assert len(found) >= EXERCISES, f"{path.name}: {len(found)} exercises, at least {EXERCISES}"
    for answer, solution, checks in found:
        where = f"{path.name}, the exercise at cell {answer}"
        assert nb.cells[answer].cell_type == "code", where
        assert solution > answer and nb.cells[solution].cell_type == "markdown", where
        assert SOLUTION.search(nb.cells[solution].source), f"{where}: no folded ```python block"
        assert checks and all(nb.cells[n].cell_type == "code" for n in checks), where


@pytest.mark.parametrize("path", LESSONS, ids=lesson_id)
def test_a_lesson_as_opened_asks_for_each_prediction(path, tmp_path_factory):
    nb = run_lesson(path, tmp_path_factory)
    checks = [n for _, _, cells in exercises(nb) for n in cells]
    for n, text in zip(checks, verdicts(nb, checks), strict=True):
        assert text.startswith("Not answered: "), f"{path.name}, cell {n}: {text}"


@pytest.mark.parametrize("path", LESSONS, ids=lesson_id)
def test_each_solution_passes_the_check_of_its_own_run(path, tmp_path_factory):
    nb = run_lesson(path, tmp_path_factory, answered=True)
    checks = [n for _, _, cells in exercises(nb) for n in cells]
    for n, text in zip(checks, verdicts(nb, checks), strict=True):
        assert text.startswith("Right: "), f"{path.name}, cell {n}: {text}"


def cell_imports(source: str) -> list[tuple[str, str | None]]:
    """(module, name) of each import in a cell; name None for `import module`."""
    found: list[tuple[str, str | None]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found += [(node.module or "", alias.name) for alias in node.names]
    return found


@pytest.mark.parametrize("path", LESSONS, ids=lesson_id)
def test_cells_fit_a_screen_and_use_the_promised_api(path):
    nb = nbformat.read(path, as_version=4)
    for n, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        where = f"{path.name}, cell {n}"
        lines = cell.source.splitlines()
        assert len(lines) <= SCREEN_LINES, f"{where}: {len(lines)} lines, at most {SCREEN_LINES}"
        for module, name in cell_imports(cell.source):
            top = module.split(".")[0]
            if top == "sandbox":
                promised = getattr(__import__(module, fromlist=["__all__"]), "__all__", [])
                assert name in promised, f"{where}: {module}.{name} is not in its __all__"
            else:
                assert top in sys.stdlib_module_names or top in OUTSIDE, f"{where}: {module}"
        private = [
            node.attr
            for node in ast.walk(ast.parse(cell.source))
            if isinstance(node, ast.Attribute) and node.attr.startswith("_")
        ]
        assert not private, f"{where}: reaches into {private}"


def test_each_quiz_kind_sends_a_student_to_a_section_of_a_lesson():
    for kind, where in REVIEW.items():
        if not where.startswith("notebooks/"):
            continue
        name, section = lesson_of(kind).removeprefix("notebooks/"), where.split(": ", 1)[1]
        assert (NOTEBOOKS / name).is_file(), f"REVIEW[{kind!r}] names {name}: no such lesson"
        headings = [
            line.lstrip("#").strip().casefold()
            for cell in nbformat.read(NOTEBOOKS / name, as_version=4).cells
            if cell.cell_type == "markdown"
            for line in cell.source.splitlines()
            if line.startswith("#")
        ]
        assert any(section.casefold() in heading for heading in headings), (
            f"REVIEW[{kind!r}]: no heading of {name} reads {section!r}"
        )
