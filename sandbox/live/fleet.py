"""The live fleet: one real region server per region, a gateway and a health monitor.

`LiveFleet` is a context manager (everything it started stops on exit, also on an error) and a
backend for `Deployment`: the lesson's flow deploys over HTTP, verifies with
`GET /v1/models/<name>` and a smoke predict, configures the gateway and starts the monitor. Its
clock runs on a SimPy `RealtimeEnvironment`: emulated seconds take `time_scale` wall seconds.
"""

from __future__ import annotations

import secrets
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import requests
import simpy.rt

from sandbox.core.faults import Fault
from sandbox.core.health import HealthView
from sandbox.core.models import Model, Serving
from sandbox.core.regions import RegionCatalog
from sandbox.core.routing import Router, VersionSplit
from sandbox.dashboard.routes import dashboard_blueprint
from sandbox.errors import InvalidDeployment, InvalidFault
from sandbox.flow.backend import Process
from sandbox.live.gateway import Gateway, GatewayState
from sandbox.live.monitor import HealthMonitor
from sandbox.live.region import create_region_app
from sandbox.live.server import HOST, RegionProcess, ServerThread, exposed

CONTROL_TIMEOUT_S = 10.0  # wall seconds a control-plane request may take
REGION_THREADS = 8  # requests a region serves at once (slow faults hold a thread each)
SMOKE_TEST = {"X-Smoke-Test": "true"}  # a verification's predictions, not a user's
GATEWAY_THREADS = 16  # requests the gateway forwards at once (emulated round trips hold one)


