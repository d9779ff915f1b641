"""The material's question sets: loaded from quizzes/, keyed by real runs, and refused with a
clear error when a set file is wrong."""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from sandbox.errors import InvalidQuiz, SandboxError
from sandbox.quiz.material import load_set, material_sets, parse_set
from sandbox.quiz.misconceptions import MISCONCEPTIONS

ROOT = Path(__file__).resolve().parent.parent
VISUAL = tomllib.loads((ROOT / "quizzes" / "visual.toml").read_text())
PRACTICE = tomllib.loads((ROOT / "quizzes" / "practice.toml").read_text())
# The lesson's Visual Quiz and Practice sections, copied verbatim from the material.
LESSON = (Path(__file__).parent / "golden" / "lesson_quizzes.txt").read_text()


def test_the_bundled_sets_are_the_materials_visual_quiz_and_practice_set():
    assert material_sets() == ["practice", "visual"]
    visual, practice = load_set("visual"), load_set("practice")
    assert (len(visual), len(practice)) == (3, 5)
    assert [q.difficulty for q in practice.questions] == [
        *("easy", "easy", "medium", "medium", "hard")
    ]
    for q in practice.questions:
        assert q.hint and q.solution and len(q.mistakes) == 3 and len(q.options) == 4


def test_the_visual_quiz_keys_a_c_b_come_out_of_a_real_run():
    assert "".join(q.key for q in load_set("visual").questions) == "ACB"


def test_the_practice_keys_agree_with_the_material():
    assert "".join(q.key for q in load_set("practice").questions) == "CABAD"


def test_a_visual_key_follows_the_run_not_the_file():
    # Ask about step 2 instead: the run says {'us-east-1': 'success'}, option B, so the
    # material's letter A no longer agrees and the set is refused, naming both letters.
    doc = copy.deepcopy(VISUAL)
    doc["questions"][0]["key"]["step"] = 2
    with pytest.raises(
        InvalidQuiz, match=r"questions\[0\]\.answer: the set says A, but .* after step 2: option B"
    ):
        parse_set(doc, "visual.toml", "visual")
    del doc["questions"][0]["answer"]
    assert parse_set(doc, "visual.toml", "visual").questions[0].key == "B"


def test_a_syntax_key_follows_the_real_parser():
    # The same options asked about us-east1 only: no option deploys to exactly that.
    doc = copy.deepcopy(PRACTICE)
    doc["questions"][1]["key"]["regions"] = ["us-east1"]
    with pytest.raises(InvalidQuiz, match=r"questions\[1\]\.key: .*, and no option fits"):
        parse_set(doc, "practice.toml", "practice")


def test_wrong_options_explain_themselves_with_the_parsers_message():
    q = load_set("practice").questions[1]
    feedback = {o.text: o.feedback for o in q.options}
    assert "not spaces" in feedback["deploy --regions us-east1 europe-west1 model_name"]
    assert "without brackets" in feedback["deploy --regions [us-east1 europe-west1] model_name"]
    assert "single region" in feedback["deploy --region us-east1 europe-west1 model_name"]


def test_each_computed_key_names_the_command_that_reproduces_it():
    visual = load_set("visual")
    assert visual.questions[0].source == "mrsandbox deploy --regions us-east-1,eu-west-1 model_v1"
    assert visual.questions[2].source.endswith("--leave-out monitor_health")
    assert load_set("practice").questions[0].source == ""  # a concept: the material's key


# The sets name the tables as the sandbox prints them (quizzes/README.md, "Differences").
RENAMED = {"the Status Tracker": "variable_tracker", "the Process Table": "the execution_table"}


def test_the_options_hints_and_mistakes_are_the_lessons_own():
    for quiz in (load_set("visual"), load_set("practice")):
        for q in quiz.questions:
            hint = q.hint.rstrip(".")
            for ours, theirs in RENAMED.items():
                hint = hint.replace(ours, theirs)
            for text in (*(o.text for o in q.options), *q.mistakes, hint):
                assert text in LESSON, text


