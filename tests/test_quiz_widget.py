"""The notebook quiz: our widget clicked like a learner would, and jupyterquiz's display."""

from __future__ import annotations

import atexit
import builtins
import importlib
import json
import sys
from dataclasses import replace
from html import escape

import ipywidgets as widgets
import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.display import display
from IPython.utils.capture import capture_output
from traitlets.config import Config

from sandbox.quiz.export import to_markdown
from sandbox.quiz.model import Option, Question, Quiz
from sandbox.quiz.widget import QuizWidget, show_jupyterquiz

QUIZ = Quiz(
    name="failover",
    title="Failover <basics>",
    questions=(
        Question(
            id="outcome",
            text="eu-west-1 is down. Which regions succeed?",
            options=(
                Option("{'us-east-1': 'success'}", correct=True, feedback="Only us-east-1 is up."),
                Option(
                    "{'us-east-1': 'success', 'eu-west-1': 'success'}",
                    feedback="A region that is down cannot succeed.",
                ),
                Option("{}", feedback="us-east-1 is still healthy."),
            ),
            hint="Look at which region the fault targets.",
            solution=("Run the deployment with the fault.", "Read the outcome per region."),
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
        ),
        Question(
            id="markup",
            text="Which tag makes text bold when p < 0.5 & q > 1?",
            options=(
                Option("<b>", correct=True, feedback="<b> is bold."),
                Option("<i>", feedback="<i> is italic & slanted."),
                Option("<u>", feedback="<u> underlines."),
            ),
            hint="b for <b>old",
        ),
    ),
)


def check(widget: QuizWidget, index: int, answer: str | float) -> str:
    """Answer question `index` as a learner would, click Check; return the feedback HTML."""
    question = widget.questions[index]
    question.choice.value = answer
    question.check_button.click()
    return question.feedback.value


def texts(widget: widgets.Widget) -> list[str]:
    """The values of every HTML widget inside `widget`."""
    if isinstance(widget, widgets.HTML):
        return [widget.value]
    return [text for child in getattr(widget, "children", ()) for text in texts(child)]


def test_shows_every_question_unchecked_with_the_score_at_zero():
    widget = QuizWidget(QUIZ)
    assert len(widget.questions) == 3
    assert widget.score.value == "0 of 3 right"
    assert all(q.feedback.value == "" and q.right is None for q in widget.questions)
    first = widget.questions[0]
    assert isinstance(first.choice, widgets.RadioButtons)
    assert first.choice.value is None
    assert first.choice.options[0] == ("A. {'us-east-1': 'success'}", "A")
    assert first.check_button.description == "Check"
    assert isinstance(widget.questions[1].choice, widgets.FloatText)
    html = " ".join(texts(widget))
    assert "Question 1 of 3" in html
    assert "eu-west-1 is down. Which regions succeed?" in html
    assert "<pre>mrsandbox deploy --fault eu-west-1:down</pre>" in html


def test_the_right_choice_says_correct_and_counts():
    widget = QuizWidget(QUIZ)
    feedback = check(widget, 0, "A")
    assert "Correct." in feedback
    assert "Not quite" not in feedback
    assert "A: Only us-east-1 is up." in feedback
    assert "<li>Run the deployment with the fault.</li>" in feedback
    assert widget.score.value == "1 of 3 right (medium 1/1)"


def test_a_wrong_choice_shows_the_key_the_feedback_and_the_hint():
    widget = QuizWidget(QUIZ)
    feedback = check(widget, 0, "B")
    assert (
        "Not quite:</b> the answer is A. {&#x27;us-east-1&#x27;: &#x27;success&#x27;}" in feedback
    )
    assert "B: A region that is down cannot succeed." in feedback
    assert "Hint:</i> Look at which region the fault targets." in feedback
    assert "Correct." not in feedback
    assert widget.score.value == "0 of 3 right (medium 0/1)"


