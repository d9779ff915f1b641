"""`mrsandbox class serve`'s API over real HTTP: joining, each student's own variant, answers
stored once and final after a reveal, no key before it, the room's distribution by
misconception, the gradebook, a restart that loses nothing, 100 students at once, and bad input
over every route answered with a JSON 4xx."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from sandbox.classroom.app import class_app
from sandbox.classroom.room import Room
from sandbox.classroom.store import Store
from sandbox.live.server import ServerThread
from sandbox.quiz.generate import student_seed
from sandbox.quiz.sets import quiz_for

SET = "visual"


class Class:
    """A class served on a free port: its URL, its room, and a client."""

    def __init__(self, db: Path, set_name: str = SET, count: int | None = None) -> None:
        self.store = Store(db)
        self.room = Room(self.store, set_name, count)
        self.server = ServerThread(class_app(self.room)).start()
        self.url = self.server.url
        self.http = requests.Session()

    def call(self, method: str, path: str, token: str | None = None, **kw):
        headers = kw.pop("headers", {}) | ({"Authorization": f"Bearer {token}"} if token else {})
        return self.http.request(method, self.url + path, headers=headers, timeout=30, **kw)

    def join(self, student: str) -> str:
        answer = self.call("POST", "/class/api/join", json={"student": student})
        assert answer.status_code == 200, answer.text
        return answer.json()["token"]

    def stop(self) -> None:
        self.server.stop()
        self.store.close()


@pytest.fixture
def room(tmp_path) -> Iterator[Class]:
    served = Class(tmp_path / "class.sqlite")
    try:
        yield served
    finally:
        served.stop()


def variant(room: Class, student: str, set_name: str = SET, count: int | None = None):
    """`student`'s variant, drawn apart from the server: the set's quiz for the seed of the
    class's secret and the id."""
    return quiz_for(set_name, student_seed(room.room.salt + student.casefold()), count, None)


def keys_of(room: Class, student: str) -> dict[str, int]:
    """The index of the right option of each question of `student`'s variant."""
    quiz = variant(room, student)
    return {
        f"q{n}": next(i for i, o in enumerate(q.options) if o.correct)
        for n, q in enumerate(quiz.questions, 1)
    }


def test_a_student_gets_their_own_variant_and_never_a_key_before_the_reveal(room):
    token = room.join("Ada")
    again = room.call("POST", "/class/api/join", json={"student": "  ada "})
    assert again.status_code == 409  # the same id, whatever its case and spaces: not handed out
    sheet = room.call("GET", "/class/api/quiz", token).json()
    expected = variant(room, "Ada")
    assert quiz_for(SET, None, None, None, "Ada").questions != expected.questions  # not --student's
    assert [q["text"] for q in sheet["questions"]] == [q.text for q in expected.questions]
    assert [q["options"] for q in sheet["questions"]] == [
        [o.text for o in q.options] for q in expected.questions
    ]
    said = json.dumps(sheet)
    for secret in ("correct", "feedback", "misconception", "solution", "hint"):
        assert secret not in said
    other = room.call("GET", "/class/api/quiz", room.join("bob")).json()
    assert [q["options"] for q in other["questions"]] != [q["options"] for q in sheet["questions"]]


def test_answers_replace_each_other_until_the_reveal_then_are_final(room):
    token = room.join("ada")
    keys = keys_of(room, "ada")
    wrong = (keys["q1"] + 1) % 2
    first = room.call("POST", "/class/api/answers", token, json={"question": "q1", "answer": wrong})
    assert first.status_code == 201 and first.json() == {"question": "q1", "answer": wrong}
    again = {"question": "q1", "answer": keys["q1"]}
    assert room.call("POST", "/class/api/answers", token, json=again).status_code == 201
    me = room.call("GET", "/class/api/me", token).json()
    assert me["answers"][0] == {"id": "q1", "answer": keys["q1"], "revealed": False}
    assert "feedback" not in json.dumps(me)
    instructor = room.room.instructor_token
    revealed = room.call("POST", "/class/api/reveal", instructor, json={"question": "q1"})
    assert revealed.json() == {"revealed": ["q1"]}
    late = room.call("POST", "/class/api/answers", token, json={"question": "q1", "answer": wrong})
    assert late.status_code == 409 and "revealed" in late.json()["error"]
    me = room.call("GET", "/class/api/me", token).json()
    q1, q2 = me["answers"][:2]
    assert q1["correct"] is True and q1["feedback"].startswith("Right")
    assert q2 == {"id": "q2", "answer": None, "revealed": False}
    assert me["score"] == 1 and me["revealed"] == 1
    stored = sqlite3.connect(room.store.path).execute("SELECT count(*) FROM answers").fetchone()
    assert stored == (1,)


