"""The fleet's Prometheus side, one copy for the regions and the gateway: the latency buckets, every
metric's definition, the gateway's counters and health gauges, and the fleet's scrape targets.

Latencies are in emulated seconds (wall seconds / `time_scale`), the clock of every other figure of
the fleet (fault latencies, health intervals, the attempt log): the metric names say so
(`..._emulated_seconds`), and every server exports `mrsandbox_time_scale` (wall seconds per
emulated second) to convert back. A region's or the gateway's own name is not a label of its
metrics: Prometheus adds it from the target's labels (`scrape_targets`).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from sandbox.core.health import HealthView

# Emulated seconds, from a region's bare answer (well under a millisecond at time_scale 1) to the
# longest latency fault (60 s): steps of 1-2.5-5, so that a quantile says which step it is in.
LATENCY_BUCKETS = (
    *(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25),
    *(0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, float("inf")),
)
EMULATED = "emulated seconds (wall seconds / mrsandbox_time_scale)"
NONE = "none"  # the gateway latency's region label when no region answered
GATEWAY_JOB, REGION_JOB = "mrsandbox-gateway", "mrsandbox-region"


def _time_scale(registry: CollectorRegistry, time_scale: float) -> None:
    Gauge(
        "mrsandbox_time_scale",
        "Wall seconds per emulated second of this server's clock",
        registry=registry,
    ).set(time_scale)


def region_metrics(
    registry: CollectorRegistry, time_scale: float
) -> tuple[Counter, Histogram, Gauge]:
    """A region's request counter and latency histogram (by route) and its fault gauge."""
    requests = Counter(
        "mrsandbox_requests", "Requests by route and status", ["route", "status"], registry=registry
    )
    latency = Histogram(
        "mrsandbox_request_emulated_seconds",
        f"Request latency, injected faults' delays included, in {EMULATED}",
        ["route"],
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )
    faults = Gauge(
        "mrsandbox_fault_active",
        "1 while a fault of this kind is active",
        ["kind"],
        registry=registry,
    )
    _time_scale(registry, time_scale)
    return requests, latency, faults


class GatewayMetrics:
    """The gateway's metrics. `forwarded` and `answered` run on the prediction path: their labelled
    children are made once, up front (so a region's zero counts are there from the start)."""

    def __init__(
        self,
        regions: Sequence[str],
        outcomes: Sequence[str],
        time_scale: float,
        view: Callable[[], HealthView | None],
    ) -> None:
        self.registry = CollectorRegistry()
        self.time_scale = time_scale
        forwards = Counter(
            "mrsandbox_gateway_forwards",
            "Prediction attempts forwarded to a region, by outcome: ok (answered), refused (a 4xx "
            "the request earned), failed (a 5xx, a timeout, a refused connection, or a 404 from a "
            "region that lost the model)",
            ["region", "outcome"],
            registry=self.registry,
        )
        self._retries = Counter(
            "mrsandbox_gateway_retries",
            "Attempts at a further region after one failed a prediction",
            registry=self.registry,
        )
        self._fail_open = Counter(
            "mrsandbox_gateway_fail_open",
            "Predictions routed to every region because none was healthy (X-Fail-Open)",
            registry=self.registry,
        )
        latency = Histogram(
            "mrsandbox_gateway_request_emulated_seconds",
            "Routed predictions from request to answer, emulated round trips and retries "
            f"included, by the region that answered ({NONE}: none did), in {EMULATED}",
            ["region"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._forwards = {(r, o): forwards.labels(r, o) for r in regions for o in outcomes}
        self._latency = {r: latency.labels(r) for r in (*regions, NONE)}
        _time_scale(self.registry, time_scale)
        self.registry.register(_HealthCollector(view))

    def forwarded(self, region: str, outcome: str) -> None:
        """One attempt at `region` and its outcome."""
        self._forwards[region, outcome].inc()

    def answered(self, region: str | None, wall_s: float, attempts: int, fail_open: bool) -> None:
        """One routed prediction: the region that answered (None: none did), its wall time, how
        many regions it tried, and whether it failed open."""
        self._latency[region or NONE].observe(wall_s / self.time_scale)
        if attempts > 1:
            self._retries.inc(attempts - 1)
        if fail_open:
            self._fail_open.inc()

    def exposition(self) -> bytes:
        """Every metric in the Prometheus text format."""
        return generate_latest(self.registry)


class _HealthCollector(Collector):
    """The gateway's health view, read at each scrape (none before the fleet monitors)."""

    def __init__(self, view: Callable[[], HealthView | None]) -> None:
        self.view = view

    def collect(self) -> Iterable[Metric]:
        healthy = GaugeMetricFamily(
            "mrsandbox_gateway_region_healthy",
            "1 while the gateway routes to the region (its probes pass and it is not ejected)",
            labels=["region"],
        )
        ejected = GaugeMetricFamily(
            "mrsandbox_gateway_region_ejected",
            "1 while passive outlier detection ejects the region",
            labels=["region"],
        )
        ejections = CounterMetricFamily(
            "mrsandbox_gateway_outlier_ejections",
            "Outlier ejections of the region since the gateway's health view started",
            labels=["region"],
        )
        view = self.view()
        for region, health in (view.snapshot() if view is not None else {}).items():
            healthy.add_metric([region], 1.0 if health["healthy"] else 0.0)
            ejected.add_metric([region], 1.0 if health["ejected_for_s"] else 0.0)
            ejections.add_metric([region], float(health["ejections"]))
        return [healthy, ejected, ejections]


def scrape_targets(gateway_url: str, region_urls: Mapping[str, str]) -> list[dict[str, Any]]:
    """The fleet's servers as Prometheus file_sd target groups: the gateway (job
    `mrsandbox-gateway`) and each region (job `mrsandbox-region`, label `region`)."""
    groups = [{"targets": [_target(gateway_url)], "labels": {"job": GATEWAY_JOB}}]
    for region, url in region_urls.items():
        labels = {"job": REGION_JOB, "region": region}
        groups.append({"targets": [_target(url)], "labels": labels})
    return groups


def _target(url: str) -> str:
    """`host:port` of a server's URL; a server listening on every address (0.0.0.0, ::) is
    scraped at this machine's name, which another machine's Prometheus can reach."""
    parts = urlsplit(url)
    try:
        everywhere = ipaddress.ip_address(parts.hostname or "").is_unspecified
    except ValueError:  # a name
        everywhere = False
    return f"{socket.gethostname()}:{parts.port}" if everywhere else parts.netloc
