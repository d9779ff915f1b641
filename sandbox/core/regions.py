"""Cloud regions, their coordinates, and the round trip between any two of them.

A round trip is, in this order: the measurement of the pair; 2 ms within one site (regions less
than 100 km apart); the measurement between the two regions' sites (a measured region within
100 km of each); else the backbone estimate of ``sandbox.core.latency``, fitted to the
measurements. Never below light in fibre over the great circle. See ``sandbox/data/README.md``.
"""

from __future__ import annotations

import csv
import difflib
import json
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from importlib.resources import files
from pathlib import Path
from typing import NamedTuple

from sandbox.core.checks import is_number
from sandbox.core.latency import Backbone, distance_km, fibre_ms, fit_relative, leave_one_out
from sandbox.errors import InvalidRegion, UnknownRegion

MIN_RTT_MS = 1.0  # floor for any round trip
SITE_KM = 100.0  # AWS: a region's availability zones lie within 100 km of each other
SITE_RTT_MS = 2.0  # Azure: availability zones of a region are under 2 ms round trip apart
PROVIDERS = ("aws", "gcp", "azure", "custom")
MEASURED = "measured (2017)"
SAME_SITE = "same site"
ESTIMATE = "estimate"
RTT_FILE = "rtt_ms_aws_2017_10regions.csv"

_NAME = re.compile(r"[a-z0-9-]+")
_TOML_KEYS = ("name", "location", "lat", "lon", "provider")
_TOML_EXAMPLES = {
    "name": '"lab-east-1"',
    "location": '"Lisbon, Portugal"',
    "lat": "38.72  # degrees north, -90 to 90",
    "lon": "-9.14  # degrees east, -180 to 180",
}


@dataclass(frozen=True)
class Region:
    """One region: name, provider (one of PROVIDERS), location, its city's coordinates, source."""

    name: str
    provider: str
    location: str
    lat: float
    lon: float
    source: str = ""

    @property
    def point(self) -> tuple[float, float]:
        """(lat, lon) in decimal degrees."""
        return (self.lat, self.lon)


class EstimateCheck(NamedTuple):
    """One measured pair beside the estimate fitted to all the other measured pairs."""

    region_a: str
    region_b: str
    measured_ms: float
    estimate_ms: float


def great_circle_km(a: Region, b: Region) -> float:
    """Great-circle distance between two regions in km (haversine, earth radius 6371 km)."""
    return distance_km(a.point, b.point)


def _bound_ms(a: Region, b: Region) -> float:
    return fibre_ms(great_circle_km(a, b))


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


def _problem(region: Region) -> tuple[str, str] | None:
    """The first field of `region` that cannot be used, with what is wrong and the fix."""
    name = region.name
    if not isinstance(name, str):
        return "name", f"{name!r} is not a string; give a name such as 'lab-east-1'"
    if not name.strip():
        return "name", "is empty; give the region a name such as 'lab-east-1'"
    if not _NAME.fullmatch(name):
        fixed = re.sub(r"[^a-z0-9-]+", "-", name.strip().lower()).strip("-") or "lab-east-1"
        return "name", f"{name!r} may only use a-z, 0-9 and '-'; use e.g. {fixed!r}"
    if region.provider not in PROVIDERS:
        return "provider", f"{region.provider!r} is not one of {', '.join(PROVIDERS)}; pick one"
    if not isinstance(region.location, str) or not region.location.strip():
        return "location", "is empty or not text; describe where it is, e.g. 'Lisbon, Portugal'"
    for field, limit, direction in (("lat", 90, "north"), ("lon", 180, "east")):
        value = getattr(region, field)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return field, f"{value!r} is not a number; give decimal degrees {direction}"
        if not is_number(value) or not -limit <= value <= limit:
            return field, (
                f"{value!r} is outside [-{limit}, {limit}]; give decimal degrees {direction}, "
                f"-{limit} to {limit}"
            )
    return None


def _parse_rtt_csv(text: str) -> dict[tuple[str, str], float]:
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return {
        (row["region_a"], row["region_b"]): float(row["rtt_ms"]) for row in csv.DictReader(lines)
    }


