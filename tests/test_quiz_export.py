"""Quiz exports: GIFT read back by a strict parser written here, the QTI zip's XML, the Markdown
handout and key as rendered, jupyterquiz JSON, and the one `export` dispatch."""

from __future__ import annotations

import io
import json
import re
import string
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import replace
from html import unescape
from html.parser import HTMLParser

import mistune
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sandbox.errors import InvalidQuiz
from sandbox.quiz.export import FORMATS, export, to_gift, to_jupyterquiz, to_markdown, to_qti
from sandbox.quiz.model import Option, Question, Quiz

DEPLOY = "mrsandbox deploy --regions us-east-1,eu-west-1 model_v1"
BOTH_OK = "{'us-east-1': 'success', 'eu-west-1': 'success'}"
EVIDENCE = """Status Tracker
Step | routing_setup | deployment_status
-----+---------------+-------------------------------
1    | False         | {'us-east-1': 'pending' <&>}
2    | True          | {'us-east-1': 'success' #:~=}"""


def lesson_quiz() -> Quiz:
    deployed = Question(
        id="deploy:result",
        text="Run the command below.\nWhat does deploy_model return? (a dict {region: status})",
        options=(
            Option(BOTH_OK, True, "Both regions report success = the deployment is complete."),
            Option(
                "{'us-east-1': 'success', 'eu-west-1': 'failed'}",
                feedback="eu-west-1 is healthy in this run; #failures is 0.",
            ),
            Option("['us-east-1', 'eu-west-1']", feedback="[html] That is the region list."),
            Option("%50% of the regions", feedback="~half would need a failure: there is none"),
        ),
        hint="Look at each region's status\nin the summary",
        solution=("Run the command.", "Read the dict it prints: {...} per region."),
        mistakes=("Reading only the first region", "Taking the region list for the result"),
        difficulty="easy",
        source=DEPLOY,
        code=DEPLOY,
        kind="state",
        evidence=EVIDENCE,
    )
    command = Question(
        id="rollback-command",
        text=r"Which command deploys to both regions and rolls back on a failure? (C:\ paths ok)",
        options=(
            Option(f"{DEPLOY} --on-failure rollback", True, "rollback undoes every region"),
            Option(f"{DEPLOY} --on-failure stop", feedback="stop keeps what was deployed"),
            Option(f"{DEPLOY} --on-failure continue", feedback="continue ignores the failure"),
        ),
        hint="--on-failure takes stop, continue or rollback",
        solution=("The policy `rollback` undoes a partial deployment.",),
        difficulty="hard",
        source=f"{DEPLOY} --on-failure rollback",
    )
    latency = Question(
        id="p99-latency",
        text="What is the p99 (~~not p50~~) of eu-west-1 for *model_v1* with 5% loss & $0 budget?",
        value=137.5,
        low=135.0,
        high=140.0,
        unit="ms",
        hint="Sort the latencies; take the 99th percentile",
        solution=("mrsandbox sweep prints p50 and p99 per region.", "Read eu-west-1's p99."),
        mistakes=("Reading p50",),
        source="mrsandbox sweep --regions eu-west-1 --seed 7",
        code="mrsandbox sweep --regions eu-west-1 --seed 7",
    )
    return Quiz("lesson1", "Lesson 1: deploy & verify <two regions>", (deployed, command, latency))


# --- GIFT, read back as Moodle's importer reads it ------------------------------------------

GIFT_ESCAPES = {"\\": "\\", "n": "\n", "~": "~", "=": "=", "#": "#", "{": "{", "}": "}", ":": ":"}
GIFT_SYNTAX = "~=#{}:"
PHP_TRIM = " \t\n\r\0\x0b"  # what Moodle's trim() removes
GIFT_FORMAT = re.compile(r"\[(moodle|html|plain|markdown)\]")
GIFT_WEIGHT = re.compile(r"%(-*\d{1,2}\.?\d*)%")

Tokens = list[tuple[str, bool]]  # (character, whether it was backslash-escaped)


