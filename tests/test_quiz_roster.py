"""A class's quizzes: the roster file, one bank for every student in each format (read back as
Moodle and a QTI importer read them) and the instructor's key."""

from __future__ import annotations

import re

import mistune
import pytest

from sandbox.errors import InvalidQuiz
from sandbox.quiz.export import FORMATS, to_gift
from sandbox.quiz.generate import lesson_test, student_seed
from sandbox.quiz.material import load_set
from sandbox.quiz.model import Quiz
from sandbox.quiz.roster import (
    SLUG_LENGTH,
    check_roster,
    export_roster,
    for_student,
    read_roster,
    slug,
)
from tests.test_quiz_export import QTI, expected_gift, gift_shown, html_text, parse_gift

STUDENTS = ["Ada", "Alan Turing", "zoë/2"]


def variants(students: list[str] = STUDENTS) -> list[tuple[str, Quiz]]:
    practice = load_set("practice")
    return [(s, for_student(practice.shuffled(student_seed(s)), "practice", s)) for s in students]


# --- the roster file -----------------------------------------------------------------------


def test_a_roster_is_one_id_a_line_without_blanks_comments_or_surrounding_spaces(tmp_path):
    roster = tmp_path / "class.txt"
    roster.write_text("# period 3\n\nAda\n  Alan Turing \r\nzoë/2\n\n", encoding="utf-8")
    assert read_roster(str(roster)) == STUDENTS


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("ada\nbo\n Ada\n", "line 3: 'Ada' is the same student as 'ada' ("),
        ("ana b\nana-b\n", "line 2: 'ana-b' is named like 'ana b' ("),
        ("🦄\n🐙\n", "line 2: '🐙' is named like '🦄' ("),
        ("# nobody yet\n\n", "lists no student; write one student id a line"),
        ("", "lists no student"),
    ],
)
def test_a_roster_that_cannot_be_used_is_refused_naming_the_file_and_line(tmp_path, text, says):
    roster = tmp_path / "class.txt"
    roster.write_text(text)
    with pytest.raises(InvalidQuiz, match=re.escape(f"{roster}")) as refused:
        read_roster(str(roster))
    assert says in str(refused.value)


def test_a_byte_order_mark_is_not_part_of_the_first_id(tmp_path):
    roster = tmp_path / "class.txt"
    roster.write_bytes("ada\r\nbo\r\n".encode("utf-8-sig"))
    assert read_roster(str(roster)) == ["ada", "bo"]


def test_ids_given_one_by_one_are_checked_as_a_roster_is():
    assert check_roster([("--student #1", " ada "), ("--student #2", "bo")]) == ["ada", "bo"]
    with pytest.raises(InvalidQuiz, match=r"--student #2: 'ADA' is the same student as 'ada'"):
        check_roster([("--student #1", "ada"), ("--student #2", " ADA ")])
    with pytest.raises(InvalidQuiz, match=r"--student #2: 'a-b' is named like 'a b' \(--student"):
        check_roster([("--student #1", "a b"), ("--student #2", "a-b")])


def test_a_roster_that_is_not_text_or_not_there_is_refused(tmp_path):
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("ada\nzoë\n".encode("latin-1"))
    with pytest.raises(InvalidQuiz, match=r"latin1.txt, line 2: not UTF-8 text; save the roster"):
        read_roster(str(latin))
    with pytest.raises(InvalidQuiz, match=r"cannot read .*missing.txt: No such file"):
        read_roster(str(tmp_path / "missing.txt"))
    with pytest.raises(InvalidQuiz, match="Is a directory"):
        read_roster(str(tmp_path))


def test_slugs_name_files_and_keep_letters_of_any_script():
    assert [slug(s) for s in STUDENTS] == ["ada", "alan-turing", "zoë-2"]
    assert slug(" ?! ") == "student"
    assert slug("y" * 300) == "y" * SLUG_LENGTH  # a file name the system takes


# --- the banks -----------------------------------------------------------------------------


