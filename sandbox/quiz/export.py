"""Write a quiz for other tools: Moodle GIFT, jupyterquiz JSON, Markdown handouts, a QTI zip.

Option texts are often dict literals (`{'us-east-1': 'success'}`) or command lines
(`mrsandbox deploy --regions us-east-1,eu-west-1 model_v1`): every format escapes them so that
they come out exactly as written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import replace
from html import escape

from sandbox.errors import InvalidQuiz
from sandbox.quiz.model import Question, Quiz, number_text

FORMATS = ("gift", "jupyterquiz", "markdown", "qti")

# GIFT: the characters Moodle's importer reads as syntax; a newline is written `\n`.
_GIFT_SPECIAL = re.compile(r"[\\~=#{}:\n]")
# Moodle reads a leading `[html]` (and the like) as the text's format, and a leading `%50%` on
# a wrong option as its weight: such texts get an explicit format or weight in front.
_GIFT_FORMAT = re.compile(r"\[(?:moodle|html|plain|markdown)\]")
_GIFT_WEIGHT = re.compile(r"%-*\d{1,2}\.?\d*%")

# Markdown (CommonMark for the handouts, Python-Markdown with smarty-pants inside text2qti):
# backslash-escape emphasis, code, links, attributes, `$` math and quotes anywhere, and the
# `--` / `...` that smarty-pants would turn into dashes and ellipses.
_MD_ESCAPE = re.compile(r"""[\\`*_{}\[\]$'"]|-(?=-)|(?<=-)-|\.(?=\.)|(?<=\.)\.""")
_MD_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "~": "&#126;"}
_MD_BLOCK_START = re.compile(r"^(?:#|[+-](?=\s|$)|\d+[.)](?=\s|$))")  # a heading or list item


def to_gift(quiz: Quiz, category: str = "") -> str:
    """The quiz in Moodle's GIFT format; the hint and the `source` of each key in comments; with
    a `category` (a path such as `test-class/ana`), its questions go into that category."""
    header = _gift_comment(quiz.title, "quiz: ")
    blocks = ["\n".join(header)] if header else []
    if category:  # Moodle reads `//` in a category path as a slash within a name
        blocks.append(f"$CATEGORY: {category}")
    for q in quiz.questions:
        lines = [*_gift_comment(q.hint, "hint: "), *_gift_comment(q.source, "source: ")]
        lines.append(f"::{_gift(q.id)}::{_gift(_gift_body(q))} {{")
        if q.value is None:
            for o in q.options:
                feedback = f"#{_gift_field(o.feedback)}" if o.feedback else ""
                if o.correct:
                    lines.append(f"={_gift_field(o.text)}{feedback}")
                else:
                    lines.append(f"~{_gift_field(o.text, wrong_option=True)}{feedback}")
        else:
            low, high = q.bounds
            lines.append(f"#{number_text(low)}..{number_text(high)}")
        if q.solution:
            solution = "\n".join(q.solution)
            lines.append(f"####{_gift_field(solution)}")
        lines.append("}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def to_markdown(quiz: Quiz) -> tuple[str, str]:
    """A student handout (questions and lettered options, no keys) and its answer key."""
    student = [f"# {_md(quiz.title)}"]
    key = [f"# {_md(quiz.title)}: answer key"]
    for n, q in enumerate(quiz.questions, 1):
        student.append(f"**{n}.** *({q.difficulty})* {_md(q.text)}")
        student += _shown_blocks(q)
        if q.value is None:
            student.append(
                "\n".join(
                    f"- **{letter}.** {_inline(o.text)}"
                    for letter, o in zip(q.letters, q.options, strict=True)
                )
            )
        else:
            student.append(f"**Answer:** ______________ {_md(q.unit)}".rstrip())
        key.append(f"## {n}. {_code_span(q.id)} ({q.difficulty})")
        key.append(_md(q.text))
        key += _shown_blocks(q)
        answer = _md(q.key) if q.value is not None else f"{q.key}. {_inline(q.answer_text)}"
        key.append(f"**Answer:** {answer}")
        if q.solution:
            key.append(
                "**Solution:**\n\n"
                + "\n".join(f"{i}. {_md(step)}" for i, step in enumerate(q.solution, 1))
            )
        if q.hint:
            key.append(f"**Hint:** {_md(q.hint)}")
        if q.mistakes:
            key.append("**Common mistakes:**\n\n" + "\n".join(f"- {_md(m)}" for m in q.mistakes))
        if q.source:
            key.append(f"**Reproduce the key:** {_code_span(q.source)}")
    return "\n\n".join(student) + "\n", "\n\n".join(key) + "\n"


def quiz_html(quiz: Quiz) -> str:
    """The quiz as static HTML, for pages without widgets: each question (`question_html`)."""
    return "".join(question_html(n, q) for n, q in enumerate(quiz.questions, 1))


def question_html(n: int, q: Question) -> str:
    """Question `n` as static HTML: its text, command line, table and lettered options, then a
    `<details>` that opens on a click to show the answer, each option's feedback, the hint and
    the solution."""
    shown = "".join(f"<pre>{escape(part)}</pre>" for part in (q.code, q.evidence) if part)
    if q.value is None:
        letters = tuple(zip(q.letters, q.options, strict=True))
        choices = "".join(f"<li>{letter}. {escape(o.text)}</li>" for letter, o in letters)
        shown += f"<ul>{choices}</ul>"
        answer = f"{q.key}. {q.answer_text}"
        why = "".join(f"<li>{x}: {escape(o.feedback)}</li>" for x, o in letters if o.feedback)
    else:
        shown += f"<p>{escape(_unit_note(q) or 'Answer with a number.')}</p>"
        answer, why = q.key, ""
    key = f"<p>{escape(answer)}</p>" + (f"<ul>{why}</ul>" if why else "")
    if q.hint:
        key += f"<p><i>Hint:</i> {escape(q.hint)}</p>"
    if q.solution:
        key += "<p>Solution:</p><ol>" + "".join(f"<li>{escape(s)}</li>" for s in q.solution)
        key += "</ol>"
    return (
        f'<div class="question"><p><b>{n}.</b> <i>({escape(q.difficulty)})</i> '
        f"{escape(q.text)}</p>{shown}<details><summary>Answer</summary>{key}</details></div>"
    )


def to_jupyterquiz(quiz: Quiz) -> str:
    """The quiz as jupyterquiz's JSON list of questions."""
    return json.dumps(quiz.to_jupyterquiz(), indent=2, ensure_ascii=False) + "\n"


def to_qti(quiz: Quiz, groups: Sequence[tuple[str, Quiz]] = ()) -> bytes:
    """The quiz as a QTI zip (Canvas and other LMSs import it), made by text2qti; with `groups`
    (student id, that student's quiz), one question group per student instead, each question's
    text led by its student's id, `quiz` giving only the title.

    Raises InvalidQuiz, naming the question, for what text2qti refuses: two questions with the
    same text, a numeric key whose range comes within 0.0001 of zero.
    """
    from text2qti.config import Config  # imported here: it takes a tenth of a second
    from text2qti.err import Text2qtiError
    from text2qti.qti import QTI
    from text2qti.quiz import GroupStart
    from text2qti.quiz import Quiz as Text2qtiQuiz

    lines = [f"Quiz title: {quiz.title}", ""]
    starts = []  # (first line number, question id)
    for student, part in groups or [("", quiz)]:
        _refuse_repeats(part)
        if student:
            lines += ["GROUP", f"pick: {len(part)}", ""]
        for n, q in enumerate(part.questions, 1):
            starts.append((len(lines) + 1, q.id))
            lines += [
                *_qti_question(n, replace(q, text=f"({student}) {q.text}") if student else q),
                "",
            ]
        if student:
            lines += ["END_GROUP", ""]
    try:
        parsed = Text2qtiQuiz("\n".join(lines), config=Config(), source_name=quiz.name)
        delims = [d for d in parsed.questions_and_delims if isinstance(d, GroupStart)]
        for (student, _), delim in zip(groups, delims, strict=True):
            delim.group.title_xml = escape(student)  # text2qti names every group "Group"
        return QTI(parsed).zip_bytes()
    except Text2qtiError as error:
        line = re.search(r"on line (\d+)", str(error))
        ids = [i for start, i in starts if line and start <= int(line[1])]
        where = f"question {ids[-1]!r}" if ids else f"quiz {quiz.name!r}"
        reason = str(error).splitlines()[-1]
        raise InvalidQuiz(f"{where}: text2qti cannot write it as QTI: {reason}") from error


def _refuse_repeats(quiz: Quiz) -> None:
    asked: dict[tuple[str, str], str] = {}
    for q in quiz.questions:
        first = asked.setdefault((q.text, q.shown_code), q.id)
        if first != q.id:
            raise InvalidQuiz(
                f"questions {first!r} and {q.id!r} ask the same; QTI takes each question once"
            )


def to_roster_key(title: str, variants: Sequence[tuple[str, Quiz]]) -> str:
    """An instructor's Markdown key for a roster: a table of each student's keys, in order."""
    lines = [f"# {_md(title)}: answer key"]
    for student, quiz in variants:
        lines += ["", f"## {_md(student)}", "", "| # | question | difficulty | key | answer |"]
        lines.append("|---|---|---|---|---|")
        for n, q in enumerate(quiz.questions, 1):
            answer = _inline(q.answer_text) if q.value is None else ""
            cells = [str(n), _code_span(q.id), q.difficulty, _md(q.key), answer]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def export(quiz: Quiz, fmt: str) -> dict[str, bytes]:
    """The files of `quiz` in format `fmt` (one of FORMATS): file name -> contents."""
    match fmt:
        case "gift":
            return {f"{quiz.name}.gift": to_gift(quiz).encode()}
        case "jupyterquiz":
            return {f"{quiz.name}.json": to_jupyterquiz(quiz).encode()}
        case "markdown":
            student, key = to_markdown(quiz)
            return {f"{quiz.name}.md": student.encode(), f"{quiz.name}_key.md": key.encode()}
        case "qti":
            return {f"{quiz.name}_qti.zip": to_qti(quiz)}
    raise InvalidQuiz(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")


def _qti_question(n: int, q: Question) -> list[str]:
    """The question in text2qti's plain-text format; continuation lines indented under it."""
    parts = [_md(q.text), *_shown_blocks(q)]
    if q.unit:
        parts.append(_md(_unit_note(q)))
    head, body = f"{n}.  ", "\n\n".join(parts)
    lines = [f"Title: {q.id}", head + body.replace("\n", "\n" + " " * len(head))]
    if q.solution:
        lines.append("...  " + _md("\n".join(q.solution)))
    if q.hint:
        lines.append(f"-    {_md('Hint: ' + q.hint)}")
    if q.value is None:
        for letter, o in zip(q.letters.lower(), q.options, strict=True):
            lines.append(f"{'*' if o.correct else ''}{letter})  {_inline(o.text)}")
            if o.feedback:
                lines.append(f"...  {_md(o.feedback)}")
    else:
        low, high = q.bounds
        lines.append(f"=    [{number_text(low)}, {number_text(high)}]")
    return lines


def _shown_blocks(q: Question) -> list[str]:
    """The command line and the run's table shown with a question, as Markdown code blocks."""
    return [_code_block(part) for part in (q.code, q.evidence) if part]


def _gift_body(q: Question) -> str:
    """The question's text with a format Moodle keeps: plain text, or HTML whose `<pre>` blocks
    keep a command line and a table's columns in a fixed-width font."""
    if not q.shown_code:
        return "[plain]" + "\n\n".join(part for part in (q.text, _unit_note(q)) if part)
    html = [f"<p>{_html(q.text)}</p>"]
    html += [f"<pre>{escape(part, quote=False)}</pre>" for part in (q.code, q.evidence) if part]
    if q.unit:
        html.append(f"<p>{_html(_unit_note(q))}</p>")
    return "[html]" + "".join(html)


def _html(text: str) -> str:
    return escape(text, quote=False).replace("\n", "<br>")


def _unit_note(q: Question) -> str:
    return f"Answer with a number (in {q.unit})." if q.unit else ""


def _gift(text: str) -> str:
    """`text` with GIFT's special characters escaped by a backslash, newlines as `\\n`."""
    return _GIFT_SPECIAL.sub(lambda m: "\\n" if m[0] == "\n" else "\\" + m[0], text)


def _gift_field(text: str, wrong_option: bool = False) -> str:
    """An escaped option or feedback that Moodle reads as text, whatever it starts with."""
    if _GIFT_FORMAT.match(text):
        return "[plain]" + _gift(text)
    if wrong_option and _GIFT_WEIGHT.match(text):
        return "%0%" + _gift(text)
    return _gift(text)


def _gift_comment(text: str, label: str) -> list[str]:
    return [f"// {label}{line}" for line in text.split("\n")] if text else []


def _md(text: str) -> str:
    """`text` as Markdown that renders as itself; newlines become `<br>`."""
    text = _MD_ESCAPE.sub(lambda m: "\\" + m[0], "".join(_MD_ENTITIES.get(c, c) for c in text))
    text = _MD_BLOCK_START.sub(lambda m: m[0][:-1] + "\\" + m[0][-1], text)
    return text.replace("\n", "<br>")


def _is_code(text: str) -> bool:
    """A dict or list literal, or an `mrsandbox` command line, on one line."""
    if "\n" in text:
        return False
    return text.startswith("mrsandbox ") or (text[:1], text[-1:]) in {("{", "}"), ("[", "]")}


def _inline(text: str) -> str:
    """An option: code as an inline code span, anything else as escaped Markdown."""
    return _code_span(text) if _is_code(text) else _md(text)


def _code_span(text: str) -> str:
    fence = _fence(text, 1)
    pad = " " if "`" in text else ""  # so that a backtick at either end stays inside
    return f"{fence}{pad}{text}{pad}{fence}"


def _code_block(code: str) -> str:
    fence = _fence(code, 3)
    return f"{fence}\n{code}\n{fence}"


def _fence(text: str, shortest: int) -> str:
    """Backticks that no run of backticks in `text` can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(shortest, longest + 1)