def test_the_visual_quiz_shows_the_tables_it_asks_about():
    for q in load_set("visual").questions:
        assert q.evidence.startswith("Process Table\n")
        assert "\nStatus Tracker\n" in q.evidence
        assert "execution" not in q.hint and "variable_tracker" not in q.hint


def test_every_wrong_option_of_the_bundled_sets_names_a_known_misconception():
    for quiz in (load_set("visual"), load_set("practice")):
        for q in quiz.questions:
            for o in q.options:
                if o.correct:
                    assert o.misconception is None
                else:
                    assert o.misconception in MISCONCEPTIONS and o.misconception != "other", o


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("questions"), r"questions: no questions"),
        (lambda d: d["questions"][0].update(optoins=[]), r"questions\[0\]\.optoins: .*'options'"),
        (lambda d: d["questions"][0].update(options=["a", "b"]), r"options: expected a list"),
        (
            lambda d: d["questions"][0].update(options=["{}", "{}", "Step 1"]),
            r"option '\{\}' appears more than once",
        ),
        (lambda d: d["questions"][0].update(answer="E"), r"answer: expected one of A, B, C, D"),
        (lambda d: d["questions"][0]["key"].update(kind="guess"), r"key\.kind: expected one of"),
        (lambda d: d["questions"][0]["key"].update(step=99), r"key\.step: expected a whole"),
        (lambda d: d["questions"][0]["key"].update(variable="x"), r"key\.variable: expected one"),
        (
            lambda d: d["questions"][0]["key"].update(run="mrsandbox deploy --regions a b m"),
            r"questions\[0\]\.key\.run: .*commas",
        ),
        (
            lambda d: d["questions"][2]["key"].update(call="routing_setup"),
            r"questions\[2\]\.key\.call: leaving it out keeps 2 variables at their start value "
            r"\(routing_configured, monitoring_active\)",
        ),
        (lambda d: d["questions"][1]["key"].update(action="Dance"), r"no step 'Dance'"),
        (lambda d: d["questions"][0].update(difficulty="trivial"), r"difficulty: expected one of"),
        (lambda d: d["questions"][0].update(hint=3), r"hint: expected a string"),
        (lambda d: d["questions"][0].update(solution="one"), r"solution: expected a list"),
        (
            lambda d: d["questions"][1].update(id="deployment-status-after-step-4"),
            r"questions\[1\]\.id: .* is already the id of questions\[0\]",
        ),
        (lambda d: d["questions"][0].update(options=[1, 2, 3]), r"expected a string or a table"),
        (
            lambda d: d["questions"][0].update(options=["true", "true ", "false"]),
            r"option 'true' appears more than once",
        ),
        (lambda d: d.update(title=5), r"^mine\.toml: title: expected a non-empty string"),
    ],
)
def test_a_wrong_visual_set_is_refused_with_the_key_path(edit, message):
    doc = copy.deepcopy(VISUAL)
    edit(doc)
    with pytest.raises(InvalidQuiz, match=message) as caught:
        parse_set(doc, "mine.toml", "mine")
    assert str(caught.value).startswith("mine.toml: ")


