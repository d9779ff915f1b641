"""One user's prediction through a live fleet's gateway, and what the user saw: who answered
(`X-Served-By`), which regions the gateway tried (`X-Tried`), the status and how long it took, in
the fleet's emulated time."""

from __future__ import annotations

import time
from dataclasses import dataclass

import requests

from sandbox.core.routing import REQUEST_TIMEOUT_S, RoutingPolicy
from sandbox.core.timing import wall_timeout
from sandbox.errors import InvalidDeployment
from sandbox.live.fleet import LiveFleet


@dataclass(frozen=True)
class Reply:
    """A request of a user near `near`, sent at `t` (emulated seconds on the fleet's clock):
    its `status` (0: no answer at all), the region that answered (`served_by`, "" for none),
    the regions tried in order, the round trip the latency model gives from the user to the
    region that answered (what the gateway waits; None for none), and the emulated
    milliseconds the request took, the laptop's own HTTP work included."""

    t: float
    near: str
    status: int
    served_by: str
    tried: tuple[str, ...]
    rtt_ms: float | None
    ms: float


def ask(fleet: LiveFleet, near: str) -> Reply:
    """Send one prediction of the deployed model through `fleet`'s gateway as a user near `near`
    (a region name: where the user is) and return what the user saw."""
    fleet.catalog.check(near)
    gateway = fleet.gateway
    model = next((m for r in fleet.regions if (m := fleet.deployed(r)) is not None), None)
    if gateway is None or model is None:
        raise InvalidDeployment(
            "ask needs a started fleet with a model deployed: run_deployment(..., backend=fleet) "
            "inside `with LiveFleet(...) as fleet:` first"
        )
    policy = gateway.router.policy if gateway.router is not None else RoutingPolicy()
    timeout = wall_timeout(REQUEST_TIMEOUT_S, fleet.time_scale) * (policy.retries + 2)
    t, start = fleet.now(), time.perf_counter()
    try:
        answer = requests.post(
            f"{fleet.gateway_url}/v1/models/{model.name}:predict",
            json={"instances": [list(model.smoke_instances[0])]},
            headers={"X-Client-Region": near},
            timeout=timeout,
        )
    except requests.RequestException:
        ms = (time.perf_counter() - start) / fleet.time_scale * 1000
        return Reply(t, near, 0, "", (), None, ms)
    ms = (time.perf_counter() - start) / fleet.time_scale * 1000
    tried = tuple(r for r in answer.headers.get("X-Tried", "").split(",") if r)
    served = answer.headers.get("X-Served-By", "")
    rtt = fleet.catalog.rtt_ms(near, served) if served in fleet.urls else None
    return Reply(t, near, answer.status_code, served, tried, rtt, ms)
