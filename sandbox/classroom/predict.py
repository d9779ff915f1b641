"""Predict, then observe: the instructor opens a question about the live fleet beside the class
(which region will users near a place be sent to once a region fails, and after about how many
seconds will their requests stop going to it first), the room answers, then the fault is
injected and the key is what the fleet did: requests from users near that place go through the
gateway until the region they are sent to first is another one (`X-Tried`), on the fleet's own
clock. The dashboard shows it happen (the fault and the health changes are its events)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests

from sandbox.classroom.errors import Refused, fields, index, number, shown
from sandbox.core.faults import Fault
from sandbox.dashboard import mount
from sandbox.dashboard.board import Board
from sandbox.errors import DeploymentHalted
from sandbox.flow.deployment import COMPLETED
from sandbox.flow.sample import run_deployment
from sandbox.live.fleet import LiveFleet
from sandbox.live.server import HOST

POLL_WALL_S = 0.05  # a request from the users near the place every this many wall seconds
SETTLED = 5  # requests in a row sent first elsewhere: the users have moved
OUTAGE_S = 120.0  # emulated seconds the injected outage lasts
WAIT_S = 300.0  # emulated seconds to wait for the users to move, at most
RIGHT_WITHIN = (0.5, 1.5)  # a time is right from half the measured one minus 2 s to 1.5x + 2 s


@dataclass(frozen=True)
class Prediction:
    """An opened prediction: users near `near`, region `fail` failing; `served_by` and
    `seconds` once the fleet was observed."""

    id: str
    near: str
    fail: str
    regions: tuple[str, ...]
    served_by: str | None = None
    seconds: float | None = None

    @property
    def observed(self) -> bool:
        return self.served_by is not None

    @property
    def questions(self) -> dict[str, dict[str, Any]]:
        """Its two questions as a student's sheet shows them."""
        return {
            f"{self.id}-where": {
                "text": f"{self.fail} is about to fail. Which region will users near {self.near} "
                "be sent to first once the fleet has reacted?",
                "type": "multiple_choice",
                "options": list(self.regions),
                "unit": "",
            },
            f"{self.id}-when": {
                "text": f"About how many seconds after {self.fail} fails will requests from "
                f"users near {self.near} stop going to {self.fail} first? (Seconds of the "
                f"fleet's own clock, which may run faster than yours: 0 to {WAIT_S:g}.)",
                "type": "numeric",
                "options": [],
                "unit": "s",
            },
        }

    def bounds(self) -> tuple[float, float]:
        """The range of seconds judged right around the measured time, to the hundredth shown
        (so the ends a student reads are judged right, not lost to float noise)."""
        assert self.seconds is not None, "observed first"
        low, high = RIGHT_WITHIN
        return round(max(0.0, self.seconds * low - 2.0), 2), round(self.seconds * high + 2.0, 2)

    def right(self, question: str, answer: float) -> bool:
        """Whether `answer` to one of its questions matches what the fleet did."""
        if question.endswith("-where"):
            return self.regions[int(answer)] == self.served_by
        low, high = self.bounds()
        return low <= answer <= high

    def told(self, question: str) -> str:
        """What the fleet did, as a student's feedback for one of its questions says it."""
        if question.endswith("-where"):
            return (
                f"The fleet sent users near {self.near} to {self.served_by} first once {self.fail} "
                "failed."
            )
        low, high = self.bounds()
        return (
            f"Their requests stopped going to {self.fail} first {self.seconds:g} s after it "
            f"failed (of the fleet's time); from {low:g} to {high:g} s is judged right."
        )

    def key(self, question: str) -> str:
        if question.endswith("-where"):
            return str(self.served_by)
        low, high = self.bounds()
        return f"{self.seconds:g} s (right from {low:g} to {high:g} s)"

    def to_row(self) -> str:
        return json.dumps(self.__dict__ | {"regions": list(self.regions)})

    @classmethod
    def from_row(cls, row: str) -> Prediction:
        data = json.loads(row)
        return cls(**data | {"regions": tuple(data["regions"])})


class Observer:
    """Runs a prediction's fault on a live fleet and measures where its users went, and when."""

    def __init__(self, fleet: LiveFleet, board: Board) -> None:
        self.fleet, self.board = fleet, board
        deployment = board.deployment
        assert deployment is not None, "the board follows the fleet's deployment"
        self.body = {"instances": [list(deployment.model.smoke_instances[0])]}
        self.path = f"{fleet.gateway_url}/v1/models/{deployment.model.name}:predict"
        self.http = requests.Session()

    def first_tried(self, near: str) -> str | None:
        """The region a request from users near `near` goes to first (None: no answer)."""
        try:
            answer = self.http.post(
                self.path, json=self.body, headers={"X-Client-Region": near}, timeout=30
            )
        except requests.RequestException:
            return None
        tried = answer.headers.get("X-Tried", "")
        return tried.split(",")[0].strip() or None

    def ready(self, near: str, fail: str) -> None:
        """Refuse (409) a fleet still recovering from a fault, and (400) a prediction whose users
        do not go to the failing region first: it would ask nothing."""
        deployment = self.board.deployment
        assert deployment is not None and deployment.health_view is not None
        down = sorted(set(self.fleet.regions) - set(deployment.health_view.healthy_regions()))
        faulty = [r for r in self.fleet.regions if self.fleet.admin("GET", r).json()["faults"]]
        if down or faulty:
            regions = ", ".join(sorted({*down, *faulty}))
            raise Refused(
                409,
                f"the fleet is not back to normal yet ({regions} faulty or not healthy again): "
                "wait until the dashboard shows every region healthy, then try again",
            )
        first = self.first_tried(near)
        if first != fail:
            raise Refused(
                400,
                f"near: users near {near} are sent to {first} first, not to {fail}: its failure "
                f"would not move them; choose users who go to {fail} first (e.g. near {fail})",
            )

    def observe(self, prediction: Prediction) -> Prediction:
        """Inject an outage of `prediction.fail`, then send requests from users near
        `prediction.near` until SETTLED in a row go first to another region; where they go, and
        how many of the fleet's seconds after the outage the first of those was sent. The
        outage is cleared once measured (or given up), so that the fleet recovers."""
        self.board.inject(prediction.fail, Fault("outage", duration_s=OUTAGE_S))
        try:
            return self._measure(prediction)
        finally:
            self.board.clear(prediction.fail)

    def _measure(self, prediction: Prediction) -> Prediction:
        start = self.fleet.now()
        moved: list[tuple[float, str]] = []
        while self.fleet.now() - start < WAIT_S:
            sent = self.fleet.now()
            region = self.first_tried(prediction.near)
            if region is None or region == prediction.fail:
                moved.clear()
            else:
                moved.append((sent, region))
                if len(moved) >= SETTLED:
                    break
            time.sleep(POLL_WALL_S)
        if not moved:
            raise TimeoutError(
                f"users near {prediction.near} were still sent to {prediction.fail} first after "
                f"{WAIT_S:g} s of the fleet's time"
            )
        at, region = moved[0]
        return Prediction(
            **prediction.__dict__ | {"served_by": region, "seconds": round(max(0.0, at - start), 1)}
        )