def test_the_score_counts_the_first_check_of_each_question():
    widget = QuizWidget(QUIZ)
    check(widget, 0, "A")
    check(widget, 2, "A")
    assert widget.score.value == "2 of 3 right (medium 2/2)"
    check(widget, 0, "C")  # a second try shows its feedback but keeps the first result
    assert "Not quite" in widget.questions[0].feedback.value
    assert widget.score.value == "2 of 3 right (medium 2/2)"
    check(widget, 1, 10.0)  # wrong first, then right once the key was shown: still wrong
    check(widget, 1, 120.0)
    assert widget.score.value == "2 of 3 right (medium 2/3)"


def test_checking_without_a_choice_asks_for_one():
    widget = QuizWidget(QUIZ)
    widget.questions[0].check_button.click()
    assert "Choose an option first." in widget.questions[0].feedback.value
    assert widget.questions[0].right is None
    assert widget.score.value == "0 of 3 right"


@pytest.mark.parametrize("value", [120.0, 115.0, 125.0, 118.5])
def test_a_number_within_the_range_is_right(value):
    widget = QuizWidget(QUIZ)
    assert "Correct." in check(widget, 1, value)
    assert widget.score.value == "1 of 3 right (medium 1/1)"


@pytest.mark.parametrize("value", [114.9, 125.1, 0.0, -120.0])
def test_a_number_outside_the_range_is_wrong(value):
    widget = QuizWidget(QUIZ)
    feedback = check(widget, 1, value)
    assert "Not quite:</b> the answer is 120 ms (right from 115 to 125 ms)." in feedback
    assert "Hint:</i> Add the network and the model time." in feedback
    assert widget.score.value == "0 of 3 right (medium 0/1)"


def test_html_in_texts_shows_literally():
    widget = QuizWidget(QUIZ)
    html = " ".join(texts(widget))
    assert "Failover &lt;basics&gt;" in html
    assert "p &lt; 0.5 &amp; q &gt; 1" in html
    # RadioButtons show labels as plain text, so they keep the raw characters.
    labels = [label for label, _ in widget.questions[2].choice.options]
    assert labels == ["A. <b>", "B. <i>", "C. <u>"]
    feedback = check(widget, 2, "B")
    assert "the answer is A. &lt;b&gt;" in feedback
    assert "B: &lt;i&gt; is italic &amp; slanted." in feedback
    assert "b for &lt;b&gt;old" in feedback
    assert "<b>old" not in feedback
    assert "<i> is" not in feedback


@pytest.fixture
def shell(tmp_path, monkeypatch):
    """An IPython shell, as in a notebook; what it changes in the process is put back after."""
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path))
    monkeypatch.setitem(sys.modules, "__main__", sys.modules["__main__"])
    for name in ("display", "__IPYTHON__"):  # the shell adds these to builtins
        monkeypatch.setattr(builtins, name, getattr(builtins, name, None), raising=False)
    config = Config()
    config.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=config)
    yield shell
    atexit.unregister(shell.atexit_operations)
    InteractiveShell.clear_instance()