def gift_tokens(raw: str) -> Tokens:
    """The characters of `raw`, escapes resolved; strict: a backslash must escape something."""
    tokens: Tokens = []
    chars = iter(raw)
    for c in chars:
        if c == "\\":
            after = next(chars, "")
            assert after in GIFT_ESCAPES, f"stray backslash before {after!r} in {raw!r}"
            tokens.append((GIFT_ESCAPES[after], True))
        else:
            tokens.append((c, False))
    return tokens


def split_at(tokens: Tokens, marker: str) -> list[Tokens]:
    """`tokens` split at every unescaped `marker`."""
    parts, start, i = [], 0, 0
    while i <= len(tokens) - len(marker):
        if all(t == (m, False) for t, m in zip(tokens[i : i + len(marker)], marker, strict=True)):
            parts.append(tokens[start:i])
            i = start = i + len(marker)
        else:
            i += 1
    return [*parts, tokens[start:]]


def strip_raw(tokens: Tokens) -> Tokens:
    """Trim unescaped white space, as Moodle trims the text before it unescapes it."""
    kept = [i for i, (c, escaped) in enumerate(tokens) if escaped or c not in PHP_TRIM]
    return tokens[kept[0] : kept[-1] + 1] if kept else []


def gift_text(tokens: Tokens) -> tuple[str, str]:
    """(format, text) of a text field; strict: GIFT syntax left unescaped in it is an error."""
    tokens = strip_raw(tokens)
    unescaped = [c for c, escaped in tokens if not escaped and c in GIFT_SYNTAX]
    assert not unescaped, f"unescaped {unescaped} in {tokens}"
    text = "".join(c for c, _ in tokens)
    found = GIFT_FORMAT.match(text) if tokens and tokens[0] == ("[", False) else None
    if found:
        return found[1], text[found.end() :].strip(PHP_TRIM)
    return "moodle", text.strip(PHP_TRIM)


def parse_gift(source: str) -> list[dict]:
    """Each question of a GIFT file: its name, text, answers and the comments above it."""
    questions = []
    for block in re.split(r"\n[ \t]*\n", source):
        lines = block.split("\n")
        comments = [line.strip()[2:].strip() for line in lines if line.strip().startswith("//")]
        body = "\n".join(line for line in lines if not line.strip().startswith("//"))
        if not body.strip():
            continue
        tokens = strip_raw(gift_tokens(body))
        assert tokens[:2] == [(":", False)] * 2, body
        name, rest = split_at(tokens[2:], "::")
        head, answers_and_tail = split_at(rest, "{")
        answers, tail = split_at(answers_and_tail, "}")
        assert not strip_raw(tail), f"text after the answers: {tail}"
        answers, *general = split_at(answers, "####")
        assert len(general) <= 1, "more than one general feedback"
        text_format, text = gift_text(head)
        question = {
            "name": gift_text(name)[1],
            "format": text_format,
            "text": text,
            "general_feedback": gift_text(general[0])[1] if general else "",
            "comments": comments,
        }
        answers = strip_raw(answers)
        if answers[0] == ("#", False):
            low, high = "".join(c for c, _ in answers[1:]).split("..")
            question.update(low=float(low), high=float(high))
        else:
            question["options"] = gift_options(answers)
        questions.append(question)
    return questions


def gift_options(tokens: Tokens) -> list[tuple[str, bool, str]]:
    """(text, correct, feedback) of each `=right#feedback` and `~wrong#feedback`."""
    items: list[tuple[str, Tokens]] = []
    for c, escaped in tokens:
        if not escaped and c in "=~":
            items.append((c, []))
        else:
            assert items, f"text before the first option: {tokens}"
            items[-1][1].append((c, escaped))
    options = []
    for mark, item in items:
        item = strip_raw(item)
        correct = mark == "="
        weight = GIFT_WEIGHT.match("".join("\0" if e else c for c, e in item))
        if mark == "~" and weight:
            correct, item = float(weight[1]) == 100, item[weight.end() :]
        text, *feedback = split_at(item, "#")
        options.append((gift_text(text)[1], correct, gift_text(feedback[0])[1] if feedback else ""))
    return options


