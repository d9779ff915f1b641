"""Cloud regions, their coordinates, and a latency model between them.

The latency model returns a measured round-trip time when the catalogue has one for the pair
(either order) and otherwise a straight-line estimate from the great-circle distance, fitted by
least squares on the measured pairs. See ``sandbox/data/README.md`` for the data's sources.
"""

from __future__ import annotations

import csv
import difflib
import json
import math
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from sandbox.core.checks import is_number
from sandbox.errors import InvalidRegion, UnknownRegion

EARTH_RADIUS_KM = 6371.0
FIBRE_KM_PER_MS = 200.0  # light in glass travels at about two thirds of c
MIN_RTT_MS = 1.0  # floor for any round trip, even within one city
PROVIDERS = ("aws", "gcp", "custom")
MEASURED = "measured (2017)"
ESTIMATE = "estimate"

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
    """One region: its name, provider ("aws", "gcp" or "custom"), location and city coordinates."""

    name: str
    provider: str
    location: str
    lat: float
    lon: float


def great_circle_km(a: Region, b: Region) -> float:
    """Great-circle distance between two regions in km (haversine, earth radius 6371 km)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _bound_ms(a: Region, b: Region) -> float:
    return 2 * great_circle_km(a, b) / FIBRE_KM_PER_MS


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


def _fit_line(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Ordinary least squares y = slope * x + intercept; the bound itself (1, 0) without data."""
    if len(points) >= 2:
        mean_x = sum(x for x, _ in points) / len(points)
        mean_y = sum(y for _, y in points) / len(points)
        sxx = sum((x - mean_x) ** 2 for x, _ in points)
        if sxx > 0:
            slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sxx
            return slope, mean_y - slope * mean_x
    return 1.0, 0.0


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
        self._slope, self._intercept = _fit_line(
            [
                (_bound_ms(self._regions[a], self._regions[b]), rtt)
                for (a, b), rtt in self._measured.items()
            ]
        )

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
        """A new catalogue of the bundled AWS and GCP regions with the 2017 RTT measurements."""
        data = files("sandbox") / "data"
        regions = json.loads((data / "regions.json").read_text(encoding="utf-8"))
        measured = _parse_rtt_csv((data / "rtt_ms_2017.csv").read_text(encoding="utf-8"))
        return cls((Region(**fields) for fields in regions), measured)

    @property
    def estimate_slope(self) -> float:
        """Slope of the fitted estimate, RTT ms per ms of lower bound."""
        return self._slope

    @property
    def estimate_intercept_ms(self) -> float:
        """Intercept of the fitted estimate in ms (the estimate at distance 0, before the floor)."""
        return self._intercept

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
        """Physical floor on the round trip: light in fibre, 200 km per ms each way."""
        return _bound_ms(self.get(client), self.get(server))

    def rtt_source(self, client: str, server: str) -> str:
        """Where rtt_ms() gets this pair from: "measured (2017)" or "estimate"."""
        self.get(client)
        self.get(server)
        return MEASURED if _pair(client, server) in self._measured else ESTIMATE

    def rtt_ms(self, client: str, server: str) -> float:
        """Round trip in ms for a client near `client` reaching a server in `server`.

        A measured pair returns its measurement; any other pair the fitted estimate
        ``estimate_slope * lower_bound_ms + estimate_intercept_ms``, never below the lower bound
        nor below 1 ms. Answers are cached: a region's coordinates never change once added.
        """
        key = (client, server)
        cached = self._rtt_cache.get(key)
        if cached is not None:
            return cached
        a, b = self.get(client), self.get(server)
        rtt = self._measured.get(_pair(a.name, b.name))
        if rtt is None:
            bound = _bound_ms(a, b)
            rtt = max(self._slope * bound + self._intercept, bound, MIN_RTT_MS)
        self._rtt_cache[key] = rtt
        return rtt