@pytest.mark.parametrize(
    ("index", "edit", "message"),
    [
        (2, lambda q: q.pop("code"), r"questions\[0\]\.code: missing"),
        (2, lambda q: q["options"][0].update(means="all"), r"options\[0\]\.means: expected a"),
        (
            3,
            lambda q: q.update(code="deploy --regions a,b model_v1"),
            r"finds the mistake 'unknown_region' in .*, and no option fits",
        ),
        (
            3,
            lambda q: q.update(code="deploy --regions us-west1,europe-west1 model_v2"),
            r"code: .* is accepted: it has no mistake to name",
        ),
        (0, lambda q: q.pop("answer"), r"answer: missing; a material key needs"),
        (1, lambda q: q["key"].update(regions="us-east1"), r"key\.regions: expected a list"),
        (1, lambda q: q["key"].update(regions=["us-east-one"]), r"key\.regions: unknown region"),
        (
            3,
            lambda q: q["options"][1].update(means="spcaes"),
            r"options\[1\]\.means: expected a mistake's name: did you mean 'spaces'\?",
        ),
    ],
)
def test_a_wrong_practice_question_is_refused(index, edit, message):
    question = copy.deepcopy(PRACTICE["questions"][index])
    edit(question)
    with pytest.raises(InvalidQuiz, match=message):
        parse_set({"title": "t", "questions": [question]}, "mine.toml", "mine")


def test_set_files_are_read_by_path_and_bad_files_named(tmp_path):
    mine = tmp_path / "mine.toml"
    mine.write_text((ROOT / "quizzes" / "visual.toml").read_text())
    assert load_set(mine).name == "mine"
    assert load_set(str(mine)).questions == load_set("visual").questions
    with pytest.raises(InvalidQuiz, match=r"nope\.toml: no such file, and not a bundled set"):
        load_set(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("title = \n")
    with pytest.raises(InvalidQuiz, match=r"broken\.toml: invalid TOML"):
        load_set(broken)
    assert issubclass(InvalidQuiz, SandboxError)


def test_the_sets_ship_in_the_wheel(tmp_path):
    """Installed without -e, the sets still load: they are package data of sandbox.quizzes."""
    source = tmp_path / "source"  # a copy, so that the build leaves the work tree alone
    for part in ("sandbox", "quizzes", "pyproject.toml", "README.md"):
        copy = shutil.copytree if (ROOT / part).is_dir() else shutil.copy
        copy(ROOT / part, source / part)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for name in ("visual.toml", "practice.toml", "README.md", "__init__.py"):
        assert f"sandbox/quizzes/{name}" in names


def test_a_key_behind_a_placeholder_model_names_a_command_that_runs(invoke):
    q = load_set("practice").questions[1]
    assert q.source == "mrsandbox deploy --regions us-east1,europe-west1 model_v1"
    assert invoke(*q.source.split()[1:]).exit_code == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("\ufefftitle = 'BOM'\n", None),  # a byte-order mark, as Notepad writes, is fine
        ("title = 'caf\xe9'\n".encode("latin-1"), r"not UTF-8 text .*save it as UTF-8"),
    ],
)
def test_set_file_encodings(tmp_path, content, message):
    path = tmp_path / "enc.toml"
    if isinstance(content, str):
        visual = (ROOT / "quizzes" / "visual.toml").read_text()
        path.write_text(
            visual.replace('title = "Visual Quiz"\n', content.removeprefix("\ufeff"), 1)
        )
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
        assert load_set(path).title == "BOM"
    else:
        path.write_bytes(content)
        with pytest.raises(InvalidQuiz, match=message):
            load_set(path)


def test_a_pipe_a_device_or_a_huge_file_is_not_read(tmp_path):
    import os

    pipe = tmp_path / "set.toml"
    os.mkfifo(pipe)
    with pytest.raises(InvalidQuiz, match="not a regular file"):
        load_set(pipe)
    with pytest.raises(InvalidQuiz, match="/dev/zero: not a regular file"):
        load_set("/dev/zero")
    huge = tmp_path / "huge.toml"
    huge.write_text("# " + "x" * (2 * 1024 * 1024))
    with pytest.raises(InvalidQuiz, match="larger than 1048576 bytes"):
        load_set(huge)


def test_a_folder_or_an_empty_name_is_not_a_set(tmp_path):
    with pytest.raises(InvalidQuiz, match=r"is a folder; name a \.toml file"):
        load_set(tmp_path)
    with pytest.raises(InvalidQuiz, match=r"the name is empty"):
        load_set("")
