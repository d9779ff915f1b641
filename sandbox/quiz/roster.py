"""A class's quizzes: a roster of student ids, each student's own variant, one question bank for
the whole roster and one instructor key listing every student's keys."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from sandbox.errors import InvalidQuiz
from sandbox.quiz.export import to_gift, to_jupyterquiz, to_markdown, to_qti, to_roster_key
from sandbox.quiz.model import Quiz

SLUG_LENGTH = 60  # characters of a student id kept in a file name


def _shown(student: str) -> str:
    """The id as text, bytes that are not UTF-8 (from a command line) shown as U+FFFD."""
    return student.strip().encode("utf-8", "replace").decode("utf-8")


def slug(student: str) -> str:
    """The student id as a file-name part: `Ana María` -> `ana-maría`."""
    name = re.sub(r"[^\w-]+", "-", _shown(student).casefold()).strip("-")
    return name[:SLUG_LENGTH].strip("-") or "student"


def for_student(quiz: Quiz, set_name: str, student: str) -> Quiz:
    """`quiz` named after its student, so that exports tell the variants apart."""
    title = f"{quiz.title}, for {_shown(student)}"
    return replace(quiz, name=f"{set_name}-{slug(student)}", title=title)


def read_roster(path: str) -> list[str]:
    """The student ids of a roster file: one id a line; blank lines and `#` comments skipped.

    Raises InvalidQuiz naming the file (and line) for a file that cannot be read or holds no
    id, and as `check_roster` does.
    """
    fix = "write one student id a line"
    try:
        text = Path(path).read_text(encoding="utf-8-sig")  # a byte-order mark is no id's part
    except UnicodeDecodeError as e:
        at = Path(path).read_bytes()[: e.start].count(b"\n") + 1
        raise InvalidQuiz(f"{path}, line {at}: not UTF-8 text; save the roster as UTF-8") from None
    except OSError as e:
        raise InvalidQuiz(f"cannot read {path}: {e.strerror}; {fix} in a text file") from None
    lines = [(f"{path}, line {n}", line.strip()) for n, line in enumerate(text.splitlines(), 1)]
    students = check_roster([(where, s) for where, s in lines if s and not s.startswith("#")])
    if not students:
        raise InvalidQuiz(f"{path} lists no student; {fix}")
    return students


def check_roster(entries: Sequence[tuple[str, str]]) -> list[str]:
    """The student ids of (where, id) entries, refusing one student listed twice (ids are the
    same whatever their case and surrounding spaces, as seeds are) or two ids whose file names
    would be the same; the error names where each was given."""
    students: list[str] = []
    ids: dict[str, tuple[str, str]] = {}  # the same id, whatever its case
    names: dict[str, tuple[str, str]] = {}  # the same file name
    for where, given in entries:
        student = given.strip()
        for seen, key, clash in (
            (ids, student.casefold(), "the same student as"),
            (names, slug(student), "named like"),
        ):
            if key in seen:
                first, earlier = seen[key]
                raise InvalidQuiz(
                    f"{where}: {student!r} is {clash} {earlier!r} ({first}); list each student "
                    "once, with ids that differ in a letter or digit"
                )
            seen[key] = (where, student)
        students.append(student)
    return students


def export_roster(
    name: str, title: str, variants: Sequence[tuple[str, Quiz]], fmt: str
) -> dict[str, bytes]:
    """The files of a roster's quizzes in format `fmt`: file name -> contents.

    One question bank (GIFT: a category `name/ID` per student; QTI: a question group per
    student; Markdown: every handout in one file; jupyterquiz: one file per student, as
    jupyterquiz reads one quiz a file) and `{name}_key.md`, every student's keys.
    """
    files: dict[str, bytes] = {}
    match fmt:
        case "gift":
            banks = [to_gift(q, f"{name}/{student.replace('/', '//')}") for student, q in variants]
            files[f"{name}.gift"] = "\n".join(banks).encode()
        case "qti":
            files[f"{name}_qti.zip"] = to_qti(Quiz(name, title), groups=variants)
        case "markdown":
            handouts = [to_markdown(q)[0] for _, q in variants]
            files[f"{name}.md"] = "\n---\n\n".join(handouts).encode()
        case "jupyterquiz":
            files |= {f"{q.name}.json": to_jupyterquiz(q).encode() for _, q in variants}
        case _:
            raise InvalidQuiz(f"unknown export format {fmt!r}")
    files[f"{name}_key.md"] = to_roster_key(title, variants).encode()
    return files
