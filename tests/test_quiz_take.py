"""The terminal quiz, driven through stdin as a learner or a script would."""

from __future__ import annotations

import io
import os
import select
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from sandbox.quiz.model import Option, Question, Quiz
from sandbox.quiz.review import REVIEW, Marks
from sandbox.quiz.take import Score, take
from tests.support import interruptible

ROOT = Path(__file__).resolve().parents[1]

QUIZ = Quiz(
    name="failover",
    title="Failover basics",
    questions=(
        Question(
            id="outcome",
            text="eu-west-1 is down. Which regions does the deployment succeed in?",
            options=(
                Option("{'us-east-1': 'success'}", correct=True, feedback="Only us-east-1 is up."),
                Option(
                    "{'us-east-1': 'success', 'eu-west-1': 'success'}",
                    feedback="A region that is down cannot succeed.",
                ),
                Option("{'eu-west-1': 'success'}", feedback="eu-west-1 is the region that fails."),
                Option("{}", feedback="us-east-1 is still healthy."),
            ),
            hint="Look at which region the fault targets.",
            solution=("Run the deployment with the fault.", "Read the outcome per region."),
            difficulty="easy",
            source="mrsandbox deploy --fault eu-west-1:down",
            code="mrsandbox deploy --fault eu-west-1:down",
        ),
        Question(
            id="latency",
            text="What is the median latency to us-east-1?",
            value=120.0,
            low=115.0,
            high=125.0,
            unit="ms",
            hint="Add the network and the model time.",
            solution=("90 ms network + 30 ms model = 120 ms.",),
            source="mrsandbox latency us-east-1",
        ),
        Question(
            id="policy",
            text="Which failure policy undoes the regions already deployed?",
            options=(
                Option("stop", feedback="stop keeps what is deployed."),
                Option("continue", feedback="continue deploys the rest anyway."),
                Option("rollback", correct=True, feedback="rollback undoes them."),
            ),
            hint="Think of a database transaction.",
            difficulty="hard",
        ),
    ),
)


def run(answers: str) -> tuple[Score, str]:
    out = io.StringIO()
    score = take(QUIZ, io.StringIO(answers), out)
    return score, out.getvalue()


def test_shows_each_question_with_its_code_options_and_unit():
    _, out = run("A\n120\nC\n")
    assert "Failover basics" in out
    assert "Question 1 of 3 (easy)\neu-west-1 is down." in out
    assert "\n    mrsandbox deploy --fault eu-west-1:down\n" in out
    assert "  A. {'us-east-1': 'success'}\n  B. {'us-east-1': 'success', 'eu-west-1'" in out
    assert "  D. {}\n" in out
    assert "Question 2 of 3 (medium)" in out
    assert "Answer with a number (in ms)." in out
    assert "Question 3 of 3 (hard)" in out


def test_all_right():
    score, out = run("A\n120\nC\n")
    assert score == Score(right=3, answered=3, total=3)
    assert score.complete
    assert out.count("Correct.") == 3
    assert "Not quite" not in out
    assert out.rstrip().endswith("Score: 3/3 (easy 1/1, medium 1/1, hard 1/1)")
    assert "  1. Run the deployment with the fault.\n  2. Read the outcome per region." in out


def test_all_wrong_shows_the_key_the_feedback_of_the_choice_and_the_hint():
    score, out = run("B\n200\nA\n")
    assert score == Score(right=0, answered=3, total=3)
    assert "Not quite: the answer is A. {'us-east-1': 'success'}\n" in out
    assert "B: A region that is down cannot succeed.\n" in out
    assert "Hint: Look at which region the fault targets." in out
    assert "Not quite: the answer is 120 ms (right from 115 to 125 ms).\n" in out
    assert "Hint: Add the network and the model time." in out
    assert "Not quite: the answer is C. rollback\nA: stop keeps what is deployed." in out
    assert "Correct." not in out
    assert out.rstrip().endswith("Score: 0/3 (easy 0/1, medium 0/1, hard 0/1)")


def test_lowercase_letters_are_accepted():
    score, out = run("a\n120\nc\n")
    assert score.right == 3
    assert "Answer with one of" not in out


