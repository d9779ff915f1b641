"""The live fleet: one real region server per region and a gateway, on a clock of emulated time.

`LiveFleet` is a context manager (everything it started stops on exit, also on an error) and a
`Backend`: the lesson's flow deploys over HTTP, verifies with `GET /v1/models/<name>` and a smoke
predict, configures the gateway and starts health probes of every region's `/healthz`. Its clock
(`LiveClock`) runs them, the users and any scheduled fault: emulated seconds take `time_scale`
wall seconds.
"""

from __future__ import annotations

import errno
import random
import secrets
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any

import requests
import simpy
from flask import Blueprint

from sandbox.core.checks import TIME_SCALES
from sandbox.core.faults import KINDS, Fault
from sandbox.core.health import HealthView
from sandbox.core.models import Model, Serving
from sandbox.core.records import AttemptLog, RequestLog
from sandbox.core.regions import RegionCatalog
from sandbox.core.routing import Router, VersionSplit
from sandbox.core.timing import Probe, Process, probe_loops, wall_timeout
from sandbox.core.workload import Workload
from sandbox.errors import InvalidDeployment, InvalidFault, InvalidModel, PortUnavailable
from sandbox.live.clock import LiveClock
from sandbox.live.gateway import Gateway, GatewayState
from sandbox.live.region import create_region_app
from sandbox.live.server import HOST, RegionProcess, ServerThread, exposed
from sandbox.live.users import LiveUsers