def test_the_widget_displays_as_a_widget_view(shell):
    widget = QuizWidget(QUIZ)
    with capture_output() as captured:
        display(widget)
    [output] = captured.outputs
    view = output.data["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == widget.model_id


def test_the_display_data_carries_a_static_form_with_the_answers_folded(shell):
    widget = QuizWidget(QUIZ)
    with capture_output() as captured:
        display(widget)
    [output] = captured.outputs
    assert output.data["application/vnd.jupyter.widget-view+json"]["model_id"] == widget.model_id
    assert output.data["text/plain"] == to_markdown(QUIZ)[0]  # the handout: no key
    title, *questions = output.data["text/html"].split('<div class="question">')
    assert title == f"<h3>{escape(QUIZ.title)}</h3>"
    assert len(questions) == len(QUIZ.questions)
    for question, static in zip(QUIZ.questions, questions, strict=True):
        shown, folded = static.split("<details><summary>Answer</summary>")
        assert escape(question.text) in shown
        for letter, option in zip(question.letters, question.options, strict=True):
            assert f"<li>{letter}. {escape(option.text)}</li>" in shown
            assert escape(option.feedback) in folded
        if question.value is not None:
            assert f"Answer with a number (in {question.unit})." in shown
        key = (
            question.key
            if question.value is not None
            else f"{question.key}. {question.answer_text}"
        )
        assert f"<p>{escape(key)}</p>" in folded and f"<p>{escape(key)}</p>" not in shown
        assert escape(question.hint) in folded and question.hint not in shown
        assert all(f"<li>{escape(step)}</li>" in folded for step in question.solution)
    assert "<b>old" not in output.data["text/html"]  # texts show literally
    second = QuizWidget(QUIZ).questions[1]._repr_mimebundle_()
    assert second["text/html"].startswith('<div class="question"><p><b>2.</b>')
    assert second["text/plain"] == f"2. {QUIZ.questions[1].text}"


def test_show_jupyterquiz_embeds_every_question_and_answer(shell):
    with capture_output() as captured:
        show_jupyterquiz(QUIZ)
    shown = "\n".join(
        output.data.get("text/html", "") + output.data.get("application/javascript", "")
        for output in captured.outputs
    )
    for question in QUIZ.questions:
        assert json.dumps(question.text) in shown
        for option in question.options:
            assert json.dumps(option.text) in shown
    assert '"range": [114.999999999, 125.000000001]' in shown
    assert 'data-shuffleanswers="True"' in shown


def test_show_jupyterquiz_passes_its_options_on(shell):
    with capture_output() as captured:
        show_jupyterquiz(QUIZ, shuffle_answers=False, max_width=800)
    html = "".join(output.data.get("text/html", "") for output in captured.outputs)
    assert 'data-shuffleanswers="False"' in html
    assert 'data-maxwidth="800"' in html


@pytest.mark.parametrize("missing", ["ipywidgets", "jupyterquiz"])
def test_without_the_lessons_extra_the_error_says_what_to_install(monkeypatch, missing):
    monkeypatch.setitem(sys.modules, missing, None)  # what Python does for a missing module
    monkeypatch.delitem(sys.modules, "sandbox.quiz.widget")
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'multiregion-sandbox\[lessons\]'"):
        importlib.import_module("sandbox.quiz.widget")


def test_a_question_about_a_table_shows_the_table_after_its_command():
    table = "Process Table\nStep | Action\n-----+-------\n1    | Select <region> & go"
    first = replace(QUIZ.questions[0], evidence=table)
    html = texts(QuizWidget(replace(QUIZ, questions=(first,))))
    pre = [h for h in html if h.startswith("<pre>")]
    assert pre == [
        "<pre>mrsandbox deploy --fault eu-west-1:down</pre>",
        "<pre>Process Table\nStep | Action\n-----+-------\n"
        "1    | Select &lt;region&gt; &amp; go</pre>",
    ]


def test_the_lessons_test_ends_with_a_verdict_once_every_question_is_checked():
    widget = QuizWidget(replace(QUIZ, verdict=True))
    check(widget, 0, "A")
    check(widget, 1, 120.0)
    assert widget.verdict.value == ""  # not until the last question is checked
    check(widget, 2, "B")
    assert widget.score.value == "2 of 3 right (medium 2/3)"
    assert widget.verdict.value.startswith("<p>Verdict: not yet strong")
    assert "<li>the lesson&#x27;s material" in widget.verdict.value


def test_a_quiz_without_a_verdict_never_shows_one():
    widget = QuizWidget(QUIZ)
    for index, answer in enumerate(("A", 120.0, "A")):
        check(widget, index, answer)
    assert widget.score.value == "3 of 3 right (medium 3/3)"
    assert widget.verdict.value == ""
