"""The class's web app: the students' page and API, the instructor's board and API, every
answer JSON (a 4xx with `{"error": ...}` for anything malformed, never a 500)."""

from __future__ import annotations

from importlib.resources import files

from flask import Flask, Response, jsonify
from flask.typing import ResponseReturnValue

from sandbox.classroom.errors import Refused, fields
from sandbox.classroom.room import Room
from sandbox.core.regions import RegionCatalog
from sandbox.live.http import (
    MAX_BODY_BYTES,
    BadRequest,
    bearer_ok,
    header,
    install_json_errors,
    json_body,
)

STATIC = {  # the files the pages load, all served here: no other host
    "class.html": "text/html",
    "board.html": "text/html",
    "class.js": "text/javascript",
    "board.js": "text/javascript",
    "common.js": "text/javascript",
    "class.css": "text/css",
}


CATALOG = frozenset(r.name for r in RegionCatalog.default())  # where users may be near


def class_app(room: Room) -> Flask:
    """The Flask app of `room`."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    install_json_errors(app)
    static = files("sandbox.classroom") / "static"

    @app.errorhandler(Refused)
    def refused(e: Refused) -> tuple[Response, int]:
        return jsonify(error=str(e)), e.status

    def token() -> str:
        """The bearer token sent, or a 401 saying how to send one."""
        scheme, _, given = (header("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not given:
            raise BadRequest("send your token: 'Authorization: Bearer <token>'", 401)
        return given

    def instructor() -> None:
        token()
        if not bearer_ok(room.instructor_token):
            raise BadRequest("the instructor's token is needed for this", 403)

    def page(name: str) -> Response:
        return Response((static / name).read_text(), content_type=STATIC[name])

    @app.get("/class")
    def student_page() -> Response:
        return page("class.html")

    @app.get("/class/board")
    def board_page() -> Response:
        return page("board.html")

    @app.get("/class/static/<name>")
    def asset(name: str) -> Response:
        if name not in STATIC:
            raise BadRequest(f"no file {name!r}", 404)
        return page(name)

    @app.post("/class/api/join")
    def join() -> ResponseReturnValue:
        body = fields(json_body(), {"student": "your id"})
        return jsonify(token=room.join(body["student"]))

    @app.get("/class/api/quiz")
    def quiz() -> ResponseReturnValue:
        return jsonify(room.sheet(token()))

    @app.post("/class/api/answers")
    def answers() -> ResponseReturnValue:
        given = token()
        return jsonify(room.answer(given, json_body())), 201

    @app.get("/class/api/me")
    def me() -> ResponseReturnValue:
        return jsonify(room.me(token()))

    @app.get("/class/api/results")
    def results() -> ResponseReturnValue:
        instructor()
        return jsonify(room.results())

    @app.post("/class/api/reveal")
    def reveal() -> ResponseReturnValue:
        instructor()
        body = fields(json_body(), {"question": "q1"})
        return jsonify(room.reveal(body["question"]))

    @app.post("/class/api/predictions")
    def predict() -> ResponseReturnValue:
        instructor()
        made = room.predictions.open(json_body(), CATALOG)
        return jsonify(id=made.id, questions=made.questions), 201

    @app.post("/class/api/predictions/<pid>/observe")
    def observe(pid: str) -> ResponseReturnValue:
        instructor()
        done = room.predictions.observe(pid)
        return jsonify(id=done.id, served_by=done.served_by, seconds=done.seconds)

    @app.post("/class/api/release")
    def release() -> ResponseReturnValue:
        instructor()
        body = fields(json_body(), {"student": "their id"})
        return jsonify(room.release(body["student"]))

    @app.get("/class/api/gradebook.csv")
    def gradebook() -> Response:
        instructor()
        response = Response(room.gradebook(), content_type="text/csv; charset=utf-8")
        response.headers["Content-Disposition"] = 'attachment; filename="gradebook.csv"'
        return response

    return app
