"""Predict, then observe, against a real live fleet: the room answers where users near a place
go and when once a region fails; the fault is injected, the key is what the fleet did (inside
the bound the probe timing model gives), each answer is scored against it, and the dashboard's
events show the fault; refusals without a fleet and for bad input."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from sandbox import dashboard
from sandbox.classroom.app import class_app
from sandbox.classroom.predict import Observer, Prediction
from sandbox.classroom.room import Room
from sandbox.classroom.store import Store
from sandbox.core.expectations import expected_detection
from sandbox.core.faults import Fault
from sandbox.core.health import HealthPolicy
from sandbox.core.regions import RegionCatalog
from sandbox.flow.sample import run_deployment
from sandbox.live import LiveFleet
from sandbox.live.server import ServerThread

REGIONS = ["us-east-1", "eu-west-1"]


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[tuple[str, Room, LiveFleet]]:
    fleet = LiveFleet(REGIONS, time_scale=0.05)
    board = dashboard.mount(fleet)
    store = Store(tmp_path_factory.mktemp("class") / "class.sqlite")
    with fleet:
        board.follow(run_deployment(REGIONS, "model_v1", backend=fleet))
        room = Room(store, "visual", observer=Observer(fleet, board))
        server = ServerThread(class_app(room)).start()
        try:
            yield server.url, room, fleet
        finally:
            server.stop()
            board.close()
            store.close()


def call(url: str, method: str, path: str, token: str | None = None, body: object = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(method, url + path, json=body, headers=headers, timeout=120)


def test_the_room_predicts_then_the_fleet_answers(live):
    url, room, fleet = live
    teacher = room.instructor_token
    opened = call(
        url, "POST", "/class/api/predictions", teacher, {"near": "eu-west-1", "fail": "eu-west-1"}
    )
    assert opened.status_code == 201, opened.text
    pid = opened.json()["id"]
    answers = {"ada": (REGIONS.index("us-east-1"), 10), "bob": (REGIONS.index("eu-west-1"), 250)}
    tokens = {}
    for student, (where, when) in answers.items():
        token = call(url, "POST", "/class/api/join", body={"student": student}).json()["token"]
        tokens[student] = token
        sheet = call(url, "GET", "/class/api/quiz", token).json()
        assert {f"{pid}-where", f"{pid}-when"} <= {q["id"] for q in sheet["questions"]}
        assert "served_by" not in json.dumps(sheet)
        for kind, value in (("where", where), ("when", when)):
            sent = call(
                url,
                "POST",
                "/class/api/answers",
                token,
                {"question": f"{pid}-{kind}", "answer": value},
            )
            assert sent.status_code == 201, sent.text
    observed = call(url, "POST", f"/class/api/predictions/{pid}/observe", teacher)
    assert observed.status_code == 200, observed.text
    result = observed.json()
    assert result["served_by"] == "us-east-1"
    rtt_s = RegionCatalog.default().rtt_ms(REGIONS[0], "eu-west-1") / 1000
    bound = expected_detection(Fault("outage"), HealthPolicy(), rtt_s).high
    assert 0 <= result["seconds"] <= bound  # gone before the probes must have marked it down
    late = call(
        url, "POST", "/class/api/answers", tokens["ada"], {"question": f"{pid}-where", "answer": 1}
    )
    assert late.status_code == 409
    ada = call(url, "GET", "/class/api/me", tokens["ada"]).json()
    bob = call(url, "GET", "/class/api/me", tokens["bob"]).json()
    mine = {r["id"]: r for r in ada["answers"]}
    assert mine[f"{pid}-where"]["correct"] is True
    theirs = {r["id"]: r for r in bob["answers"]}
    assert theirs[f"{pid}-where"]["correct"] is False and theirs[f"{pid}-when"]["correct"] is False
    board = call(url, "GET", "/class/api/results", teacher).json()["predictions"][0]
    assert board["where"] == {"us-east-1": 1, "eu-west-1": 1}
    assert board["observed"] and board["correct"][f"{pid}-where"] == 1
    low, high = board["right_from_to"]
    assert low <= result["seconds"] <= high
    gradebook = call(url, "GET", "/class/api/gradebook.csv", teacher).text.splitlines()
    assert gradebook[0].endswith(f"{pid}-where,{pid}-when,Total")
    again = call(url, "POST", f"/class/api/predictions/{pid}/observe", teacher)
    assert again.status_code == 409
    revealed = call(url, "POST", "/class/api/reveal", teacher, {"question": "q1"})
    assert revealed.json() == {"revealed": ["q1"]}  # a prediction's reveals are its own
    events = requests.get(fleet.gateway_url + "/dashboard/state", timeout=30).json()["events"]
    assert any("eu-west-1" in json.dumps(e) and "outage" in json.dumps(e) for e in events)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"near": "eu-west-1", "fail": "ap-south-1"}, "not one of the fleet's regions"),
        ({"near": "atlantis", "fail": "eu-west-1"}, "not a region users can be near"),
        ({"near": "eu-west-1"}, "expected"),
        ({"near": "us-east-1", "fail": "eu-west-1"}, "sent to us-east-1 first, not to eu-west-1"),
    ],
)
def test_bad_predictions_are_refused(live, body, says):
    url, room, _ = live
    teacher = room.instructor_token
    deadline = time.monotonic() + 120  # a fleet recovering from an earlier outage is a 409
    answer = call(url, "POST", "/class/api/predictions", teacher, body)
    while answer.status_code == 409 and time.monotonic() < deadline:
        assert "not back to normal" in answer.json()["error"]
        time.sleep(1)
        answer = call(url, "POST", "/class/api/predictions", teacher, body)
    assert answer.status_code == 400 and says in answer.json()["error"]


def test_a_class_without_a_fleet_opens_no_prediction(tmp_path):
    store = Store(tmp_path / "c.sqlite")
    room = Room(store, "visual")
    server = ServerThread(class_app(room)).start()
    try:
        body = {"near": "eu-west-1", "fail": "eu-west-1"}
        answer = call(server.url, "POST", "/class/api/predictions", room.instructor_token, body)
        assert answer.status_code == 409 and "--regions" in answer.json()["error"]
        student = call(server.url, "POST", "/class/api/join", body={"student": "ada"}).json()
        refused = call(server.url, "POST", "/class/api/predictions", student["token"], body)
        assert refused.status_code == 403
        unknown = call(
            server.url, "POST", "/class/api/predictions/p7/observe", room.instructor_token
        )
        assert unknown.status_code == 404
    finally:
        server.stop()
        store.close()


def test_one_observation_at_a_time_and_never_on_a_fleet_still_recovering(live):
    url, room, _ = live
    teacher = room.instructor_token
    body = {"near": "eu-west-1", "fail": "eu-west-1"}
    deadline = time.monotonic() + 120
    opened = call(url, "POST", "/class/api/predictions", teacher, body)
    while opened.status_code == 409 and time.monotonic() < deadline:
        time.sleep(1)
        opened = call(url, "POST", "/class/api/predictions", teacher, body)
    assert opened.status_code == 201, opened.text
    pid = opened.json()["id"]
    path = f"/class/api/predictions/{pid}/observe"
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda _: call(url, "POST", path, teacher), range(2)))
    assert sorted(a.status_code for a in answers) == [200, 409]
    done = next(a.json() for a in answers if a.status_code == 200)
    assert done["served_by"] == "us-east-1" and done["seconds"] > 0
    refused = next(a.json()["error"] for a in answers if a.status_code == 409)
    assert "running an observation" in refused or "was observed" in refused


def test_the_ends_of_the_range_a_key_shows_are_judged_right():
    # Every time an observation can measure (tenths of a second, up to the wait) gives a key
    # whose printed ends, typed back, are right, and whose next hundredth outside is not.
    for tenths in range(0, 3001):
        seen = Prediction("p1", "eu-west-2", "eu-west-1", tuple(REGIONS), "us-east-1", tenths / 10)
        low, high = (
            float(x) for x in re.findall(r"from ([\d.]+) to ([\d.]+) s", seen.key("p1"))[0]
        )
        assert seen.right("p1", low) and seen.right("p1", high), seen.key("p1")
        assert not seen.right("p1", high + 0.01) and (low == 0 or not seen.right("p1", low - 0.01))
