"""A live class: students join with an id and get their own variant of one quiz set (the same id,
the same variant, as `--student` gives), answer question by question, and see feedback only once
the instructor reveals a question; the instructor sees the room's answers, each wrong one by the
misconception it stands for, and a gradebook. Questions are numbered q1, q2, ... in every
variant, so that a reveal and a distribution are about the same place of everyone's quiz."""

from __future__ import annotations

import csv
import io
import json
import re
import threading
import unicodedata
from typing import Any

from sandbox.classroom.errors import Refused, fields, index, number
from sandbox.classroom.errors import shown as shown_json
from sandbox.classroom.predict import Observer, Prediction, Predictions, checked_prediction
from sandbox.classroom.store import Store
from sandbox.quiz.generate import student_seed
from sandbox.quiz.misconceptions import MISCONCEPTIONS
from sandbox.quiz.model import Question, Quiz
from sandbox.quiz.sets import quiz_for

MAX_ID = 64  # characters of a student id
BIG = 1e15  # a number answer is within this (an int of any size is JSON; a float is finite)
OUTSIDE_RANGE = "a number outside the range judged right"  # a wrong numeric answer's belief


def student_key(student: object) -> tuple[str, str]:
    """(key, shown) of a student id: the key ignores case and surrounding spaces, as the seed
    does. Refuses anything but 1 to MAX_ID printable characters."""
    if not isinstance(student, str):
        raise Refused(
            400, f'student: expected the id as text, e.g. "ada", got {shown_json(student)}'
        )
    shown = unicodedata.normalize("NFC", student.strip())  # one id however it was typed
    if not shown or len(shown) > MAX_ID:
        raise Refused(400, f"student: give 1 to {MAX_ID} characters, got {len(shown)}")
    if any(unicodedata.category(c).startswith("C") for c in shown):
        raise Refused(400, "student: only printable characters, no control characters")
    return shown.casefold(), shown