def test_the_room_shows_each_wrong_answer_by_its_misconception(room):
    instructor = room.room.instructor_token
    for student in ("ada", "bob", "cy"):
        token = room.join(student)
        keys = keys_of(room, student)
        answer = keys["q1"] if student == "ada" else (keys["q1"] + 1) % 3
        room.call("POST", "/class/api/answers", token, json={"question": "q1", "answer": answer})
    results = room.call("GET", "/class/api/results", instructor).json()
    assert results["joined"] == 3 and results["answered"] == 3
    q1 = results["questions"][0]
    assert (q1["id"], q1["answered"], q1["correct"]) == ("q1", 3, 1)
    assert sum(m["count"] for m in q1["misconceptions"]) == 2
    assert all(m["belief"] and m["name"] != "other" for m in q1["misconceptions"])


def test_the_gradebook_has_a_row_a_student_and_a_column_a_question(room):
    instructor = room.room.instructor_token
    marks = {}
    for student, right in (("ada", 2), ("bob", 0)):
        token = room.join(student)
        keys = keys_of(room, student)
        for n, (qid, key) in enumerate(keys.items()):
            answer = key if n < right else (key + 1) % 2
            room.call("POST", "/class/api/answers", token, json={"question": qid, "answer": answer})
        marks[student] = right
    response = room.call("GET", "/class/api/gradebook.csv", instructor)
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["Student", "SIS User ID", "q1", "q2", "q3", "Total"]
    assert {r[0]: int(r[-1]) for r in rows[1:]} == marks
    assert [r[2:5] for r in rows[1:]] == [["1", "1", "0"], ["0", "0", "0"]]


def test_a_restart_on_the_same_file_loses_nothing(tmp_path):
    db = tmp_path / "class.sqlite"
    first = Class(db)
    try:
        token = first.join("ada")
        answer = {"question": "q2", "answer": 1}
        first.call("POST", "/class/api/answers", token, json=answer)
        first.call(
            "POST", "/class/api/reveal", first.room.instructor_token, json={"question": "q1"}
        )
        instructor = first.room.instructor_token
    finally:
        first.stop()
    second = Class(db)
    try:
        assert second.room.instructor_token == instructor
        me = second.call("GET", "/class/api/me", token).json()
        assert me["answers"][1]["answer"] == 1 and me["revealed"] == 1
    finally:
        second.stop()
    with pytest.raises(Exception, match="holds a class with set 'visual'"):
        Room(Store(db), "practice")


def test_a_hundred_students_answer_at_once_and_every_answer_is_stored_once(room):
    def student(n: int) -> int:
        token = room.join(f"student {n}")
        statuses = [
            room.call(
                "POST", "/class/api/answers", token, json={"question": q, "answer": n % 2}
            ).status_code
            for q in ("q1", "q2", "q3")
        ]
        return statuses.count(201)

    with ThreadPoolExecutor(max_workers=16) as pool:
        stored = list(pool.map(student, range(100)))
    assert stored == [3] * 100
    db = sqlite3.connect(room.store.path)
    assert db.execute("SELECT count(*), count(DISTINCT student) FROM answers").fetchone() == (
        300,
        100,
    )
    results = room.call("GET", "/class/api/results", room.room.instructor_token).json()
    assert results["joined"] == 100 and [q["answered"] for q in results["questions"]] == [100] * 3


