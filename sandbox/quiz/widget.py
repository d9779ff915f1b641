"""Take a quiz in Jupyter: our own ipywidgets quiz, or jupyterquiz's.

Each widget's display data carries, besides the widget, the quiz as static HTML (the answers
folded in `<details>`) and as text: Jupyter draws the widget, while a page exported without
the widgets' state (nbconvert's HTML) shows the static form."""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

try:
    import ipywidgets as widgets
    from jupyterquiz import display_quiz
except ModuleNotFoundError as error:
    raise ModuleNotFoundError(
        f"{error.msg}; the notebook quiz needs the lessons extra: "
        "pip install 'multiregion-sandbox[lessons]'",
        name=error.name,
    ) from error

from sandbox.quiz.export import question_html, quiz_html, to_markdown
from sandbox.quiz.model import Question, Quiz
from sandbox.quiz.review import Marks


class QuestionWidget(widgets.VBox):
    """One question: its `choice` (RadioButtons or FloatText), `check_button` and `feedback`."""

    def __init__(self, question: Question, number: int, total: int, on_check: Callable[[], None]):
        self.question, self.number = question, number
        self.right: bool | None = None  # None until checked
        self._on_check = on_check
        head = f"<b>Question {number} of {total}</b> ({escape(question.difficulty)})"
        parts: list[widgets.Widget] = [widgets.HTML(f"{head}<p>{escape(question.text)}</p>")]
        for shown in (question.code, question.evidence):  # the command line, the run's table
            if shown:
                parts.append(widgets.HTML(f"<pre>{escape(shown)}</pre>"))
        if question.value is None:
            # RadioButtons show their labels as plain text: no escaping here.
            self.choice: widgets.RadioButtons | widgets.FloatText = widgets.RadioButtons(
                options=[
                    (f"{letter}. {option.text}", letter)
                    for letter, option in zip(question.letters, question.options, strict=True)
                ],
                value=None,
                layout=widgets.Layout(width="max-content"),
            )
            parts.append(self.choice)
        else:
            self.choice = widgets.FloatText(description="Answer:")
            parts.append(widgets.HBox([self.choice, widgets.Label(question.unit)]))
        self.check_button = widgets.Button(description="Check")
        self.check_button.on_click(self._check)
        self.feedback = widgets.HTML()
        super().__init__([*parts, self.check_button, self.feedback])

    def _check(self, _button: widgets.Button) -> None:
        question, answer = self.question, self.choice.value
        if answer is None:
            self.feedback.value = "<p>Choose an option first.</p>"
            return
        right = question.check(str(answer))
        if self.right is None:  # the first check counts; later ones only show feedback
            self.right = right
        if right:
            lines = ["<b>Correct.</b>"]
        elif question.value is not None:
            lines = [f"<b>Not quite:</b> the answer is {escape(question.key)}."]
        else:
            key = f"{question.key}. {question.answer_text}"
            lines = [f"<b>Not quite:</b> the answer is {escape(key)}"]
        if question.value is None:
            chosen = question.options[question.letters.index(answer)]
            if chosen.feedback:
                lines.append(f"{escape(answer)}: {escape(chosen.feedback)}")
        if question.hint:
            lines.append(f"<i>Hint:</i> {escape(question.hint)}")
        html = "".join(f"<p>{line}</p>" for line in lines)
        if question.solution:
            steps = "".join(f"<li>{escape(step)}</li>" for step in question.solution)
            html += f"<p>Solution:</p><ol>{steps}</ol>"
        self.feedback.value = html
        self._on_check()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        static = question_html(self.number, self.question)
        text = f"{self.number}. {self.question.text}"
        return {**super()._repr_mimebundle_(**kwargs), "text/html": static, "text/plain": text}


class QuizWidget(widgets.VBox):
    """A whole quiz: its `questions` (QuestionWidget), a running `score` label (with each
    difficulty's share) and, for the lesson's test once every question is checked, `verdict`."""

    def __init__(self, quiz: Quiz):
        self.quiz = quiz
        total = len(quiz)
        self.questions = [
            QuestionWidget(question, number, total, self._update_score)
            for number, question in enumerate(quiz.questions, 1)
        ]
        self.score = widgets.Label()
        self.verdict = widgets.HTML()
        self._update_score()
        title = widgets.HTML(f"<h3>{escape(quiz.title)}</h3>")
        super().__init__([title, *self.questions, self.score, self.verdict])

    @property
    def right(self) -> int:
        """How many questions were right at their first check."""
        return sum(bool(q.right) for q in self.questions)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        static = f"<h3>{escape(self.quiz.title)}</h3>{quiz_html(self.quiz)}"
        text = to_markdown(self.quiz)[0]  # the handout: questions and options, no key
        return {**super()._repr_mimebundle_(**kwargs), "text/html": static, "text/plain": text}

    def _update_score(self) -> None:
        checked = [(q.question, bool(q.right)) for q in self.questions if q.right is not None]
        marks = Marks.of(checked)
        levels = f" ({marks.levels()})" if checked else ""
        self.score.value = f"{self.right} of {len(self.questions)} right{levels}"
        if self.quiz.verdict and len(checked) == len(self.questions):
            head, *review = marks.verdict()
            items = "".join(f"<li>{escape(line.strip(' -'))}</li>" for line in review)
            self.verdict.value = f"<p>{escape(head)}</p>" + (f"<ul>{items}</ul>" if items else "")


def show_jupyterquiz(quiz: Quiz, **options: Any) -> None:
    """Display `quiz` with jupyterquiz; `options` go to `display_quiz` (e.g. shuffle_answers)."""
    display_quiz(quiz.to_jupyterquiz(), **options)