class Room:
    """One class: its quiz set, its students and their answers, kept in `store`."""

    def __init__(
        self,
        store: Store,
        set_name: str,
        count: int | None = None,
        scenario: str | None = None,
        observer: Observer | None = None,
    ) -> None:
        """`observer`: the live fleet beside the class, for predictions (None: no fleet)."""
        # refuse a bad set, count or scenario at once; every variant has as many questions
        self.size = len(quiz_for(set_name, 0, count, scenario).questions)
        wanted = {"set": set_name, "count": str(count or ""), "scenario": scenario or ""}
        self.store = store
        self.set_name, self.count, self.scenario = set_name, count, scenario
        settings = store.settings(wanted)
        self.instructor_token, self.salt = settings["instructor_token"], settings.get("salt", "")
        regions = observer.fleet.regions if observer is not None else ()
        self.predictions = Predictions(store, observer, regions)
        self._quizzes: dict[str, Quiz] = {}
        self._building: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    # -- students --------------------------------------------------------------------------

    def join(self, student: object) -> str:
        """A new student's token. An id that joined already is refused (409): its token stays
        with the page that joined, and is never handed to whoever types the id; `release`
        lets it join again."""
        key, shown = student_key(student)
        token = self.store.join(key, shown)
        if token is None:
            raise Refused(
                409,
                f"{shown} has joined already: go on in the page that joined, or ask the "
                "instructor to let you in again",
            )
        return token

    def release(self, student: object) -> dict[str, Any]:
        """Let a student join again (their page was lost); the old token stops working."""
        key, shown = student_key(student)
        if not self.store.release(key):
            raise Refused(404, f"student: {shown_json(shown)} has not joined")
        return {"released": shown}

    def student(self, token: str) -> tuple[str, str]:
        """(key, shown id) of a student token; 403 for any other token."""
        found = self.store.student(token) if token else None
        if found is None:
            raise Refused(403, "a student's token is needed: join first (POST /class/api/join)")
        return found

    def quiz(self, key: str, shown: str) -> Quiz:
        """The student's variant (built once, then kept)."""
        with self._lock:
            if key in self._quizzes:
                return self._quizzes[key]
            building = self._building.setdefault(key, threading.Lock())
        with building:  # one build a student, however many requests ask at once
            if key not in self._quizzes:  # drawn with the class's secret: no command prints it
                seed = student_seed(self.salt + key)
                made = quiz_for(self.set_name, seed, self.count, self.scenario)
                with self._lock:
                    self._quizzes[key] = made
        return self._quizzes[key]

    def questions(self, key: str, shown: str) -> dict[str, Question]:
        """The student's questions by their place in the class: q1, q2, ..."""
        return {f"q{n}": q for n, q in enumerate(self.quiz(key, shown).questions, 1)}

    def sheet(self, token: str) -> dict[str, Any]:
        """What a student sees: the questions and options, no key and no feedback."""
        key, shown = self.student(token)
        asked = self.questions(key, shown)
        return {
            "student": shown,
            "title": re.sub(r" \(seed \d+\)", "", self.quiz(key, shown).title),
            "questions": [
                {
                    "id": qid,
                    "text": q.text,
                    "code": q.shown_code,
                    "type": q.type,
                    "options": [o.text for o in q.options],
                    "unit": q.unit,
                }
                for qid, q in asked.items()
            ]
            + [
                {"id": qid, "code": "", **q} for qid, (_, q) in self.predictions.questions().items()
            ],
        }

    def answer(self, token: str, body: object) -> dict[str, Any]:
        """Store a student's answer (`{"question": "q1", "answer": 2}`: an option's index from 0,
        or a number); replaces an earlier one until the question is revealed (409 after)."""
        key, shown = self.student(token)
        body = fields(body, {"question": "q1", "answer": 0})
        asked = self.questions(key, shown)
        predicted = self.predictions.questions()
        qid = body["question"]
        if not isinstance(qid, str) or (qid not in asked and qid not in predicted):
            known = ", ".join([*asked, *predicted])
            raise Refused(404, f"question: {shown_json(qid)} is not one of {known}")
        if qid in predicted:
            value = checked_prediction(predicted[qid][1], body["answer"])
        else:
            value = _checked(asked[qid], body["answer"])
        if not self.store.answer(key, qid, json.dumps(value)):
            raise Refused(409, f"{qid} was revealed: its answers are final")
        return {"question": qid, "answer": value}

    def me(self, token: str) -> dict[str, Any]:
        """A student's own answers; for each revealed question, whether it was right, the
        feedback and the key; the score over the revealed questions."""
        key, shown = self.student(token)
        mine = self.store.answers(key).get(key, {})
        revealed = self.store.revealed()
        rows, right = [], 0
        for qid, q in self.questions(key, shown).items():
            given = json.loads(mine[qid]) if qid in mine else None
            row: dict[str, Any] = {"id": qid, "answer": given, "revealed": qid in revealed}
            if qid in revealed:
                correct = given is not None and _right(q, given)
                right += correct
                row |= {
                    "correct": correct,
                    "key": q.key if q.value is not None else q.answer_text,
                    "feedback": _feedback(q, given),
                }
            rows.append(row)
        for qid, (prediction, _) in self.predictions.questions().items():
            given = json.loads(mine[qid]) if qid in mine else None
            row = {"id": qid, "answer": given, "revealed": prediction.observed}
            if prediction.observed:
                correct = given is not None and prediction.right(qid, given)
                right += correct
                row |= {
                    "correct": correct,
                    "key": prediction.key(qid),
                    "feedback": prediction.told(qid),
                }
            rows.append(row)
        shown_revealed = sum(r["revealed"] for r in rows)
        return {"student": shown, "answers": rows, "score": right, "revealed": shown_revealed}

    # -- the instructor ------------------------------------------------------------------------

    def reveal(self, qid: object) -> dict[str, Any]:
        """Reveal a question to everyone (a prediction's are revealed by observing it)."""
        asked = [f"q{n}" for n in range(1, self.size + 1)]
        if qid not in asked:
            said = f"question: {shown_json(qid)} is not one of q1 to q{self.size}"
            raise Refused(404, said)
        self.store.reveal(str(qid))
        revealed = self.store.revealed()
        return {"revealed": [q for q in asked if q in revealed]}

    def results(self) -> dict[str, Any]:
        """The room: how many joined and answered; per question, the answers, each wrong one
        under the misconception it stands for."""
        students = self.store.students()
        answers = self.store.answers()
        revealed = self.store.revealed()
        per: dict[str, dict[str, Any]] = {}
        for key, shown in students:
            for qid, q in self.questions(key, shown).items():
                row = per.setdefault(
                    qid,
                    {
                        "id": qid,
                        "answered": 0,
                        "correct": 0,
                        "misconceptions": {},
                        "revealed": qid in revealed,
                    },
                )
                if qid not in answers.get(key, {}):
                    continue
                given = json.loads(answers[key][qid])
                row["answered"] += 1
                if _right(q, given):
                    row["correct"] += 1
                    continue
                name = _misconception(q, given)
                belief = MISCONCEPTIONS.get(name, OUTSIDE_RANGE)
                entry = row["misconceptions"].setdefault(
                    name, {"name": name, "belief": belief, "count": 0}
                )
                entry["count"] += 1
        questions = sorted(per.values(), key=lambda r: int(r["id"][1:]))
        for row in questions:
            row["misconceptions"] = sorted(
                row["misconceptions"].values(), key=lambda m: -m["count"]
            )
        answered = sum(1 for key, _ in students if answers.get(key))
        return {
            "joined": len(students),
            "answered": answered,
            "questions": questions,
            "predictions": [self._predicted(p, answers) for p in self.predictions.all()],
            "fleet": list(self.predictions.regions),  # empty: no fleet, no prediction
        }

    def _predicted(self, p: Prediction, answers: dict[str, dict[str, str]]) -> dict[str, Any]:
        """A prediction for the board: the room's answers; what the fleet did, once observed."""
        where: dict[str, int] = dict.fromkeys(p.regions, 0)
        when: list[float] = []
        right = {f"{p.id}-where": 0, f"{p.id}-when": 0}
        for mine in answers.values():
            for qid in right:
                if qid not in mine:
                    continue
                given = json.loads(mine[qid])
                if qid.endswith("-where"):
                    where[p.regions[given]] += 1
                else:
                    when.append(given)
                right[qid] += p.observed and p.right(qid, given)
        bounds = list(p.bounds()) if p.observed else None
        return {
            "id": p.id,
            "near": p.near,
            "fail": p.fail,
            "where": where,
            "when": sorted(when),
            "observed": p.observed,
            "served_by": p.served_by,
            "seconds": p.seconds,
            "right_from_to": bounds,
            "correct": right if p.observed else None,
        }

    def gradebook(self) -> str:
        """A CSV with one row a student and one column a question (1 right, 0 wrong or none),
        then the total: the shape Moodle's and Canvas's gradebook imports read (Canvas matches
        rows by `SIS User ID`, Moodle by the column mapped to ID number: the id each student
        typed, so ask them to join with their institution's id)."""
        students = self.store.students()
        answers = self.store.answers()
        count = max((len(self.quiz(k, s).questions) for k, s in students), default=0)
        out = io.StringIO()
        writer = csv.writer(out)
        observed = {q: pq for q, pq in self.predictions.questions().items() if pq[0].observed}
        columns = [*(f"q{n}" for n in range(1, count + 1)), *observed]
        writer.writerow(["Student", "SIS User ID", *columns, "Total"])
        for key, shown in students:
            mine = answers.get(key, {})
            marks = [
                int(qid in mine and _right(q, json.loads(mine[qid])))
                for qid, q in self.questions(key, shown).items()
            ] + [
                int(qid in mine and p.right(qid, json.loads(mine[qid])))
                for qid, (p, _) in observed.items()
            ]
            writer.writerow([as_text(shown), as_text(shown), *marks, sum(marks)])
        return out.getvalue()


def as_text(cell: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula (`=`, `+`, `-`, `@`)."""
    return f"'{cell}" if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


def _checked(question: Question, answer: object) -> float | int:
    """An answer as stored: an option's index, or a number within BIG either way."""
    if question.value is None:
        return index(answer, len(question.options))
    return number(answer, -BIG, BIG)


def _right(question: Question, given: float | int) -> bool:
    if question.value is None:
        return bool(question.options[int(given)].correct)
    return question.check(str(given))


def _feedback(question: Question, given: float | int | None) -> str:
    if given is None:
        return f"No answer. The answer: {question.answer_text}. {' '.join(question.solution)}"
    if question.value is None:
        return question.options[int(given)].feedback
    verdict = "Right." if question.check(str(given)) else f"Not quite: {question.key}."
    return f"{verdict} {' '.join(question.solution)}"


def _misconception(question: Question, given: float | int) -> str:
    if question.value is None:
        return question.options[int(given)].misconception or "other"
    return "outside_range"