def gift_shown(got: dict) -> dict:
    """`got` with its text split as Moodle shows it: the paragraphs, and `blocks`, the text of
    each fixed-width `<pre>` block of an HTML text."""
    if got["format"] != "html":
        return {**got, "blocks": []}
    blocks = [unescape(b) for b in re.findall(r"<pre>(.*?)</pre>", got["text"], re.S)]
    paragraphs = re.findall(r"<p>(.*?)</p>", got["text"], re.S)
    return {**got, "text": "\n\n".join(html_text(p) for p in paragraphs), "blocks": blocks}


def expected_gift(q: Question) -> dict:
    """What Moodle must read back for `q` (the numeric unit note aside): plain text, or HTML
    when a command line or a table is shown in fixed-width `<pre>` blocks."""
    expected = {
        "name": q.id,
        "format": "html" if q.shown_code else "plain",
        "text": q.text,
        "blocks": [part for part in (q.code, q.evidence) if part],
        "general_feedback": "\n".join(q.solution),
    }
    if q.value is None:
        expected["options"] = [(o.text, o.correct, o.feedback) for o in q.options]
    else:
        expected.update(low=q.low, high=q.high)
    return expected


def test_gift_round_trip_keeps_dict_literals_command_lines_and_escapes():
    quiz = lesson_quiz()
    parsed = parse_gift(to_gift(quiz))
    assert len(parsed) == len(quiz.questions)
    for q, got in zip(quiz.questions, parsed, strict=True):
        expected, got = expected_gift(q), gift_shown(got)
        if q.unit:  # the student is told the unit after the text and the command
            assert got["text"].startswith(expected["text"] + "\n\n")
            assert f"(in {q.unit})" in got["text"].removeprefix(expected["text"])
            got["text"] = expected["text"]
        assert {k: got[k] for k in expected} == expected


def test_gift_comments_show_the_instructor_hint_and_source():
    quiz = lesson_quiz()
    for q, got in zip(quiz.questions, parse_gift(to_gift(quiz)), strict=True):
        comments = "\n".join(got["comments"])
        assert q.source in comments
        for line in q.hint.split("\n"):
            assert line in comments


def test_gift_escapes_every_special_character_outside_the_syntax():
    gift = to_gift(lesson_quiz())
    assert r"=\{'us-east-1'\: 'success', 'eu-west-1'\: 'success'\}#" in gift
    assert r"(C\:\\ paths ok)" in gift


printable = st.characters(categories=("L", "M", "N", "P", "S", "Zs")) | st.sampled_from(
    "\n\\~=#{}:[]%"
)
# Moodle trims every text, so a text that starts or ends with white space cannot come back.
moodle_text = st.text(printable, min_size=1, max_size=30).filter(
    lambda s: s.strip() and s == s.strip()
)


@settings(max_examples=150)
@given(
    question=moodle_text,
    options=st.lists(
        st.tuples(moodle_text, st.just("") | moodle_text),
        min_size=3,
        max_size=8,
        unique_by=lambda o: o[0],
    ),
    correct=st.integers(0, 7),
    solution=st.lists(moodle_text, max_size=2),
)
@example(
    question="[html]<b>{x}</b>",
    options=[("%50%", "[plain]"), ("%5.5% ~= #x", "[markdown]*"), ("a\\nb\\", "\\")],
    correct=1,
    solution=["[moodle]"],
)
def test_gift_round_trip_keeps_any_printable_text(question, options, correct, solution):
    q = Question(
        id="q:1",
        text=question,
        options=tuple(
            Option(t, i == correct % len(options), fb) for i, (t, fb) in enumerate(options)
        ),
        solution=tuple(solution),
    )
    [got] = parse_gift(to_gift(Quiz("fuzz", "Fuzz", (q,))))
    got = gift_shown(got)
    assert {k: got[k] for k in expected_gift(q)} == expected_gift(q)


@given(bounds=st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=2, max_size=2))
def test_gift_numeric_range_is_exact(bounds):
    low, high = sorted(bounds)
    q = Question(id="n", text="How many?", value=low, low=low, high=high)
    [got] = parse_gift(to_gift(Quiz("n", "N", (q,))))
    assert (got["low"], got["high"]) == (low, high)