@pytest.mark.parametrize(
    ("method", "path", "who", "body", "status", "says"),
    [
        ("POST", "/class/api/join", None, {"student": ""}, 400, "1 to 64 characters"),
        ("POST", "/class/api/join", None, {"student": "x" * 65}, 400, "1 to 64 characters"),
        ("POST", "/class/api/join", None, {"student": "a\nb"}, 400, "control characters"),
        ("POST", "/class/api/join", None, {"student": 7}, 400, "as text"),
        ("POST", "/class/api/join", None, {"student": "a", "x": 1}, 400, "expected"),
        ("POST", "/class/api/join", None, ["ada"], 400, "expected"),
        ("GET", "/class/api/quiz", None, None, 401, "Authorization: Bearer"),
        ("GET", "/class/api/quiz", "nope", None, 403, "join first"),
        ("GET", "/class/api/me", "nope", None, 403, "join first"),
        ("POST", "/class/api/answers", "student", {"question": "q9", "answer": 0}, 404, "q9"),
        ("POST", "/class/api/answers", "student", {"question": "q1", "answer": 9}, 400, "index"),
        ("POST", "/class/api/answers", "student", {"question": "q1", "answer": True}, 400, "index"),
        ("POST", "/class/api/answers", "student", {"question": "q1", "answer": "a"}, 400, "index"),
        ("POST", "/class/api/answers", "student", {"question": "q1"}, 400, "those two keys"),
        ("GET", "/class/api/results", "student", None, 403, "instructor"),
        ("GET", "/class/api/results", None, None, 401, "Bearer"),
        ("GET", "/class/api/gradebook.csv", "student", None, 403, "instructor"),
        ("POST", "/class/api/reveal", "instructor", {"question": "1"}, 404, "q1 to q3"),
        ("POST", "/class/api/reveal", "instructor", {"question": "q4"}, 404, "q1 to q3"),
        ("POST", "/class/api/join", None, {"student": "ADA"}, 409, "has joined already"),
        ("POST", "/class/api/release", "student", {"student": "ada"}, 403, "instructor"),
        ("POST", "/class/api/release", "instructor", {"student": "nobody"}, 404, "not joined"),
        (
            "POST",
            "/class/api/answers",
            "student",
            {"question": "q1", "answer": 0, "x": 1},
            400,
            '"x" is not one',
        ),
        ("POST", "/class/api/reveal", "student", {"question": "q1"}, 403, "instructor"),
        ("DELETE", "/class/api/join", None, None, 405, "not allowed"),
        ("GET", "/class/api/nothing", None, None, 404, "no route"),
        ("GET", "/class/static/../store.py", None, None, 404, ""),
    ],
)
def test_bad_input_gets_a_json_4xx_and_changes_nothing(room, method, path, who, body, status, says):
    token = {"student": room.join("ada"), "instructor": room.room.instructor_token}.get(who, who)
    before = sqlite3.connect(room.store.path).execute("SELECT count(*) FROM answers").fetchone()
    answer = (
        room.call(method, path, token, json=body)
        if body is not None
        else room.call(method, path, token)
    )
    assert answer.status_code == status
    assert says in answer.json()["error"]
    after = sqlite3.connect(room.store.path).execute("SELECT count(*) FROM answers").fetchone()
    assert before == after


