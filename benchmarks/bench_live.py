"""The live fleet's speed: start-up, direct region throughput, gateway throughput, WSGI server.

Run: `make bench` (or `.venv/bin/python benchmarks/bench_live.py`). Throughput is predict requests
per second from a separate client process (4 keep-alive connections, 3 s), each figure against a
baseline measured in the same run:
- a region against the same handler without its fault layer (the region's Flask app with the
  faults-and-metrics middleware taken off), on the same WSGI server;
- the gateway (routing, health view, forwarding; time_scale 0.01 so the emulated round trip is
  negligible) against the region it forwards to, with the region in a process of its own
  (`--processes`) and with gateway and region sharing one process (and its interpreter lock);
- waitress against werkzeug's threaded server, the same plain app: why the fleet uses waitress.

Live users (Poisson arrivals, `LiveUsers`) near three regions in processes of their own offer
USERS_PER_S requests per wall second through the gateway at time scale 1 for USERS_S seconds: the
rate answered right and on time (sent within `LATE_S` of arrival) against the rate offered.
"""

from __future__ import annotations

import logging
import statistics
import threading
import time
from collections.abc import Callable

from _common import emit, requests_per_second, row
from flask import Flask
from werkzeug.serving import make_server

from sandbox import run_deployment
from sandbox.core.models import load_model
from sandbox.core.records import RequestLog
from sandbox.core.workload import Clients
from sandbox.live.fleet import REGION_THREADS, LiveFleet
from sandbox.live.region import create_region_app
from sandbox.live.server import ServerThread
from sandbox.live.users import LATE_S

FIVE = ["us-east-1", "eu-west-1", "ap-south-1", "sa-east-1", "ap-southeast-2"]
PATH = "/v1/models/model_v1:predict"
CLIENT = {"X-Client-Region": "eu-west-2"}
ROUNDS = 5
USERS_NEAR = {"us-east-1": "us-east-2", "eu-west-1": "eu-west-2", "ap-south-1": "ap-south-1"}
USERS_PER_S, USERS_S = 600.0, 10.0  # offered per wall second, for wall seconds (time scale 1)


def plain_app() -> Flask:
    """The same handler without the fault layer: a region's Flask app, middleware taken off."""
    app = create_region_app("eu-west-1", token="bench")
    app.wsgi_app = app.wsgi_app.app  # the Flask app under the faults and metrics middleware
    model = load_model("model_v1")
    auth = {"Authorization": "Bearer bench"}
    deployed = app.test_client().put(f"/v1/models/{model.name}", json=model.to_dict(), headers=auth)
    assert deployed.status_code == 201, deployed.json
    return app


def startup_seconds() -> tuple[float, float]:
    """Median time for 5 regions + gateway to listen, and for one bare server, over 5 runs."""
    fleets, bare = [], []
    for _ in range(5):
        start = time.perf_counter()
        with LiveFleet(FIVE):
            fleets.append(time.perf_counter() - start)
        start = time.perf_counter()
        server = ServerThread(plain_app()).start()
        bare.append(time.perf_counter() - start)
        server.stop()
    return statistics.median(fleets), statistics.median(bare)


class WerkzeugThread:
    """werkzeug's threaded development server in a thread: the comparison for waitress."""

    def __init__(self, app: Flask) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def interleaved(measures: dict[str, Callable[[], float]], rounds: int = ROUNDS) -> dict[str, float]:
    """The median of each measure over `rounds` rounds, the measures taken in turn each round."""
    seen: dict[str, list[float]] = {name: [] for name in measures}
    for _ in range(rounds):
        for name, measure in measures.items():
            seen[name].append(measure())
    return {name: statistics.median(values) for name, values in seen.items()}


def live_users() -> tuple[float, float]:
    """User requests per wall second answered right and on time, and the rate offered (arrivals
    per wall second), with three regions in processes of their own."""
    regions = list(USERS_NEAR)
    with LiveFleet(regions, processes=True) as fleet:
        d = run_deployment(regions, "model_v1", backend=fleet)
        log = RequestLog(list(USERS_NEAR.values()), regions)
        each = USERS_PER_S * fleet.time_scale / len(USERS_NEAR)
        clients = [Clients(client, each) for client in USERS_NEAR.values()]
        users = d.start_users(clients, log=log, until=fleet.now() + USERS_S)
        fleet.advance(USERS_S)
        users.close()  # once every arrival is sent
        on_time = sum(
            ok and late <= LATE_S for ok, late in zip(log.column("ok"), users.lateness, strict=True)
        )
        wall_s = USERS_S * fleet.time_scale
        return on_time / wall_s, len(log) / wall_s


def main() -> None:
    fleet_s, bare_s = startup_seconds()
    rows = [row("5 regions + gateway ready", fleet_s, bare_s, 1, "s", more=False)]
    plain = ServerThread(plain_app(), threads=REGION_THREADS).start()
    werkzeug = WerkzeugThread(plain_app())
    with (
        LiveFleet(["eu-west-1"], time_scale=0.01) as threads,
        LiveFleet(["eu-west-1"], time_scale=0.01, processes=True) as processes,
    ):
        for fleet in (threads, processes):
            run_deployment(["eu-west-1"], "model_v1", backend=fleet)
        rate = interleaved(
            {
                "plain": lambda: requests_per_second(plain.port, PATH),
                "werkzeug": lambda: requests_per_second(werkzeug.port, PATH),
                **{
                    f"{measure}-{mode}": measurer(fleet, measure)
                    for mode, fleet in (("threads", threads), ("processes", processes))
                    for measure in ("direct", "gateway")
                },
            }
        )
    plain.stop()
    werkzeug.stop()
    sustained, offered = live_users()
    rows += [
        row("region predict", rate["direct-threads"], rate["plain"], 0.85, "req/s", more=True),
        row(
            "gateway predict (--processes)",
            rate["gateway-processes"],
            rate["direct-processes"],
            0.4,
            "req/s",
            more=True,
        ),
        row(
            "gateway predict (one process)",
            rate["gateway-threads"],
            rate["direct-threads"],
            0.4,
            "req/s",
            more=True,
        ),
        row("waitress vs werkzeug", rate["plain"], rate["werkzeug"], 1.0, "req/s", more=True),
        row("live users (3 regions, --processes)", sustained, offered, 0.95, "req/s", more=True),
    ]
    note = (
        f"(throughput: median of {ROUNDS} interleaved rounds, 4 keep-alive connections, 2 s each; "
        "gateway against the region it forwards to, in the same mode; live users: "
        f"{USERS_PER_S:g}/s offered for {USERS_S:g} s, answered right within {LATE_S:g} s of "
        "arrival against arrivals)"
    )
    emit(rows, note)


def measurer(fleet: LiveFleet, measure: str) -> Callable[[], float]:
    """Predict requests per second straight to the fleet's region, or through its gateway."""
    if measure == "direct":
        port = int(fleet.urls["eu-west-1"].rsplit(":", 1)[1])
        return lambda: requests_per_second(port, PATH)
    port = int(fleet.gateway_url.rsplit(":", 1)[1])
    return lambda: requests_per_second(port, PATH, CLIENT)


if __name__ == "__main__":
    main()