class RegionCatalog:
    """Known regions in catalogue order, with measured round-trip times between some of them."""

    def __init__(
        self,
        regions: Iterable[Region] = (),
        measured_rtt_ms: Mapping[tuple[str, str], float] | None = None,
    ) -> None:
        self._regions: dict[str, Region] = {}
        self._rtt_cache: dict[tuple[str, str], float] = {}
        for region in regions:
            self.add(region)
        self._measured: dict[tuple[str, str], float] = {}
        for (a, b), rtt in (measured_rtt_ms or {}).items():
            self._add_measurement(a, b, rtt)
        self._fit = fit_relative(self._fit_points())

    def _add_measurement(self, a: str, b: str, rtt: float) -> None:
        where = f"measured_rtt_ms[{a!r}, {b!r}]"
        for name in (a, b):
            if name not in self:
                raise InvalidRegion(f"{where}: {name!r} is not in the catalogue; add it first")
        if a == b:
            raise InvalidRegion(f"{where}: a region to itself is not a pair; drop it")
        if not is_number(rtt) or rtt <= 0:
            raise InvalidRegion(f"{where}: {rtt!r} is not a positive number of ms; fix it")
        bound = _bound_ms(self._regions[a], self._regions[b])
        if rtt < bound:
            raise InvalidRegion(
                f"{where}: {rtt} ms is below the speed-of-light bound {bound:.1f} ms; "
                "check the value and the regions' coordinates"
            )
        key = _pair(a, b)
        if self._measured.get(key, rtt) != rtt:
            raise InvalidRegion(
                f"{where}: {rtt} ms contradicts {self._measured[key]} ms for the reverse order; "
                "give one value per pair"
            )
        self._measured[key] = float(rtt)

    @classmethod
    def default(cls) -> RegionCatalog:
        """A new catalogue of the bundled AWS, GCP and Azure regions with the 2017 measurements."""
        data = files("sandbox") / "data"
        regions = json.loads((data / "regions.json").read_text(encoding="utf-8"))
        measured = _parse_rtt_csv((data / RTT_FILE).read_text(encoding="utf-8"))
        return cls((Region(**fields) for fields in regions), measured)

    def _fit_points(self) -> list[tuple[float, float]]:
        return [(self.path_bound_ms(a, b), rtt) for (a, b), rtt in self._measured.items()]

    @property
    def estimate_slope(self) -> float:
        """Slope of the fitted estimate, RTT ms per ms of path bound."""
        return self._fit.slope

    @property
    def estimate_intercept_ms(self) -> float:
        """Intercept of the fitted estimate in ms (the estimate at distance 0, before the floor)."""
        return self._fit.intercept_ms

    def estimate_checks(self) -> list[EstimateCheck]:
        """Each measured pair beside its leave-one-out estimate (the fit without that pair)."""
        points = self._fit_points()
        return [
            EstimateCheck(a, b, rtt, max(estimate, self.lower_bound_ms(a, b), MIN_RTT_MS))
            for ((a, b), rtt), estimate in zip(
                self._measured.items(), leave_one_out(points), strict=True
            )
        ]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._regions

    def __iter__(self) -> Iterator[Region]:
        return iter(self._regions.values())

    def __len__(self) -> int:
        return len(self._regions)

    def names(self) -> list[str]:
        """The region names in catalogue order."""
        return list(self._regions)

    def get(self, name: str) -> Region:
        """The region called `name`; UnknownRegion, with suggestions, if there is none."""
        if name not in self:
            raise self._unknown(name)
        return self._regions[name]

    def check(self, name: str) -> str:
        """`name` itself if the catalogue knows it, else the same UnknownRegion as get()."""
        return self.get(name).name

    def suggest(self, name: str) -> list[str]:
        """Up to 3 known names closest to `name`, best first (ties in name order)."""
        query = name.strip().lower()
        matches = difflib.get_close_matches(query, self._regions, n=len(self), cutoff=0.6)
        ranked = sorted(
            matches, key=lambda m: (-difflib.SequenceMatcher(None, m, query).ratio(), m)
        )
        return ranked[:3]

    def _unknown(self, name: object) -> UnknownRegion:
        suggestions = [f"'{s}'" for s in self.suggest(name)] if isinstance(name, str) else []
        if not suggestions:
            hint = "run 'mrsandbox regions' to list the known names"
        elif len(suggestions) == 1:
            hint = f"did you mean {suggestions[0]}?"
        else:
            hint = f"did you mean {', '.join(suggestions[:-1])} or {suggestions[-1]}?"
        return UnknownRegion(f"unknown region {name!r}: {hint}")

    def add(self, region: Region) -> None:
        """Add `region` at the end; InvalidRegion if any field is unusable or the name is taken."""
        problem = _problem(region)
        if problem is None and region.name in self._regions:
            problem = "name", f"{region.name!r} is already in the catalogue; choose another name"
        if problem is not None:
            field, message = problem
            raise InvalidRegion(f"region {region.name!r}: {field}: {message}")
        self._regions[region.name] = region

    def load_file(self, path: str | Path) -> None:
        """Add the regions of a TOML file's ``[[region]]`` tables, all of them or none.

        Keys: name, location, lat, lon and optionally provider (default "custom"). Errors are
        InvalidRegion naming the file, the key path (``region[0]`` is the first table) and the fix.
        """
        path = Path(path)
        try:
            with path.open("rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise InvalidRegion(f"{path}: no such file; check the path") from None
        except OSError as exc:
            raise InvalidRegion(f"{path}: cannot read it ({exc.strerror}); check the path") from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InvalidRegion(f"{path}: invalid TOML ({exc}); fix the syntax there") from exc
        regions = self._regions_from_toml(data, path)
        for region in regions:
            self._regions[region.name] = region

    def _regions_from_toml(self, data: dict[str, object], path: Path) -> list[Region]:
        """Validate a parsed TOML document completely before anything is added."""

        def fail(key: str, message: str) -> InvalidRegion:
            return InvalidRegion(f"{path}: {key}: {message}")

        for key in data:
            if key != "region":
                raise fail(key, "unknown top-level key; put each region in a [[region]] table")
        tables = data.get("region")
        if not isinstance(tables, list) or not tables:
            raise fail(
                "region",
                "expected [[region]] tables (double brackets) with name, location, lat, lon",
            )
        regions: list[Region] = []
        seen: dict[str, str] = {}
        for index, table in enumerate(tables):
            where = f"region[{index}]"
            if not isinstance(table, dict):
                raise fail(where, "expected a table; write it as a [[region]] section")
            for key in table:
                if key not in _TOML_KEYS:
                    close = difflib.get_close_matches(key, _TOML_KEYS, n=1)
                    hint = f"did you mean '{close[0]}'? " if close else ""
                    allowed = ", ".join(_TOML_KEYS)
                    raise fail(f"{where}.{key}", f"unknown key; {hint}allowed keys: {allowed}")
            for key, example in _TOML_EXAMPLES.items():
                if key not in table:
                    raise fail(f"{where}.{key}", f"missing; add {key} = {example}")
            for key in ("name", "location", "provider"):
                if key in table and not isinstance(table[key], str):
                    raise fail(f"{where}.{key}", f"{table[key]!r} is not a string; quote it")
            region = Region(
                name=table["name"],
                provider=table.get("provider", "custom"),
                location=table["location"],
                lat=table["lat"],
                lon=table["lon"],
                source=str(path),
            )
            problem = _problem(region)
            if problem is not None:
                field, message = problem
                raise fail(f"{where}.{field}", message)
            if region.name in self._regions:
                raise fail(
                    f"{where}.name",
                    f"{region.name!r} is already in the catalogue; choose another name",
                )
            if region.name in seen:
                raise fail(
                    f"{where}.name",
                    f"{region.name!r} is already defined at {seen[region.name]}; rename one",
                )
            seen[region.name] = where
            regions.append(region)
        return regions

    def lower_bound_ms(self, client: str, server: str) -> float:
        """Physical floor on the round trip: light in fibre over the great circle, 200 km/ms."""
        return _bound_ms(self.get(client), self.get(server))

    def path_bound_ms(self, client: str, server: str) -> float:
        """Light in fibre over the shortest backbone path (``sandbox.core.latency``)."""
        a, b = self.get(client), self.get(server)
        return fibre_ms(_backbone().path_km(a.point, b.point))

    @cached_property
    def _measured_regions(self) -> list[Region]:
        return [
            self._regions[name] for name in sorted({n for pair in self._measured for n in pair})
        ]

    def site(self, name: str) -> str | None:
        """The measured region whose site `name` shares (within 100 km, nearest), if any."""
        region = self.get(name)
        near = [(great_circle_km(region, m), m.name) for m in self._measured_regions]
        km, closest = min(near, default=(SITE_KM + 1, ""))
        return closest if km <= SITE_KM else None

    def _answer(self, client: str, server: str) -> tuple[float, str]:
        a, b = self.get(client), self.get(server)
        bound = _bound_ms(a, b)
        measured = self._measured.get(_pair(a.name, b.name))
        if measured is not None:
            return measured, MEASURED
        if great_circle_km(a, b) <= SITE_KM:
            return max(SITE_RTT_MS, bound), SAME_SITE
        site_a, site_b = self.site(a.name), self.site(b.name)
        if site_a and site_b and _pair(site_a, site_b) in self._measured:
            first, second = _pair(site_a, site_b)
            shared = self._measured[first, second]
            return max(shared, bound), f"{MEASURED} between the sites of {first} and {second}"
        return max(self._fit(self.path_bound_ms(client, server)), bound, MIN_RTT_MS), ESTIMATE

    def rtt_source(self, client: str, server: str) -> str:
        """Where rtt_ms() gets this pair from: "measured (2017)", "measured (2017) between the
        sites of A and B", "same site" or "estimate"."""
        return self._answer(client, server)[1]

    def rtt_ms(self, client: str, server: str) -> float:
        """Round trip in ms for a client near `client` reaching a server in `server`.

        The first that applies: the pair's measurement; 2 ms within one site (under 100 km
        apart); the measurement between the two regions' sites; the fitted estimate
        ``estimate_slope * path_bound_ms + estimate_intercept_ms``. Never below the lower bound
        nor 1 ms. Answers are cached: a region's coordinates never change once added.
        """
        key = (client, server)
        cached = self._rtt_cache.get(key)
        if cached is None:
            cached = self._rtt_cache[key] = self._answer(client, server)[0]
        return cached


@cache
def _backbone() -> Backbone:
    return Backbone.bundled()