def test_a_body_that_is_not_json_is_refused(room):
    answer = room.call("POST", "/class/api/join", data="student=ada")
    assert answer.status_code == 415 and "JSON" in answer.json()["error"]
    answer = room.call(
        "POST", "/class/api/join", data="{", headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400


# --- the command ---------------------------------------------------------------------------


def free_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return str(probe.getsockname()[1])


def test_a_port_taken_is_refused_saying_what_to_do(invoke, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = invoke(
            "class", "serve", "--set", SET, "--db", str(tmp_path / "c.sqlite"), "--port", port
        )
    assert result.exit_code == 2 and "give another --port" in result.output


def serve(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "sandbox", "class", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
    )


@pytest.mark.parametrize("stop_with", [signal.SIGINT, signal.SIGTERM])
def test_the_command_serves_until_stopped_and_keeps_every_answer(tmp_path, stop_with):
    process = serve("--set", SET, "--port", "0", cwd=tmp_path)
    try:
        ready = json.loads(process.stdout.readline())
        assert set(ready) == {"url", "instructor_token"}
        token = requests.post(ready["url"] + "/class/api/join", json={"student": "ada"}, timeout=30)
        headers = {"Authorization": f"Bearer {token.json()['token']}"}
        sent = requests.post(
            ready["url"] + "/class/api/answers",
            json={"question": "q1", "answer": 0},
            headers=headers,
            timeout=30,
        )
        assert sent.status_code == 201
        process.send_signal(stop_with)
        _, said = process.communicate(timeout=60)
        assert process.returncode == 0, said
        assert f"{ready['url']}/class" in said and "#token=" in said
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()  # closes the pipes
    db = sqlite3.connect(tmp_path / "class.sqlite")
    assert db.execute("SELECT count(*) FROM answers").fetchone() == (1,)


def test_the_command_refuses_bad_settings(invoke, tmp_path):
    bad = invoke("class", "serve", "--set", "nosuch", "--db", str(tmp_path / "c.sqlite"))
    assert bad.exit_code == 2 and "--set" in bad.output and "Traceback" not in bad.output
    folder = invoke("class", "serve", "--db", str(tmp_path))
    assert folder.exit_code == 2
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not a database")
    refused = invoke("class", "serve", "--set", SET, "--db", str(junk))
    assert refused.exit_code == 2 and "not a class's database" in refused.output
    assert junk.read_text() == "not a database"


def test_a_class_stopped_mid_question_goes_on_where_it_was(tmp_path):
    """The command stopped and started again on the same --db: the same tokens, the answers
    given, the question revealed; an answer changed after the restart replaces the old one."""
    port = free_port()
    first = serve("--set", SET, "--port", port, cwd=tmp_path)
    try:
        ready = json.loads(first.stdout.readline())
        token = requests.post(ready["url"] + "/class/api/join", json={"student": "ada"}, timeout=30)
        headers = {"Authorization": f"Bearer {token.json()['token']}"}
        answer = {"question": "q2", "answer": 0}
        requests.post(ready["url"] + "/class/api/answers", json=answer, headers=headers, timeout=30)
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    second = serve("--set", SET, "--port", port, cwd=tmp_path)
    try:
        again = json.loads(second.stdout.readline())
        assert again["instructor_token"] == ready["instructor_token"]
        assert again["url"] == ready["url"]  # the same address: the students' pages go on
        changed = {"question": "q2", "answer": 1}
        sent = requests.post(
            again["url"] + "/class/api/answers", json=changed, headers=headers, timeout=30
        )
        assert sent.status_code == 201
        me = requests.get(again["url"] + "/class/api/me", headers=headers, timeout=30).json()
        assert me["answers"][1]["answer"] == 1
        second.send_signal(signal.SIGINT)
        second.communicate(timeout=60)
        assert second.returncode == 0
    finally:
        if second.poll() is None:
            second.kill()
            second.communicate()
    db = sqlite3.connect(tmp_path / "class.sqlite")
    assert db.execute("SELECT count(*), max(answer) FROM answers").fetchone() == (1, "1")


def test_a_class_with_a_live_fleet_serves_both_and_stops_both(tmp_path):
    process = serve(
        "--set",
        SET,
        "--regions",
        "us-east-1,eu-west-1",
        "--time-scale",
        "0.05",
        "--port",
        "0",
        cwd=tmp_path,
    )
    try:
        ready = json.loads(process.stdout.readline())
        assert set(ready) == {"url", "instructor_token", "fleet"}
        state = requests.get(ready["fleet"] + "/dashboard/state", timeout=30).json()
        assert [r["name"] for r in state["regions"]] == ["us-east-1", "eu-west-1"]
        teacher = {"Authorization": f"Bearer {ready['instructor_token']}"}
        results = requests.get(ready["url"] + "/class/api/results", headers=teacher, timeout=30)
        assert results.json()["fleet"] == ["us-east-1", "eu-west-1"]
        body = {"near": "eu-west-1", "fail": "eu-west-1"}
        opened = requests.post(
            ready["url"] + "/class/api/predictions", json=body, headers=teacher, timeout=30
        )
        assert opened.status_code == 201
        process.send_signal(signal.SIGTERM)
        _, said = process.communicate(timeout=120)
        assert process.returncode == 0, said
        assert "Fleet: " in said and "/dashboard#token=" in said
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    with pytest.raises(requests.ConnectionError):
        requests.get(ready["fleet"] + "/dashboard/state", timeout=5)


def test_the_instructor_lets_a_student_in_again(room):
    old = room.join("ada")
    room.call("POST", "/class/api/answers", old, json={"question": "q1", "answer": 1})
    released = room.call(
        "POST", "/class/api/release", room.room.instructor_token, json={"student": "ADA"}
    )
    assert released.json() == {"released": "ADA"}
    new = room.join("ada")
    assert new != old and room.call("GET", "/class/api/me", old).status_code == 403
    assert room.call("GET", "/class/api/me", new).json()["answers"][0]["answer"] == 1


def test_one_id_however_typed_and_no_formula_in_the_gradebook(room):
    room.join("Jos\u00e9")  # é composed
    refused = room.call("POST", "/class/api/join", json={"student": "Jose\u0301"})  # e + accent
    assert refused.status_code == 409
    room.join('=HYPERLINK("http://x")')
    rows = list(csv.reader(io.StringIO(room.room.gradebook())))
    assert [r[0] for r in rows[1:]] == ["Jos\u00e9", '\'=HYPERLINK("http://x")']


def test_a_huge_number_is_refused_not_a_crash(tmp_path):
    served = Class(tmp_path / "c.sqlite", "generated", 6)
    try:
        token = served.join("ada")
        sheet = served.call("GET", "/class/api/quiz", token).json()
        numeric = [q["id"] for q in sheet["questions"] if q["type"] == "numeric"]
        for qid in numeric or ["q1"]:
            answer = served.call(
                "POST",
                "/class/api/answers",
                token,
                data=f'{{"question": "{qid}", "answer": 1{"0" * 400}}}',
                headers={"Content-Type": "application/json"},
            )
            assert answer.status_code == 400
    finally:
        served.stop()


def test_a_database_is_the_instructors_alone_and_another_programs_is_left_alone(tmp_path):
    path = tmp_path / "c.sqlite"
    Store(path).close()
    assert path.stat().st_mode & 0o777 == 0o600
    other = tmp_path / "other.sqlite"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE important (x)")
    db.commit()
    db.close()
    before = other.read_bytes()
    with pytest.raises(Exception, match="holds other tables \\(important\\)"):
        Store(other)
    assert other.read_bytes() == before
    with pytest.raises(Exception, match="does not exist"):
        Store(tmp_path / "no" / "c.sqlite")
