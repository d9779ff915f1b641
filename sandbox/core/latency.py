"""Distances and the round-trip estimate between two places on earth.

An estimate is ``slope * path_bound_ms + intercept_ms``: `path_bound_ms` is light in fibre over the
shortest path between the places on a coarse long-haul backbone (``sandbox/data/backbone.json``:
cable landings and peering cities, joined by the cable systems in service in 2017), and the slope
and intercept are fitted to measured round trips by least relative error. See
``sandbox/data/README.md`` for the backbone's sources and the estimate's measured error.
"""

from __future__ import annotations

import heapq
import json
import math
from collections.abc import Mapping, Sequence
from importlib.resources import files
from typing import NamedTuple

EARTH_RADIUS_KM = 6371.0
FIBRE_KM_PER_MS = 200.0  # light in glass travels at about two thirds of c
REACH_KM = (
    1500.0  # a place connects straight to every hub and place this close (and its nearest hub)
)

Point = tuple[float, float]  # (lat, lon) in decimal degrees


def distance_km(a: Point, b: Point) -> float:
    """Great-circle distance in km between two (lat, lon) points (haversine, radius 6371 km)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def fibre_ms(km: float) -> float:
    """The round trip of light in fibre over `km` each way (200 km per ms)."""
    return 2 * km / FIBRE_KM_PER_MS


class Backbone:
    """Hubs joined by links (every link's hubs among `hubs`, every hub reachable from every other);
    the shortest path between any two points over them."""

    def __init__(self, hubs: Mapping[str, Point], links: Sequence[tuple[str, str]]) -> None:
        self.hubs = dict(hubs)
        adjacent: dict[str, list[tuple[str, float]]] = {hub: [] for hub in self.hubs}
        for a, b in links:
            km = distance_km(self.hubs[a], self.hubs[b])
            adjacent[a].append((b, km))
            adjacent[b].append((a, km))
        self.between_km = {hub: _dijkstra(adjacent, hub) for hub in self.hubs}
        """Shortest path in km between every two hubs that are joined at all."""

    @classmethod
    def bundled(cls) -> Backbone:
        """The backbone shipped in ``sandbox/data/backbone.json``."""
        data = json.loads((files("sandbox") / "data" / "backbone.json").read_text("utf-8"))
        hubs = {name: (lat, lon) for name, (lat, lon) in data["hubs"].items()}
        return cls(hubs, [(a, b) for a, b, _cables in data["links"]])

    def _ends(self, point: Point) -> list[tuple[str, float]]:
        near = [(hub, distance_km(point, where)) for hub, where in self.hubs.items()]
        within = [(hub, km) for hub, km in near if km <= REACH_KM]
        return within or [min(near, key=lambda end: end[1])]

    def path_km(self, a: Point, b: Point) -> float:
        """The shortest path in km from `a` to `b`: straight when within reach, else via hubs.

        Never shorter than the great-circle distance (each leg is one); the same both ways.
        """
        a, b = sorted((a, b))
        direct = distance_km(a, b)
        best = direct if direct <= REACH_KM else math.inf
        for hub_a, km_a in self._ends(a):
            for hub_b, km_b in self._ends(b):
                best = min(best, km_a + self.between_km[hub_a][hub_b] + km_b)
        return best


def _dijkstra(adjacent: Mapping[str, list[tuple[str, float]]], start: str) -> dict[str, float]:
    done: dict[str, float] = {}
    queue = [(0.0, start)]
    while queue:
        km, hub = heapq.heappop(queue)
        if hub in done:
            continue
        done[hub] = km
        for other, step in adjacent[hub]:
            if other not in done:
                heapq.heappush(queue, (km + step, other))
    return done


class Fit(NamedTuple):
    """An estimate ``slope * x + intercept_ms``."""

    slope: float
    intercept_ms: float

    def __call__(self, x: float) -> float:
        return self.slope * x + self.intercept_ms


NO_FIT = Fit(1.0, 0.0)


def fit_relative(points: Sequence[tuple[float, float]]) -> Fit:
    """The line through (x, measured) points with the least squared relative error.

    Minimises the sum of ``((slope * x + intercept - y) / y) ** 2``, so a 20 ms pair counts as
    much as a 300 ms one. Without two points at different x there is nothing to fit: NO_FIT.
    """
    s_xx = s_x1 = s_11 = s_x = s_1 = 0.0
    for x, y in points:
        u, v = x / y, 1.0 / y
        s_xx, s_x1, s_11, s_x, s_1 = s_xx + u * u, s_x1 + u * v, s_11 + v * v, s_x + u, s_1 + v
    det = s_xx * s_11 - s_x1 * s_x1
    if len(points) < 2 or det <= 1e-12 * max(s_xx * s_11, 1e-300):
        return NO_FIT
    return Fit((s_x * s_11 - s_1 * s_x1) / det, (s_xx * s_1 - s_x1 * s_x) / det)


def leave_one_out(points: Sequence[tuple[float, float]]) -> list[float]:
    """For each point, the estimate at its x of the line fitted to all the other points."""
    return [fit_relative([*points[:i], *points[i + 1 :]])(x) for i, (x, _) in enumerate(points)]