# --- QTI ------------------------------------------------------------------------------------

QTI = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"


class _HtmlText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "br":
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_text(fragment: str) -> str:
    """What a browser shows of an HTML fragment (`<br>` as a newline)."""
    parser = _HtmlText()
    parser.feed(fragment)
    parser.close()
    return "".join(parser.parts)


def qti_items(data: bytes) -> dict[str, ET.Element]:
    """The assessment's items by title (the question id)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        roots = [ET.fromstring(zf.read(n)) for n in zf.namelist() if n.endswith(".xml")]
    [assessment] = [r for r in roots if r.tag == f"{QTI}questestinterop"]
    return {item.get("title"): item for item in assessment.iter(f"{QTI}item")}


def mattext(element: ET.Element) -> str:
    return html_text(element.find(f".//{QTI}mattext").text)


def scoring_condition(item: ET.Element) -> ET.Element:
    [condition] = [
        c for c in item.iter(f"{QTI}respcondition") if c.findtext(f"{QTI}setvar") == "100"
    ]
    return condition.find(f"{QTI}conditionvar")


def qti_choices(item: ET.Element) -> list[tuple[str, bool, str]]:
    """(text, correct, feedback) of each choice, in order."""
    right = scoring_condition(item).findtext(f"{QTI}varequal")
    feedback = {f.get("ident"): mattext(f) for f in item.iter(f"{QTI}itemfeedback")}
    return [
        (mattext(label), label.get("ident") == right, feedback.get(label.get("ident") + "_fb", ""))
        for label in item.iter(f"{QTI}response_label")
    ]


def test_qti_zip_holds_the_questions_their_choices_and_the_keys():
    quiz = lesson_quiz()
    items = qti_items(to_qti(quiz))
    assert list(items) == [q.id for q in quiz.questions]
    for q in quiz.questions:
        item = items[q.id]
        shown = mattext(item.find(f"{QTI}presentation"))
        assert shown.startswith(q.text)
        assert q.code in shown and q.evidence in shown
        if q.value is None:
            assert qti_choices(item) == [(o.text, o.correct, o.feedback) for o in q.options]
        else:
            condition = scoring_condition(item)
            low = float(condition.findtext(f".//{QTI}vargte"))
            high = float(condition.findtext(f".//{QTI}varlte"))
            assert (low, high) == (q.low, q.high)
            assert f"(in {q.unit})" in shown


markdown_prone = st.text(
    st.sampled_from(string.ascii_letters[:3] + string.digits[:3] + string.punctuation + " \n"),
    min_size=1,
    max_size=25,
).filter(lambda s: s.strip() and s == s.strip())


@settings(max_examples=60, deadline=None)
@given(
    question=markdown_prone,
    options=st.lists(markdown_prone, min_size=3, max_size=3, unique=True),
    feedback=markdown_prone,
)
@example(question="1. *$5* and $6", options=["- x", "# y", "'quoted' -- ..."], feedback="<b>&")
def test_qti_shows_markdown_and_latex_characters_as_written(question, options, feedback):
    q = Question(
        id="q",
        text=question,
        options=tuple(Option(o, i == 0, feedback) for i, o in enumerate(options)),
    )
    item = qti_items(to_qti(Quiz("md", "Markdown", (q,))))["q"]
    assert mattext(item.find(f"{QTI}presentation")) == question
    assert qti_choices(item) == [(o, i == 0, feedback) for i, o in enumerate(options)]


def test_qti_refusals_become_invalid_quiz_naming_the_question():
    first = lesson_quiz().questions[0]
    twice = Quiz("dup", "Twice", (first, replace(first, id="deploy-again")))
    with pytest.raises(InvalidQuiz, match=r"questions '.+' and 'deploy-again' ask the same"):
        to_qti(twice)
    zero = Question(
        id="failed-requests", text="How many requests failed?", value=0.0, low=0.0, high=0.0
    )
    with pytest.raises(InvalidQuiz, match="question 'failed-requests'"):
        to_qti(Quiz("zero", "Zero", (lesson_quiz().questions[1], zero)))


# --- Markdown -------------------------------------------------------------------------------


def commonmark(md: str) -> str:
    """The HTML of a handout, as nbconvert (and any CommonMark viewer) renders it."""
    return mistune.html(md)


def test_markdown_handout_numbers_and_letters_without_any_key():
    quiz = lesson_quiz()
    student, _ = to_markdown(quiz)
    html = commonmark(student)
    shown = html_text(html)
    for n, q in enumerate(quiz.questions, 1):
        assert f"{n}. ({q.difficulty}) {q.text}" in shown
        for letter, o in zip(q.letters, q.options, strict=True):
            assert f"<li><strong>{letter}.</strong> " in html
            assert f"\n{letter}. {o.text}\n" in shown  # no mark on the correct one
            assert o.feedback not in shown
        for secret in (*q.hint.split("\n"), *q.solution, *q.mistakes):
            assert secret not in shown
    assert "137.5" not in shown


def test_markdown_shows_dict_literals_and_command_lines_as_code():
    quiz = lesson_quiz()
    student, key = to_markdown(quiz)
    code = re.findall(r"<code>(.*?)</code>", commonmark(student + key), re.S)
    codes = {html_text(c).strip() for c in code}
    assert {BOTH_OK, "['us-east-1', 'eu-west-1']", f"{DEPLOY} --on-failure rollback"} <= codes
    assert {q.source for q in quiz.questions} <= codes


def test_markdown_shows_the_runs_table_as_a_fixed_width_block_in_handout_and_key():
    quiz = lesson_quiz()
    for md in to_markdown(quiz):
        blocks = re.findall(r"<pre><code>(.*?)</code></pre>", commonmark(md), re.S)
        assert EVIDENCE in [html_text(b).rstrip("\n") for b in blocks]


def test_markdown_answer_key_holds_every_key_solution_and_source():
    quiz = lesson_quiz()
    _, key = to_markdown(quiz)
    shown = html_text(commonmark(key))
    for q in quiz.questions:
        answer = q.key if q.value is not None else f"{q.key}. {q.answer_text}"
        assert f"Answer: {answer}" in shown
        for part in (q.hint, *q.solution, *q.mistakes, q.source):
            assert part in shown
    assert "137.5 ms (right from 135 to 140 ms)" in shown


# --- jupyterquiz and the dispatch -----------------------------------------------------------


def test_jupyterquiz_json_is_the_models_list():
    quiz = lesson_quiz()
    assert json.loads(to_jupyterquiz(quiz)) == quiz.to_jupyterquiz()


def test_export_names_the_files_of_each_format():
    quiz = lesson_quiz()
    student, key = to_markdown(quiz)
    assert export(quiz, "gift") == {"lesson1.gift": to_gift(quiz).encode()}
    assert export(quiz, "jupyterquiz") == {"lesson1.json": to_jupyterquiz(quiz).encode()}
    assert export(quiz, "markdown") == {
        "lesson1.md": student.encode(),
        "lesson1_key.md": key.encode(),
    }
    [(name, data)] = export(quiz, "qti").items()
    assert name == "lesson1_qti.zip" and list(qti_items(data)) == [q.id for q in quiz.questions]
    assert all(export(quiz, fmt) for fmt in FORMATS)


def test_export_refuses_an_unknown_format_naming_the_known_ones():
    with pytest.raises(InvalidQuiz, match=r"'pdf'.*gift, jupyterquiz, markdown, qti"):
        export(lesson_quiz(), "pdf")


@pytest.mark.parametrize("name", ["visual", "practice", "generated", "test"])
def test_gift_round_trip_of_the_shipped_and_generated_sets(name):
    from sandbox.quiz.generate import generate, lesson_test
    from sandbox.quiz.material import load_set

    made = {"generated": lambda: generate(11, count=12), "test": lambda: lesson_test(11)}
    quiz = made[name]() if name in made else load_set(name)
    for q, got in zip(quiz.questions, parse_gift(to_gift(quiz)), strict=True):
        expected, got = expected_gift(q), gift_shown(got)
        if q.unit:
            got["text"] = expected["text"]
        assert {k: got[k] for k in expected} == expected
