"""`mrsandbox quiz` as a user types it: take (answers on stdin), generate, export, list."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from sandbox.quiz.export import FORMATS
from sandbox.quiz.material import load_set

ROOT = Path(__file__).resolve().parent.parent


def mrsandbox(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sandbox", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_take_reads_answers_from_stdin_and_scores():
    done = mrsandbox("quiz", "take", "visual", stdin="A\nc\nB\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("Correct.") == 3
    assert done.stdout.rstrip().endswith("Score: 3/3 (medium 3/3)")
    assert "Verdict" not in done.stdout  # only the lesson's test gives one
    assert "Traceback" not in done.stderr


def test_take_shows_the_key_the_hint_and_why_when_wrong():
    done = mrsandbox("quiz", "take", "visual", stdin="B\nA\nA\n")
    assert done.returncode == 0
    assert "Not quite: the answer is A. {'us-east-1': 'success', 'eu-west-1': 'success'}" in (
        done.stdout
    )
    assert "Hint: Check the 'deployment_status' variable" in done.stdout
    assert "Score: 0/3" in done.stdout


def test_take_reasks_after_an_invalid_answer_and_stops_at_the_end_of_input():
    done = mrsandbox("quiz", "take", "visual", stdin="E\n\nA\n")
    assert "Answer with one of A, B, C, D." in done.stdout
    assert "Input ended after 1 of 3 questions." in done.stdout
    assert done.returncode == 1


def test_take_a_generated_variant_per_student():
    answers = "A\n10\n" * 3  # a letter, or a number where a number is asked
    first = mrsandbox("quiz", "take", "--student", "ada", "--count", "3", stdin=answers)
    again = mrsandbox("quiz", "take", "--student", "ada", "--count", "3", stdin=answers)
    other = mrsandbox("quiz", "take", "--student", "alan", "--count", "3", stdin=answers)
    assert first.returncode == 0, first.stderr
    assert first.stdout == again.stdout != other.stdout
    assert "Question 3 of 3" in first.stdout


def test_a_seed_shuffles_a_material_set_the_same_way_every_time():
    plain = mrsandbox("quiz", "take", "practice", stdin="")
    seeded = [mrsandbox("quiz", "take", "practice", "--seed", "4", stdin="") for _ in range(2)]
    assert seeded[0].stdout == seeded[1].stdout != plain.stdout


def test_generate_prints_jupyterquiz_json_with_the_source_of_each_key():
    done = mrsandbox("quiz", "generate", "--seed", "3", "--count", "6", "--format", "json")
    assert done.returncode == 0, done.stderr
    questions = json.loads(done.stdout)
    assert len(questions) == 6
    assert done.stdout == mrsandbox("quiz", "generate", "--seed", "3", "--count", "6").stdout
    for q in questions:
        assert q["type"] in ("multiple_choice", "numeric")
        assert q["source"].startswith("mrsandbox ")
        if q["type"] == "multiple_choice":
            assert sum(a["correct"] for a in q["answers"]) == 1
            assert all({"answer", "correct", "feedback"} <= set(a) for a in q["answers"])
        else:
            (right,) = [a for a in q["answers"] if a.get("correct")]
            low, high = right["range"]
            assert low < high and "precision" in q


def test_generate_from_a_scenario_uses_its_regions():
    done = mrsandbox("quiz", "generate", "--scenario", "latency_spike", "--count", "4")
    assert done.returncode == 0, done.stderr
    regions = ("us-east-1", "eu-west-1")
    codes = [q.get("code", "") for q in json.loads(done.stdout)]
    assert any(all(r in code for r in regions) for code in codes)


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_writes_each_format(tmp_path, fmt):
    done = mrsandbox("quiz", "export", "practice", "--format", fmt, "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    written = [Path(line) for line in done.stdout.splitlines()]
    assert written and all(p.exists() and p.parent == tmp_path for p in written)
    if fmt == "qti":
        assert zipfile.is_zipfile(written[0])
    if fmt == "jupyterquiz":
        assert json.loads(written[0].read_text()) == load_set("practice").to_jupyterquiz()
    if fmt == "markdown":
        assert sorted(p.name for p in written) == ["practice.md", "practice_key.md"]


def test_list_names_the_sets():
    done = mrsandbox("quiz", "list")
    assert done.returncode == 0
    names = [line.split()[0] for line in done.stdout.splitlines()]
    assert names == ["practice", "visual", "generated", "test"]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["take", "nosuch"], "nosuch: no such file, and not a bundled set (practice, visual)"),
        (["take", "visual", "--count", "3"], "--count applies to the generated and test sets"),
        (["take", "test", "--count", "3"], "the lesson's test always has 10 questions"),
        (["take", "--student", "ada", "--student", "bo"], "--student is given 2 times"),
        (["generate", "--student", "a", "--student", "b"], "give --student once"),
        (["generate", "visual"], "'visual' is not one of 'generated', 'test'"),
        (["export", "test", "--format", "gift", "--student", "a", "--students", "x"], "not both"),
        (
            ["export", "test", "--format", "gift", "--student", "ada", "--student", " ADA "],
            "--student #2: 'ADA' is the same student as 'ada' (--student #1)",
        ),
        (
            [
                "export",
                "test",
                "--format",
                "gift",
                "--student",
                "a",
                "--student",
                "b",
                "--seed",
                "1",
            ],
            "seeded by their id",
        ),
        (
            ["export", "test", "--format", "gift", "--students", "/nonexistent/roster.txt"],
            "cannot read /nonexistent/roster.txt: No such file or directory",
        ),
        (["take", "--seed", "1", "--student", "ada"], "give --seed or --student, not both"),
        (["take", "--student", " "], "the student id is empty"),
        (["take", "--seed", "-1"], "-1 is not in the range x>=0"),
        (["generate", "--count", "0"], "0 is not in the range 1<=x<=100"),
        (["generate", "--format", "yaml"], "'yaml' is not 'json'"),
        (["generate", "--scenario", "nosuch"], "not a bundled scenario"),
        (["export", "visual"], "Missing option '--format'"),
        (["export", "visual", "--format", "pdf"], "'pdf' is not one of"),
        (["export", "visual", "--format", "gift", "--out", ""], "'--out': is empty"),
        (["export", "visual", "--format", "gift", "--out", "/dev/null"], "is not a folder"),
        (["export", "visual", "--format", "gift", "--out", "/proc"], "cannot write /proc/"),
        (["generate", "--scenario", ""], "the name is empty"),
        (["take", ""], "the name is empty"),
        (["take", "."], ".: is a folder; name a .toml file"),
    ],
)
def test_bad_input_is_a_usage_error_that_says_what_to_do(args, says):
    done = mrsandbox("quiz", *args)
    assert done.returncode == 2
    assert says in done.stderr
    assert "Traceback" not in done.stderr


def test_export_into_a_file_is_refused_and_changes_nothing(tmp_path):
    target = tmp_path / "taken"
    target.write_text("keep me")
    done = mrsandbox("quiz", "export", "visual", "--format", "gift", "--out", str(target))
    assert done.returncode == 2 and "--out" in done.stderr
    assert target.read_text() == "keep me"


def test_a_broken_set_file_is_named_with_its_key_path(tmp_path):
    mine = tmp_path / "mine.toml"
    mine.write_text('title = "Mine"\n[[questions]]\nid = "q"\ntext = "?"\noptions = ["a", "b"]\n')
    done = mrsandbox("quiz", "take", str(mine))
    assert done.returncode == 2
    assert "mine.toml: questions[0].options: expected a list of 3 to 8 options" in done.stderr


def test_an_undecodable_student_id_still_seeds_a_quiz():
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sandbox",
            "quiz",
            "generate",
            "--student",
            b"\xff\xfe",
            "--count",
            "2",
        ],
        capture_output=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)) == 2


def test_variants_export_under_names_of_their_own(tmp_path):
    for args in (["--seed", "3"], ["--student", "Ada Lovelace"]):
        done = mrsandbox(
            "quiz", "export", "visual", "--format", "markdown", "--out", str(tmp_path), *args
        )
        assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "visual-ada-lovelace.md",
        "visual-ada-lovelace_key.md",
        "visual-seed3.md",
        "visual-seed3_key.md",
    ]
    assert "for Ada Lovelace" in (tmp_path / "visual-ada-lovelace.md").read_text()


def test_take_the_lessons_test_ends_with_scores_per_difficulty_and_a_verdict():
    done = mrsandbox("quiz", "take", "test", "--student", "ada", stdin="A\n1\n" * 10)
    assert done.returncode == 0, done.stderr
    levels = [
        line.split("(")[1].split(")")[0]
        for line in done.stdout.splitlines()
        if line.startswith("Question ")
    ]
    assert len(levels) == 10 and levels == sorted(levels, key=["easy", "medium", "hard"].index)
    assert all(levels.count(level) >= 3 for level in ("easy", "medium", "hard"))
    score = next(line for line in done.stdout.splitlines() if line.startswith("Score: "))
    assert "easy " in score and "medium " in score and "hard " in score
    assert "\nVerdict: " in done.stdout


def test_generate_test_prints_the_same_ten_questions_take_asks():
    done = mrsandbox("quiz", "generate", "test", "--seed", "5")
    assert done.returncode == 0, done.stderr
    questions = json.loads(done.stdout)
    taken = mrsandbox("quiz", "take", "test", "--seed", "5", stdin="")
    assert len(questions) == 10
    assert questions[0]["question"] in taken.stdout  # the first question is asked before input ends
    assert [q["difficulty"] for q in questions] == sorted(
        (q["difficulty"] for q in questions), key=["easy", "medium", "hard"].index
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_a_roster_writes_one_bank_and_one_key(tmp_path, fmt):
    roster = tmp_path / "period 3.txt"
    roster.write_text("# third period\nAda\n\n  Alan Turing  \n")
    out = tmp_path / "out"
    done = mrsandbox(
        "quiz", "export", "test", "--students", str(roster), "--format", fmt, "--out", str(out)
    )
    assert done.returncode == 0, done.stderr
    written = sorted(Path(line).name for line in done.stdout.splitlines())
    banks = {
        "gift": ["test-period-3.gift"],
        "qti": ["test-period-3_qti.zip"],
        "markdown": ["test-period-3.md"],
        "jupyterquiz": ["test-ada.json", "test-alan-turing.json"],
    }[fmt]
    assert written == sorted([*banks, "test-period-3_key.md"])
    key = (out / "test-period-3_key.md").read_text()
    assert "## Ada" in key and "## Alan Turing" in key
    assert key.count("| 10 |") == 2


def test_several_student_flags_export_every_student(tmp_path):
    done = mrsandbox(
        "quiz",
        "export",
        "visual",
        "--format",
        "gift",
        "--out",
        str(tmp_path),
        "--student",
        "ada",
        "--student",
        "bo",
    )
    assert done.returncode == 0, done.stderr
    gift = (tmp_path / "visual-class.gift").read_text()
    assert "$CATEGORY: visual-class/ada" in gift and "$CATEGORY: visual-class/bo" in gift


def test_a_bad_roster_is_named_with_its_line_and_nothing_is_written(tmp_path):
    roster = tmp_path / "roster.txt"
    roster.write_text("ada\nbo\nADA\n")
    out = tmp_path / "out"
    done = mrsandbox(
        "quiz", "export", "test", "--students", str(roster), "--format", "gift", "--out", str(out)
    )
    assert done.returncode == 2
    assert f"{roster}, line 3: 'ADA' is the same student as 'ada' ({roster}, line 1)" in done.stderr
    assert not out.exists()


def test_a_numeric_student_id_and_a_seed_name_their_files_apart(tmp_path):
    for args in (["--seed", "5"], ["--student", "5"]):
        done = mrsandbox(
            "quiz",
            "export",
            "generated",
            "--count",
            "2",
            "--format",
            "gift",
            "--out",
            str(tmp_path),
            *args,
        )
        assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "generated-5.gift",
        "generated-seed5.gift",
    ]