CONTROL_TIMEOUT_S = 10.0  # wall seconds a control-plane request may take
REGION_THREADS = 8  # requests a region serves at once (slow faults hold a thread each)
SMOKE_TEST = {"X-Smoke-Test": "true"}  # a verification's predictions, not a user's
GATEWAY_THREADS = 16  # requests the gateway forwards at once (emulated round trips hold one)
FaultListener = Callable[[str, str, list[dict[str, Any]]], None]  # (region, action, faults)


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
        port: int = 0,
        region_ports: Mapping[str, int] | None = None,
    ) -> None:
        """`host` is where every server listens: 127.0.0.1 unless given (another host warns);
        `port` is the gateway's and `region_ports` the regions' (0 or none given: any free one);
        a port a server cannot listen on raises `PortUnavailable` from `start`."""
        problem = TIME_SCALES.problem(time_scale)
        if problem:
            raise InvalidDeployment.about("time_scale", problem)
        self.catalog = catalog or RegionCatalog.default()
        for region in regions:
            self.catalog.check(region)
        self.regions = list(regions)
        self.ports = {region: 0 for region in self.regions} | dict(region_ports or {})
        if len(self.ports) > len(self.regions):
            unknown = ", ".join(sorted(set(self.ports) - set(self.regions)))
            raise InvalidDeployment.about("region_ports", f"{unknown}: not one of the regions")
        self.port = port
        self.control_region = self.regions[0]
        self.time_scale = time_scale
        self.seed = seed
        self.processes = processes
        self.host = host
        self.admin_token = secrets.token_urlsafe(24)
        self.urls: dict[str, str] = {}
        self.gateway_url = ""
        self.gateway: GatewayState | None = None
        self.app: Gateway | None = None  # the gateway's WSGI app (`mount` adds routes to it)
        self._clock = LiveClock(time_scale)
        self._servers: list[Any] = []
        self._served: dict[str, Serving] = {}  # what the fleet deployed where, as regions keep it
        self._blueprints: list[Blueprint] = []
        self._local = threading.local()  # a requests session per calling thread
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()
        self._fault_listeners: list[FaultListener] = []

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def env(self) -> simpy.Environment:
        """The environment of the fleet's clock, where background processes run."""
        return self._clock.env

    @property
    def fault_kinds(self) -> tuple[str, ...]:
        """The fault kinds this fleet's regions take: a crash only in processes of their own."""
        return tuple(kind for kind in KINDS if kind != "crash" or self.processes)

    def on_faults(self, listener: FaultListener) -> None:
        """Call `listener(region, action, faults)` after every change of a region's faults,
        whatever route made it (`inject`, or a region's own `/admin/faults`): `add`, `replace`
        or `clear`, with the faults given as JSON objects."""
        self._fault_listeners.append(listener)

    def _faults_changed(self, region: str, action: str, faults: list[dict[str, Any]]) -> None:
        for listener in list(self._fault_listeners):
            listener(region, action, faults)

    def mount(self, blueprint: Blueprint) -> None:
        """Serve a Flask blueprint's routes on the gateway too (call before `start`)."""
        if self._servers:
            raise InvalidDeployment("mount routes on the gateway before the fleet starts")
        self._blueprints.append(blueprint)

    def start(self) -> LiveFleet:
        """Start the clock, every region and the gateway; return once all of them listen (the
        first call only)."""
        if self._servers:
            return self
        self._clock.start()
        try:
            for region in self.regions:  # region processes start side by side
                with self._listening(region, self.ports[region]):
                    self._servers.append(self._start_region(region))
            for region, server in zip(self.regions, self._servers, strict=True):
                if self.processes:
                    with self._listening(region, self.ports[region]):
                        server.ready()
                self.urls[region] = server.url
            self.gateway = GatewayState(
                dict(self.urls),
                self.catalog,
                self.now,
                self.time_scale,
                split=VersionSplit(self.seed),
                served=self._served,
            )
            self.app = Gateway(self.gateway)
            for blueprint in self._blueprints:
                self.app.control.register_blueprint(blueprint)
            with self._listening("gateway", self.port):
                gateway = ServerThread(
                    self.app, self.port, host=self.host, threads=GATEWAY_THREADS
                ).start()
            self._servers.append(gateway)
            self.gateway_url = gateway.url
        except BaseException:
            self.close()
            raise
        warning = exposed(self.host)
        if warning is not None:
            warnings.warn(warning, stacklevel=2)
        return self

    @contextmanager
    def _listening(self, server: str, port: int) -> Iterator[None]:
        """Raise `PortUnavailable` for a given port that is taken or not allowed."""
        try:
            yield
        except OSError as e:
            if port and e.errno in (errno.EADDRINUSE, errno.EACCES):
                raise PortUnavailable(server, port, e.strerror or str(e)) from None
            raise

    def _start_region(self, region: str) -> Any:
        heard = partial(self._faults_changed, region)
        if self.processes:
            return RegionProcess(
                region,
                self.admin_token,
                self.time_scale,
                self.seed,
                partial(self._kept, region),
                self.host,
                on_faults=heard,
                port=self.ports[region],
            ).launch()
        app = create_region_app(
            region,
            token=self.admin_token,
            time_scale=self.time_scale,
            seed=self.seed,
            on_faults=heard,
        )
        return ServerThread(app, self.ports[region], host=self.host, threads=REGION_THREADS).start()

    def close(self) -> None:
        """Stop the clock (probes, users' arrivals, schedules), the gateway and every region;
        safe to call twice."""
        self._clock.stop()
        for server in reversed(self._servers):
            server.stop()
        self._servers.clear()
        if self.gateway is not None:
            self.gateway.close()
        with self._lock:
            for session in self._sessions:
                session.close()

    def deployed(self, region: str) -> Model | None:
        """The model the fleet last deployed to `region`."""
        served = self._served.get(region)
        return served.current if served else None

    def __enter__(self) -> LiveFleet:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _kept(self, region: str) -> list[Model]:
        """The models the fleet deployed to `region` and it keeps, current last (the fleet's
        record, not the region's own): what it serves again after a crash."""
        served = self._served.get(region)
        return list(reversed(served.kept.values())) if served else []

    # -- HTTP -------------------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.headers["Authorization"] = f"Bearer {self.admin_token}"  # the fleet's own
            with self._lock:
                self._sessions.append(session)
        return session

    def _call(
        self, method: str, region: str, path: str, timeout: float = CONTROL_TIMEOUT_S, **kw: Any
    ) -> requests.Response | None:
        try:
            url = f"{self.urls[region]}{path}"
            return self._session().request(method, url, timeout=timeout, **kw)
        except requests.RequestException:
            return None

    def _put(self, region: str, model: Model) -> bool:
        """Deploy `model` to `region`: True once it serves it, False when the deployment failed
        (the region unreachable or failing, as a fault makes it); `InvalidModel` with the region's
        reason when it refused the artifact (a 4xx), which no retry would change."""
        answer = self._call("PUT", region, f"/v1/models/{model.name}", json=model.to_dict())
        if answer is not None and 400 <= answer.status_code < 500:
            try:
                reason = answer.json()["error"]
            except (ValueError, KeyError, TypeError):
                reason = f"{answer.status_code} {answer.reason}"
            raise InvalidModel(f"{region} refused {model.name} {model.version}: {reason}")
        return answer is not None and answer.status_code in (200, 201)

    def admin(self, method: str, region: str, faults: Iterable[Fault] = ()) -> requests.Response:
        """Call a region's /admin/faults with the fleet's token."""
        body = [f.to_dict() for f in faults] if method in ("PUT", "PATCH") else None
        return self._session().request(
            method,
            f"{self.urls[region]}/admin/faults",
            json=body,
            timeout=CONTROL_TIMEOUT_S,
        )

    # -- the Backend: clock ---------------------------------------------------------------------

    def now(self) -> float:
        """Emulated seconds since the fleet started."""
        return self._clock.now()

    def run(self, process: Process) -> Any:
        """Run `process` on the fleet's clock; return its value."""
        return self._clock.run(process)

    def advance(self, seconds: float) -> None:
        """Let `seconds` of emulated time pass, or less if the fleet closes meanwhile."""
        self._clock.wait(seconds)

    def spawn(self, process: Process) -> None:
        """Run `process` on the fleet's clock in the background."""
        self._clock.spawn(process)

    def _network(self, region: str) -> Process:
        """The emulated round trip from the control region."""
        yield self.env.timeout(self.catalog.rtt_ms(self.control_region, region) / 1000.0)

    # -- the Backend: operations ----------------------------------------------------------------

    def inject(self, region: str, faults: Iterable[Fault]) -> None:
        answer = self.admin("PATCH", region, faults)
        if not answer.ok:
            raise InvalidFault(f"{region} refused the faults: {answer.json().get('error')}")

    def deploy(self, region: str, model: Model) -> Process:
        yield from self._network(region)
        ok = yield from self._clock.call(self._put, region, model)
        if ok:
            self._served.setdefault(region, Serving()).deploy(model)
            self._started().models[model.name] = model
        return ok

    def smoke(self, region: str, model: Model) -> Process:
        yield from self._network(region)
        return (yield from self._clock.call(self._smoke, region, model))

    def _smoke(self, region: str, model: Model) -> list[float] | None:
        status = self._call("GET", region, f"/v1/models/{model.name}")
        if status is None or not status.ok or status.json().get("version") != model.version:
            return None
        body = {"instances": [list(i) for i in model.smoke_instances]}
        path = f"/v1/models/{model.name}:predict"
        answer = self._call("POST", region, path, json=body, headers=SMOKE_TEST)
        return answer.json()["predictions"] if answer is not None and answer.ok else None

    def rollback(self, region: str) -> Process:
        yield from self._network(region)
        served = self._served.pop(region, None)
        model = served.current if served else None
        if model is not None:
            yield from self._clock.call(self._call, "DELETE", region, f"/v1/models/{model.name}")

    def withdraw(self, region: str, model: Model) -> Process:
        yield from self._network(region)
        path = f"/v1/models/{model.name}/versions/{model.version}"
        yield from self._clock.call(self._call, "DELETE", region, path)
        self._served.setdefault(region, Serving()).withdraw(model.version)

    def set_split(self, region: str, weights: dict[str, float]) -> Process:
        gateway = self._started()
        yield from self._network(region)
        gateway.split.set(region, weights)

    def set_routing(self, router: Router) -> Process:
        self._started().router = router
        yield self.env.timeout(0)

    def monitor(self, view: HealthView) -> Process:
        """Probe every region of `view` on the fleet's clock; the gateway routes by `view`."""
        self._started().view = view
        rng = random.Random(f"probes:{self.seed}")
        for loop in probe_loops(self.env, view, self._probe(view), rng):
            self.env.process(loop)
        yield self.env.timeout(0)

    def _probe(self, view: HealthView) -> Probe:
        """The probe's emulated round trip from the control region, then `GET /healthz`, within
        what is left of its timeout (`sandbox.core.expectations`' model, as the simulation's)."""
        policy = view.policy

        def healthz(region: str, left_s: float) -> bool:
            timeout = wall_timeout(left_s, self.time_scale)
            answer = self._call("GET", region, "/healthz", timeout=timeout)
            return answer is not None and answer.ok

        def probe(region: str) -> Process:
            rtt = self.catalog.rtt_ms(self.control_region, region) / 1000.0
            if rtt >= policy.timeout_s:
                yield self.env.timeout(policy.timeout_s)
                return False
            yield from self._network(region)
            return (yield from self._clock.call(healthz, region, policy.timeout_s - rtt))

        return probe

    def attempt_log(self) -> AttemptLog:
        """Every attempt the gateway makes at a region."""
        return self._started().attempts

    def users(
        self,
        router: Router,
        view: HealthView | None,
        workload: Workload,
        log: RequestLog | None,
        seed: int,
    ) -> LiveUsers:
        """Users of `workload` sending real requests through the gateway (which routes by the
        router and view the flow gave it)."""
        return LiveUsers(self._clock, self.gateway_url, router, workload, log, seed)

    def _started(self) -> GatewayState:
        if self.gateway is None:
            raise InvalidDeployment("start the fleet first (LiveFleet.start, or `with fleet:`)")
        return self.gateway