class LiveFleet:
    """Region servers on 127.0.0.1 (threads, or processes with `processes=True`) and a gateway."""

    clock = "emulated"

    def __init__(
        self,
        regions: Sequence[str],
        *,
        catalog: RegionCatalog | None = None,
        time_scale: float = 1.0,
        seed: int = 0,
        processes: bool = False,
        host: str = HOST,
    ) -> None:
        """`host` is where every server listens: 127.0.0.1 unless given (another host warns)."""
        if not 0 < time_scale <= 10:
            raise InvalidDeployment(f"time_scale must be above 0 and at most 10, got {time_scale}")
        self.catalog = catalog or RegionCatalog.default()
        for region in regions:
            self.catalog.check(region)
        self.regions = list(regions)
        self.control_region = self.regions[0]
        self.time_scale = time_scale
        self.seed = seed
        self.processes = processes
        self.host = host
        self.admin_token = secrets.token_urlsafe(24)
        self.urls: dict[str, str] = {}
        self.gateway_url = ""
        self._servers: list[Any] = []
        self._monitor: HealthMonitor | None = None
        self._served: dict[str, Serving] = {}  # what the fleet deployed where, as regions keep it
        self._closers: list[Callable[[], None]] = []
        self._watchers: list[Callable[[Any], None]] = []
        self._session = requests.Session()
        self._closed = threading.Event()  # set by close: a wait for time to pass ends
        self._started = 0.0
        self.env = simpy.rt.RealtimeEnvironment(factor=time_scale, strict=False)
        self.gateway: GatewayState | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> LiveFleet:
        """Start every region and the gateway; return once all of them listen (once only)."""
        if self._servers:
            return self
        self._started = time.monotonic()
        try:
            for region in self.regions:  # region processes start side by side
                self._servers.append(self._start_region(region))
            for region, server in zip(self.regions, self._servers, strict=True):
                if self.processes:
                    server.ready()
                self.urls[region] = server.url
            self.gateway = GatewayState(
                dict(self.urls),
                self.catalog,
                self.now,
                self.time_scale,
                split=VersionSplit(self.seed),
            )
            app = Gateway(self.gateway)
            app.control.register_blueprint(dashboard_blueprint(self))
            gateway = ServerThread(app, host=self.host, threads=GATEWAY_THREADS).start()
            self._servers.append(gateway)
            self.gateway_url = gateway.url
        except BaseException:
            self.close()
            raise
        warning = exposed(self.host)
        if warning is not None:
            warnings.warn(warning, stacklevel=2)
        return self

    def _start_region(self, region: str) -> Any:
        if self.processes:
            return RegionProcess(
                region, self.admin_token, self.time_scale, self.seed, self._redeploy, self.host
            ).launch()
        app = create_region_app(
            region, token=self.admin_token, time_scale=self.time_scale, seed=self.seed
        )
        return ServerThread(app, host=self.host, threads=REGION_THREADS).start()

    def close(self) -> None:
        """Stop the monitor, the gateway and every region; safe to call twice."""
        self._closed.set()
        while self._closers:
            self._closers.pop()()
        if self._monitor is not None:
            self._monitor.stop()
            self._monitor = None
        for server in reversed(self._servers):
            server.stop()
        self._servers.clear()
        if self.gateway is not None:
            self.gateway.close()
        self._session.close()

    def on_close(self, closer: Callable[[], None]) -> None:
        """Run `closer` first when the fleet closes (what a part started on it must stop)."""
        self._closers.append(closer)

    def on_transition(self, watcher: Callable[[Any], None]) -> None:
        """Call `watcher` with every health transition, from the moment monitoring starts."""
        self._watchers.append(watcher)

    def deployed(self, region: str) -> Model | None:
        """The model the fleet last deployed to `region`."""
        served = self._served.get(region)
        return served.current if served else None

    def serving_model(self) -> str:
        """The name of the model most regions serve."""
        names = [s.current.name for s in self._served.values() if s.current]
        return max(set(names), key=names.count) if names else "model_v1"

    def __enter__(self) -> LiveFleet:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _redeploy(self, region: str) -> None:
        """After a crashed region restarts, give it back the versions it kept, current last."""
        served = self._served.get(region)
        for model in reversed(served.kept.values() if served else ()):
            self._put(region, model)

    # -- HTTP -------------------------------------------------------------------------------------

    def _call(self, method: str, region: str, path: str, **kwargs: Any) -> requests.Response | None:
        try:
            return self._session.request(
                method, f"{self.urls[region]}{path}", timeout=CONTROL_TIMEOUT_S, **kwargs
            )
        except requests.RequestException:
            return None

    def _put(self, region: str, model: Model) -> bool:
        answer = self._call("PUT", region, f"/v1/models/{model.name}", json=model.to_dict())
        return answer is not None and answer.status_code in (200, 201)

    def admin(self, method: str, region: str, faults: Iterable[Fault] = ()) -> requests.Response:
        """Call a region's /admin/faults with the fleet's token."""
        body = [f.to_dict() for f in faults] if method in ("PUT", "PATCH") else None
        return self._session.request(
            method,
            f"{self.urls[region]}/admin/faults",
            json=body,
            headers={"Authorization": f"Bearer {self.admin_token}"},
            timeout=CONTROL_TIMEOUT_S,
        )

    # -- the Backend operations ---------------------------------------------------------------

    def now(self) -> float:
        """Emulated seconds since the fleet started."""
        return (time.monotonic() - self._started) / self.time_scale

    def run(self, process: Process) -> Any:
        return self.env.run(until=self.env.process(process))

    def advance(self, seconds: float) -> None:
        """Let `seconds` of emulated time pass, or less if the fleet closes meanwhile."""
        self._closed.wait(seconds * self.time_scale)

    def _network(self, region: str) -> Process:
        """The emulated round trip from the control region, then catch up with the wall clock."""
        yield self.env.timeout(self.catalog.rtt_ms(self.control_region, region) / 1000.0)

    def _catch_up(self) -> Process:
        yield self.env.timeout(max(0.0, self.now() - self.env.now))

    def inject(self, region: str, faults: Iterable[Fault]) -> None:
        answer = self.admin("PATCH", region, faults)
        if not answer.ok:
            raise InvalidFault(f"{region} refused the faults: {answer.json().get('error')}")

    def deploy(self, region: str, model: Model) -> Process:
        yield from self._network(region)
        ok = self._put(region, model)
        if ok:
            self._served.setdefault(region, Serving()).deploy(model)
        yield from self._catch_up()
        return ok

    def smoke(self, region: str, model: Model) -> Process:
        yield from self._network(region)
        status = self._call("GET", region, f"/v1/models/{model.name}")
        answer = None
        if status is not None and status.ok and status.json().get("version") == model.version:
            body = {"instances": [list(i) for i in model.smoke_instances]}
            path = f"/v1/models/{model.name}:predict"
            answer = self._call("POST", region, path, json=body, headers=SMOKE_TEST)
        yield from self._catch_up()
        return answer.json()["predictions"] if answer is not None and answer.ok else None

    def rollback(self, region: str) -> Process:
        yield from self._network(region)
        served = self._served.pop(region, None)
        model = served.current if served else None
        if model is not None:
            self._call("DELETE", region, f"/v1/models/{model.name}")
        yield from self._catch_up()

    def withdraw(self, region: str, model: Model) -> Process:
        yield from self._network(region)
        self._call("DELETE", region, f"/v1/models/{model.name}/versions/{model.version}")
        self._served.setdefault(region, Serving()).withdraw(model.version)
        yield from self._catch_up()

    def set_split(self, region: str, weights: dict[str, float]) -> Process:
        assert self.gateway is not None, "start the fleet first"
        yield from self._network(region)
        self.gateway.split.set(region, weights)
        yield from self._catch_up()

    def set_routing(self, router: Router) -> Process:
        assert self.gateway is not None, "start the fleet first"
        self.gateway.router = router
        yield from self._catch_up()

    def monitor(self, view: HealthView) -> Process:
        assert self.gateway is not None, "start the fleet first"
        urls = {region: self.urls[region] for region in view.regions}
        self._monitor = HealthMonitor(view, urls, self.now, self.time_scale).start()
        self.gateway.view = view
        for watcher in self._watchers:
            view.subscribe(watcher)
        yield from self._catch_up()
