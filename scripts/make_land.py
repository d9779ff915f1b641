"""Regenerate sandbox/data/land_110m.json, the dashboard's world map, from Natural Earth's 1:110m
land as the world-atlas npm package ships it (`npm pack world-atlas@2.0.2`, then
`package/land-110m.json`: spherical TopoJSON).

The map is planar: a ring that crosses the antimeridian is cut there into a piece on each side
(as d3-geo would when drawing it), a ring around the South Pole is closed through the pole; each
ring is simplified (Douglas-Peucker, 0.1 degree) and rounded to 0.01 degree. The output is the
same bytes on every run.

Usage: python scripts/make_land.py LAND_110M_JSON [--out PATH]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOLERANCE, DECIMALS = 0.1, 2
SOURCE = (
    "Natural Earth 1:110m physical vectors, land, v4.1.0 (public domain), as world-atlas 2.0.2 "
    "land-110m.json; cut at the antimeridian, simplified (Douglas-Peucker, 0.1 degree) and "
    "rounded to 0.01 degree; see sandbox/data/README.md"
)
Point = tuple[float, float]
Ring = list[Point]


def decoded_arcs(topology: dict) -> list[Ring]:
    """The topology's arcs as (longitude, latitude) points (they are delta-encoded)."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def ring_of(arcs: list[Ring], indices: list[int]) -> Ring:
    """A ring from its arcs (a negative index: that arc reversed)."""
    out: Ring = []
    for i in indices:
        points = arcs[i] if i >= 0 else arcs[~i][::-1]
        out.extend(points if not out else points[1:])
    return out


def simplified(points: Ring, tolerance: float) -> Ring:
    """Douglas-Peucker: the points farther than `tolerance` from the line of their neighbours."""
    if len(points) < 3:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        a, b = stack.pop()
        (x1, y1), (x2, y2) = points[a], points[b]
        best, at = -1.0, -1
        dx, dy = x2 - x1, y2 - y1
        n = math.hypot(dx, dy)
        for i in range(a + 1, b):
            x0, y0 = points[i]
            d = (
                abs(dy * x0 - dx * y0 + x2 * y1 - y2 * x1) / n
                if n
                else math.hypot(x0 - x1, y0 - y1)
            )
            if d > best:
                best, at = d, i
        if best > tolerance:
            keep[at] = True
            stack += [(a, at), (at, b)]
    return [p for p, k in zip(points, keep, strict=True) if k]


def unwrapped(ring: Ring) -> Ring:
    """The ring with each longitude within 180 degrees of the one before."""
    out = [ring[0]]
    for lon, lat in ring[1:]:
        prev = out[-1][0]
        while lon - prev > 180:
            lon -= 360
        while lon - prev < -180:
            lon += 360
        out.append((lon, lat))
    return out


def crossing(a: Point, b: Point, x: float) -> Point:
    f = (x - a[0]) / (b[0] - a[0])
    return (x, a[1] + f * (b[1] - a[1]))


def clipped(ring: Ring, low: float, high: float) -> Ring:
    """Sutherland-Hodgman: the part of the ring with low <= longitude <= high."""
    for keep, edge in ((lambda p: p[0] >= low, low), (lambda p: p[0] <= high, high)):
        out: Ring = []
        for i, current in enumerate(ring):
            previous = ring[i - 1]
            if keep(current):
                if not keep(previous):
                    out.append(crossing(previous, current, edge))
                out.append(current)
            elif keep(previous):
                out.append(crossing(previous, current, edge))
        ring = out
        if not ring:
            break
    return ring


def planar(ring: Ring) -> list[Ring]:
    """The ring as planar rings within -180..180 degrees of longitude."""
    if all(abs(a[0] - b[0]) <= 180 for a, b in itertools.pairwise(ring)):
        return [ring]
    u = unwrapped(ring)
    if abs(u[-1][0] - u[0][0]) > 180:  # around a pole: close it through the pole
        pole = -90.0 if sum(p[1] for p in u) < 0 else 90.0
        u = [*u[:-1], (u[-1][0], pole), (u[0][0], pole), u[0]]
    pieces = []
    for shift in (-360, 0, 360):
        piece = clipped([(lon + shift, lat) for lon, lat in u][:-1], -180, 180)
        if len(piece) >= 3:
            pieces.append([*piece, piece[0]])
    return pieces


def contains(point: Point, ring: Ring) -> bool:
    x, y = point
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
        if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
            inside = not inside
    return inside


def tidy(ring: Ring) -> Ring | None:
    """Simplified and rounded, repeated points dropped; None when too little is left."""
    rounded = [(round(x, DECIMALS), round(y, DECIMALS)) for x, y in simplified(ring, TOLERANCE)]
    points = [p for i, p in enumerate(rounded) if i == 0 or p != rounded[i - 1]]
    return points if len(points) >= 4 else None


def land(topology: dict) -> list[list[Ring]]:
    """The land's polygons (an outer ring, then its holes), planar and simplified."""
    arcs = decoded_arcs(topology)
    polygons: list[list[Ring]] = []
    for polygon in topology["objects"]["land"]["geometries"][0]["arcs"]:
        rings = [ring_of(arcs, indices) for indices in polygon]
        outer = planar(rings[0])
        if len(outer) == 1:
            polygons.append([r for r in map(tidy, [outer[0], *rings[1:]]) if r])
            continue
        pieces = [[piece] for piece in outer]
        for hole in rings[1:]:  # to the piece around it
            next(p for p in pieces if contains(hole[0], p[0])).append(hole)
        for piece in pieces:
            kept = [tidy(r) for r in piece]
            if kept[0]:
                polygons.append([r for r in kept if r])
    return polygons


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="world-atlas 2.0.2's land-110m.json")
    parser.add_argument("--out", type=Path, default=ROOT / "sandbox" / "data" / "land_110m.json")
    args = parser.parse_args()
    polygons = land(json.loads(args.source.read_text()))
    coordinates = [[[list(p) for p in ring] for ring in polygon] for polygon in polygons]
    feature = {
        "type": "Feature",
        "properties": {"featurecla": "Land", "source": SOURCE},
        "geometry": {"type": "MultiPolygon", "coordinates": coordinates},
    }
    text = json.dumps({"type": "FeatureCollection", "features": [feature]}, separators=(",", ":"))
    args.out.write_text(text + "\n")
    print(f"{len(polygons)} polygons, {len(text)} bytes written to {args.out}")


if __name__ == "__main__":
    main()