@contextmanager
def fleet_beside(
    regions: Sequence[str], *, time_scale: float = 1.0, host: str = HOST
) -> Iterator[Observer]:
    """A live fleet of `regions` beside a class, as `class serve --regions` starts it: model_v1
    deployed, the dashboard on its gateway, and the observer that runs the class's predictions
    on it (`Room(..., observer=...)`); every server stops when the block ends.
    `DeploymentHalted`, with the deployment's tables, when the deployment did not complete."""
    fleet = LiveFleet(regions, time_scale=time_scale, host=host)
    board = mount(fleet)
    with fleet:
        try:
            d = run_deployment(regions, "model_v1", backend=fleet)
            if d.outcome not in COMPLETED:
                said = f"the fleet's deployment did not complete ({d.outcome})"
                raise DeploymentHalted(f"{said}:\n{d.trace.render('text')}", str(d.outcome))
            board.follow(d)
            yield Observer(fleet, board)
        finally:
            board.close()


class Predictions:
    """A class's predictions, kept in its store; `observer` runs them on the live fleet (None:
    the class has no fleet, and none can be opened)."""

    def __init__(self, store: Any, observer: Observer | None, regions: Sequence[str]) -> None:
        self.store, self.observer, self.regions = store, observer, tuple(regions)
        self._running = threading.Lock()  # one observation at a time: the fleet is shared

    def all(self) -> list[Prediction]:
        return [Prediction.from_row(body) for _, body in self.store.predictions()]

    def questions(self) -> dict[str, tuple[Prediction, dict[str, Any]]]:
        """Every prediction's questions by id: `p1-where`, `p1-when`, ..."""
        return {qid: (p, q) for p in self.all() for qid, q in p.questions.items()}

    def open(self, body: object, catalog: Collection[str]) -> Prediction:
        """A new prediction from `{"near": REGION, "fail": REGION}`."""
        if self.observer is None:
            raise Refused(409, "this class has no live fleet: start it with --regions")
        body = fields(body, {"near": "eu-west-1", "fail": "eu-west-1"})
        near, fail = body["near"], body["fail"]
        if fail not in self.regions:
            listed = ", ".join(self.regions)
            raise Refused(400, f"fail: {shown(fail)} is not one of the fleet's regions ({listed})")
        if not isinstance(near, str) or near not in catalog:
            example = self.regions[0]
            raise Refused(
                400, f"near: {shown(near)} is not a region users can be near, e.g. {example}"
            )
        self.observer.ready(near, fail)
        n = self.store.predict("{}")
        made = Prediction(f"p{n}", near, fail, self.regions)
        self.store.observed(n, made.to_row())
        return made

    def observe(self, pid: object) -> Prediction:
        """Close the prediction's answers, run it on the fleet, keep what the fleet did; its
        answers open again if the fleet could not be observed."""
        found = {p.id: p for p in self.all()}
        if not isinstance(pid, str) or pid not in found:
            known = f"one of {', '.join(found)}" if found else "a prediction: none is open yet"
            raise Refused(404, f"prediction: {shown(pid)} is not {known}")
        prediction = found[pid]
        if prediction.observed:
            raise Refused(409, f"{pid} was observed: the fleet already answered it")
        if self.observer is None:
            raise Refused(409, "this class has no live fleet: start it with --regions")
        if not self._running.acquire(blocking=False):
            raise Refused(409, "the fleet is running an observation; wait for it to end")
        try:
            self.observer.ready(prediction.near, prediction.fail)
            questions = list(prediction.questions)
            self.store.reveal(*questions)  # the room's answers are final from here
            try:
                done = self.observer.observe(prediction)
            except TimeoutError as e:
                self.store.unreveal(*questions)
                raise Refused(409, f"{e}; the answers stay open: observe again later") from None
            except BaseException:
                self.store.unreveal(*questions)
                raise
            self.store.observed(int(pid[1:]), done.to_row())
            return done
        finally:
            self._running.release()


def checked_prediction(question: dict[str, Any], answer: object) -> float | int:
    """An answer to a prediction's question: a region's index, or seconds from 0 to WAIT_S."""
    if question["type"] == "multiple_choice":
        return index(answer, len(question["options"]), "a region")
    return number(answer, 0, WAIT_S, "seconds")