@pytest.mark.parametrize("bad", ["E", "e", "x", "", "   ", "AB", "1", "{}"])
def test_an_invalid_letter_is_refused_and_asked_again(bad):
    score, out = run(f"{bad}\nA\n120\nC\n")
    assert score == Score(right=3, answered=3, total=3)
    first = out.split("Question 2 of 3")[0]
    assert first.count("Answer with one of A, B, C, D.\n") == 1
    assert first.count("Your answer: ") == 2
    assert "Answer with one of A, B, C.\n" not in out


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", "twelve", "", "120 s", "1e999"])
def test_an_invalid_number_is_refused_and_asked_again(bad):
    score, out = run(f"A\n{bad}\n120\nC\n")
    assert score == Score(right=3, answered=3, total=3)
    second = out.split("Question 2 of 3")[1].split("Question 3 of 3")[0]
    assert second.count("Answer with a number (in ms), like 12 or 0.5.\n") == 1
    assert second.count("Your answer: ") == 2


@pytest.mark.parametrize("answer", ["120", "115", "125", "124.9", "1.2e2", " 118 "])
def test_a_number_within_the_range_is_right(answer):
    score, out = run(f"A\n{answer}\nC\n")
    assert score.right == 3
    assert out.count("Correct.") == 3


@pytest.mark.parametrize("answer", ["114.9", "125.1", "0", "-120"])
def test_a_number_outside_the_range_is_wrong(answer):
    score, out = run(f"A\n{answer}\nC\n")
    assert score.right == 2
    assert "Not quite: the answer is 120 ms (right from 115 to 125 ms)." in out


def test_end_of_input_stops_early_with_the_score_so_far():
    score, out = run("A\n")
    assert score == Score(right=1, answered=1, total=3)
    assert not score.complete
    assert "Input ended after 1 of 3 questions." in out
    assert out.rstrip().endswith("Score: 1/3 (answered 1)")
    assert "Question 3 of 3" not in out


def test_end_of_input_while_asked_again():
    score, out = run("A\n200\nx")
    assert score == Score(right=1, answered=2, total=3)
    assert "Answer with one of A, B, C." in out
    assert "Input ended after 2 of 3 questions." in out


def test_no_input_at_all():
    score, out = run("")
    assert score == Score(right=0, answered=0, total=3)
    assert "Input ended after 0 of 3 questions." in out


def test_answers_are_echoed_when_read_from_a_file_so_the_log_reads_well():
    _, out = run("x\nA\n")
    assert "Your answer: x\nAnswer with one of A, B, C, D.\nYour answer: A\nCorrect.\n" in out


TAKE = "import sys; from sandbox.quiz.take import take; from tests.test_quiz_take import QUIZ; "
# As a learner's shell runs it: stdout to a pipe is block-buffered unless take() flushes.
ENV = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}