def gift_categories(gift: str) -> list[tuple[str, list[dict]]]:
    """(category, questions) of each `$CATEGORY:` of a GIFT file, as Moodle files them."""
    parts = re.split(r"^\$CATEGORY: (.*)$", gift, flags=re.M)
    assert not parse_gift(parts[0]), "questions before the first category"
    return [(parts[i], parse_gift(parts[i + 1])) for i in range(1, len(parts), 2)]


def test_gift_bank_files_each_students_variant_in_a_category_of_its_own():
    made = variants()
    files = export_roster("practice-class", "Practice", made, "gift")
    categories = gift_categories(files["practice-class.gift"].decode())
    # Moodle reads `//` as a slash inside a category's name
    assert [c for c, _ in categories] == [
        "practice-class/Ada",
        "practice-class/Alan Turing",
        "practice-class/zoë//2",
    ]
    for (_, quiz), (_, questions) in zip(made, categories, strict=True):
        assert len(questions) == len(quiz)
        for q, got in zip(quiz.questions, questions, strict=True):
            expected, got = expected_gift(q), gift_shown(got)
            if q.unit:  # the unit note follows the text
                assert got["text"].startswith(expected["text"])
                got["text"] = expected["text"]
            assert {k: got[k] for k in expected} == expected
    assert parse_gift(to_gift(made[0][1])) == categories[0][1]  # one student's own export


def test_qti_bank_holds_a_group_per_student_that_draws_all_of_its_questions():
    import io
    import xml.etree.ElementTree as ET
    import zipfile

    made = variants()
    data = export_roster("practice-class", "Practice", made, "qti")["practice-class_qti.zip"]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        [xml] = [
            n
            for n in archive.namelist()
            if n.endswith(".xml") and "meta" not in n and "manifest" not in n
        ]
        root = ET.fromstring(archive.read(xml))
    groups = [s for s in root.iter(f"{QTI}section") if s.get("ident") != "root_section"]
    assert [g.get("title") for g in groups] == STUDENTS
    for group, (student, quiz) in zip(groups, made, strict=True):
        assert group.findtext(f".//{QTI}selection_number") == str(len(quiz))
        items = group.findall(f"{QTI}item")
        assert [i.get("title") for i in items] == [q.id for q in quiz.questions]
        for item, q in zip(items, quiz.questions, strict=True):
            text = html_text(item.find(f".//{QTI}presentation//{QTI}mattext").text)
            assert text.startswith(f"({student}) {q.text}")


def test_the_instructor_key_lists_every_students_keys_in_order():
    made = [(s, lesson_test(student_seed(s))) for s in STUDENTS[:2]]
    key = export_roster("test-class", "Test", made, "markdown")["test-class_key.md"].decode()
    html = mistune.create_markdown(plugins=["table"])(key)
    sections = re.split(r"<h2>(.*?)</h2>", html)[1:]
    assert [html_text(h) for h in sections[::2]] == STUDENTS[:2]
    for (_, quiz), table in zip(made, sections[1::2], strict=True):
        rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]
        cells = [
            [html_text(c).strip() for c in re.findall(r"<td>(.*?)</td>", r, re.S)] for r in rows
        ]
        assert [c[1] for c in cells] == [q.id for q in quiz.questions]
        assert [c[2] for c in cells] == [q.difficulty for q in quiz.questions]
        assert [c[3] for c in cells] == [q.key for q in quiz.questions]
        for c, q in zip(cells, quiz.questions, strict=True):
            assert c[4] == (q.answer_text if q.value is None else "")


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_writes_a_bank_and_the_key(fmt):
    files = export_roster("practice-class", "Practice", variants(), fmt)
    assert "practice-class_key.md" in files
    banks = [name for name in files if not name.endswith("_key.md")]
    if fmt == "jupyterquiz":
        assert banks == [f"practice-{slug(s)}.json" for s in STUDENTS]
    else:
        assert len(banks) == 1