def test_runs_the_same_through_a_real_pipe():
    result = subprocess.run(
        [sys.executable, "-c", TAKE + "take(QUIZ, sys.stdin, sys.stdout)"],
        input="b\nnan\n120\nC\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=ENV,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "Not quite: the answer is A." in result.stdout
    assert "Answer with a number (in ms), like 12 or 0.5." in result.stdout
    assert result.stdout.rstrip().endswith("Score: 2/3 (easy 0/1, medium 1/1, hard 1/1)")


def _read_until(fd: int, marker: bytes, seconds: float = 30) -> bytes:
    """Read `fd` until `marker` shows up; fail if it does not within `seconds`."""
    seen = b""
    while marker not in seen:
        ready, _, _ = select.select([fd], [], [], seconds)
        assert ready, f"no {marker!r} after {seconds}s; got {seen!r}"
        chunk = os.read(fd, 4096)
        assert chunk, f"output ended before {marker!r}; got {seen!r}"
        seen += chunk
    return seen


def test_the_prompt_reaches_a_pipe_before_the_answer_is_written():
    with subprocess.Popen(
        [sys.executable, "-c", TAKE + "take(QUIZ, sys.stdin, sys.stdout)"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=ROOT,
        env=ENV,
    ) as process:
        assert process.stdin is not None and process.stdout is not None
        fd = process.stdout.fileno()
        assert b"Question 1 of 3" in _read_until(fd, b"Your answer: ")
        process.stdin.write(b"A\n")
        process.stdin.flush()
        assert b"Correct." in _read_until(fd, b"Your answer: ")
        process.stdin.close()
        rest = _read_until(fd, b"Score: 1/3 (answered 1)")
        assert b"Input ended after 1 of 3 questions." in rest
        assert process.wait(timeout=60) == 0


def test_ctrl_c_stops_with_the_score_so_far_and_no_traceback():
    with subprocess.Popen(
        [sys.executable, "-c", TAKE + "take(QUIZ, sys.stdin, sys.stdout)"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=ENV,
        preexec_fn=interruptible,
    ) as process:
        assert process.stdin is not None and process.stdout is not None
        _read_until(process.stdout.fileno(), b"Your answer: ")
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert b"Traceback" not in stderr
    assert b"Input ended after 0 of 3 questions." in stdout


def test_a_letter_with_a_dot_or_bracket_and_a_number_with_its_unit_are_read():
    score, out = run("a.\n120 ms\nC)\n")
    assert score.right == 3
    assert "Answer with one of" not in out and "like 12 or 0.5" not in out


# --- the lesson's test: a score per difficulty and a verdict --------------------------------

TEST = replace(QUIZ, verdict=True)


def test_a_quiz_without_a_verdict_ends_with_its_score():
    _, out = run("A\n120\nC\n")
    assert "Verdict" not in out


def test_the_lessons_test_ends_with_a_strong_verdict_when_all_is_right():
    out = io.StringIO()
    score = take(TEST, io.StringIO("A\n120\nC\n"), out)
    assert score.marks is not None and score.marks.strong
    assert (
        out.getvalue()
        .rstrip()
        .endswith(
            "Score: 3/3 (easy 1/1, medium 1/1, hard 1/1)\n"
            "Verdict: the pattern is strong (80% or more right, and two thirds of each difficulty)."
        )
    )


def test_the_lessons_test_names_what_to_review_for_each_question_missed():
    out = io.StringIO()
    take(TEST, io.StringIO("A\n200\nA\n"), out)
    tail = out.getvalue().split("Score: 1/3 (easy 1/1, medium 0/1, hard 0/1)\n")[1]
    lines = tail.splitlines()
    assert lines[0].startswith("Verdict: not yet strong")
    assert lines[1:] == [f"  - {REVIEW['material']}"]  # two misses, one place to review


def test_an_unfinished_test_has_no_verdict():
    out = io.StringIO()
    take(TEST, io.StringIO("A\n"), out)
    assert "Verdict" not in out.getvalue()


def marks(results: dict[str, tuple[int, int]], kind: str = "state") -> Marks:
    """Marks of `right` of `asked` questions per difficulty, each of `kind`."""
    questions = []
    for level, (right, asked) in results.items():
        for i in range(asked):
            q = Question(id=f"{level}{i}", text="?", value=1, low=1, high=1, kind=kind)
            questions.append((replace(q, difficulty=level), i < right))
    return Marks.of(questions)


@pytest.mark.parametrize(
    ("results", "strong"),
    [
        ({"easy": (3, 3), "medium": (4, 4), "hard": (3, 3)}, True),
        ({"easy": (3, 3), "medium": (3, 4), "hard": (2, 3)}, True),  # 8 of 10, 2/3 of hard
        ({"easy": (3, 3), "medium": (4, 4), "hard": (1, 3)}, False),  # 8 of 10, hard 1/3
        ({"easy": (2, 3), "medium": (3, 4), "hard": (2, 3)}, False),  # 7 of 10
        ({"easy": (0, 0), "medium": (0, 0), "hard": (0, 0)}, False),  # nothing asked
    ],
)
def test_strong_takes_four_fifths_in_all_and_two_thirds_of_each_difficulty(results, strong):
    assert marks(results).strong is strong


def test_review_places_are_the_notebook_sections_of_the_kinds_missed():
    missed = marks({"easy": (0, 1)}, kind="detection")
    assert missed.verdict()[1:] == [f"  - {REVIEW['detection']}"]
    assert "03_health_checks_and_failover.ipynb" in REVIEW["detection"]


def test_a_question_is_reviewed_where_its_kind_is_taught():
    from sandbox.quiz import review_of

    question = Question(id="q", text="?", value=1, low=1, high=1, kind="canary")
    assert review_of(question) == REVIEW["canary"]
    assert review_of(replace(question, kind="material")) == REVIEW["material"]
    assert review_of(replace(question, kind="no such kind")) == REVIEW["material"]


def test_every_generated_kind_has_a_place_to_review_that_exists():
    from sandbox.quiz.generate import KINDS

    assert set(KINDS) <= set(REVIEW)
    for place in REVIEW.values():
        path = place.split(":")[0].split(",")[0]
        assert path.startswith("the lesson") or (ROOT / path).is_file(), place
