"""Tests for sandbox.core.regions: the catalogue, its validation and the latency model."""

from __future__ import annotations

import csv
import dataclasses
import math
import re
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandbox.core.regions import Region, RegionCatalog, great_circle_km
from sandbox.errors import InvalidRegion, SandboxError, UnknownRegion

AWS = {
    "us-east-1": "Virginia",
    "us-east-2": "Ohio",
    "us-west-1": "California",
    "us-west-2": "Oregon",
    "ca-central-1": "Montreal",
    "sa-east-1": "Sao Paulo",
    "eu-west-1": "Ireland",
    "eu-west-2": "London",
    "eu-west-3": "Paris",
    "eu-central-1": "Frankfurt",
    "eu-north-1": "Stockholm",
    "ap-south-1": "Mumbai",
    "ap-northeast-1": "Tokyo",
    "ap-northeast-2": "Seoul",
    "ap-southeast-1": "Singapore",
    "ap-southeast-2": "Sydney",
    "af-south-1": "Cape Town",
}
GCP = {
    "us-east1": "South Carolina",
    "us-east4": "Virginia",
    "us-central1": "Iowa",
    "us-west1": "Oregon",
    "us-west2": "Los Angeles",
    "northamerica-northeast1": "Montreal",
    "southamerica-east1": "Sao Paulo",
    "europe-west1": "Belgium",
    "europe-west2": "London",
    "europe-west3": "Frankfurt",
    "europe-west4": "Netherlands",
    "europe-north1": "Finland",
    "asia-south1": "Mumbai",
    "asia-northeast1": "Tokyo",
    "asia-east1": "Taiwan",
    "asia-southeast1": "Singapore",
    "australia-southeast1": "Sydney",
}
AZURE = {
    "eastus": "Virginia",
    "eastus2": "Virginia",
    "westus2": "Washington",
    "centralus": "Iowa",
    "canadacentral": "Toronto",
    "brazilsouth": "Sao Paulo",
    "westeurope": "Netherlands",
    "northeurope": "Ireland",
    "uksouth": "London",
    "germanywestcentral": "Frankfurt",
    "swedencentral": "Sweden",
    "centralindia": "Pune",
    "japaneast": "Tokyo",
    "koreacentral": "Seoul",
    "southeastasia": "Singapore",
    "australiaeast": "Australia",
    "southafricanorth": "Johannesburg",
    "uaenorth": "Dubai",
}
NAMES = RegionCatalog.default().names()
LISBON = Region("lab-lisbon", "custom", "Lisbon, Portugal", 38.72, -9.14)


def _shipped_measurements() -> dict[tuple[str, str], float]:
    text = (files("sandbox") / "data" / "rtt_ms_aws_2017_10regions.csv").read_text(encoding="utf-8")
    rows = csv.reader(line for line in text.splitlines() if not line.startswith("#"))
    next(rows)
    return {(a, b): float(rtt) for a, b, rtt in rows}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "regions.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def catalog() -> RegionCatalog:
    return RegionCatalog.default()


# --- contents ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "provider", "place"),
    [(n, "aws", p) for n, p in AWS.items()]
    + [(n, "gcp", p) for n, p in GCP.items()]
    + [(n, "azure", p) for n, p in AZURE.items()],
)
def test_required_region_present(
    catalog: RegionCatalog, name: str, provider: str, place: str
) -> None:
    region = catalog.get(name)
    assert region.provider == provider
    assert place in region.location


@pytest.mark.parametrize(
    ("provider", "least", "spelling", "listing"),
    [
        ("aws", 34, r"[a-z]{2}(-[a-z]+)+-[0-9]", "docs.aws.amazon.com"),
        ("gcp", 42, r"[a-z]+-[a-z]+[0-9]+", "cloud.google.com"),
        ("azure", 55, r"[a-z]+[0-9]?", "learn.microsoft.com"),
    ],
)
def test_each_provider_complete_spelt_its_way_with_a_source(
    catalog: RegionCatalog, provider: str, least: int, spelling: str, listing: str
) -> None:
    regions = [r for r in catalog if r.provider == provider]
    assert len(regions) >= least
    for region in regions:
        assert re.fullmatch(spelling, region.name), region.name
        assert listing in region.source
        assert region.location.strip()


def test_catalogue_order_len_and_iter(catalog: RegionCatalog) -> None:
    assert len(catalog) == len(NAMES) >= len(AWS) + len(GCP) + len(AZURE)
    assert [r.name for r in catalog] == catalog.names()
    assert catalog.names()[0] == "us-east-1"


def test_region_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        LISBON.lat = 0.0  # type: ignore[misc]


def test_great_circle_known_distance(catalog: RegionCatalog) -> None:
    a, b = catalog.get("us-east-1"), catalog.get("eu-west-1")
    assert great_circle_km(a, b) == pytest.approx(5400, rel=0.03)
    assert great_circle_km(a, a) == 0.0


def test_lower_bound_us_east_1_to_eu_west_1(catalog: RegionCatalog) -> None:
    assert catalog.lower_bound_ms("us-east-1", "eu-west-1") == pytest.approx(54, abs=1.5)


# --- latency model ----------------------------------------------------------------------------


@pytest.mark.parametrize(("pair", "rtt"), sorted(_shipped_measurements().items()))
def test_measured_pairs_returned_as_given_both_orders(
    catalog: RegionCatalog, pair: tuple[str, str], rtt: float
) -> None:
    a, b = pair
    assert catalog.rtt_ms(a, b) == rtt
    assert catalog.rtt_ms(b, a) == rtt
    assert catalog.rtt_source(a, b) == catalog.rtt_source(b, a) == "measured (2017)"


def test_the_full_ten_region_table_is_shipped() -> None:
    measured = _shipped_measurements()
    regions = {name for pair in measured for name in pair}
    assert len(regions) == 10
    assert len(measured) == 45  # every pair of the ten, once
    assert measured[("us-east-1", "eu-west-1")] == 80.53
    assert measured[("eu-west-1", "eu-central-1")] == 19.55


@given(a=st.sampled_from(NAMES), b=st.sampled_from(NAMES))
def test_symmetric_and_never_below_bound(catalog: RegionCatalog, a: str, b: str) -> None:
    rtt = catalog.rtt_ms(a, b)
    assert rtt == catalog.rtt_ms(b, a)
    assert catalog.rtt_source(a, b) == catalog.rtt_source(b, a)
    assert catalog.lower_bound_ms(a, b) == pytest.approx(catalog.lower_bound_ms(b, a))
    assert rtt >= catalog.lower_bound_ms(a, b)
    assert catalog.path_bound_ms(a, b) >= catalog.lower_bound_ms(a, b) - 1e-9
    assert rtt >= 1.0


@given(a=st.sampled_from(NAMES), b=st.sampled_from(NAMES))
def test_each_answer_follows_its_stated_source(catalog: RegionCatalog, a: str, b: str) -> None:
    measured = _shipped_measurements()
    source, rtt = catalog.rtt_source(a, b), catalog.rtt_ms(a, b)
    km = great_circle_km(catalog.get(a), catalog.get(b))
    if source == "measured (2017)":
        assert measured.get((a, b), measured.get((b, a))) == rtt
    elif source == "same site":
        assert km <= 100 and rtt == 2.0
    elif source.startswith("measured (2017) between the sites of "):
        site_a, site_b = sorted((catalog.site(a), catalog.site(b)))
        assert source.endswith(f"{site_a} and {site_b}")
        shared = measured.get((site_a, site_b), measured.get((site_b, site_a)))
        assert rtt == max(shared, catalog.lower_bound_ms(a, b))
    else:
        assert source == "estimate" and km > 100
        line = catalog.estimate_slope * catalog.path_bound_ms(a, b) + catalog.estimate_intercept_ms
        assert rtt == pytest.approx(max(line, catalog.lower_bound_ms(a, b), 1.0))


@pytest.mark.parametrize(
    ("pair", "measured_pair"),
    [
        (("us-east4", "europe-west3"), ("us-east-1", "eu-central-1")),
        (("germanywestcentral", "us-east-1"), ("eu-central-1", "us-east-1")),
        (("northeurope", "asia-southeast1"), ("eu-west-1", "ap-southeast-1")),
        (("southeastasia", "australiaeast"), ("ap-southeast-1", "ap-southeast-2")),
        (("southamerica-east1", "japaneast"), ("sa-east-1", "ap-northeast-1")),
    ],
)
def test_regions_at_one_site_share_its_measurements(
    catalog: RegionCatalog, pair: tuple[str, str], measured_pair: tuple[str, str]
) -> None:
    assert catalog.rtt_ms(*pair) == catalog.rtt_ms(*measured_pair)
    assert catalog.rtt_source(*pair).startswith("measured (2017) between the sites of")


@pytest.mark.parametrize(
    "pair",
    [("us-east-1", "us-east-1"), ("us-east-1", "us-east4"), ("eu-west-3", "francecentral")],
)
def test_one_site_is_two_ms(catalog: RegionCatalog, pair: tuple[str, str]) -> None:
    assert catalog.lower_bound_ms(*pair) < 1.0
    assert catalog.rtt_ms(*pair) == 2.0
    assert catalog.rtt_source(*pair) == "same site"


def test_site_is_the_nearest_measured_region_within_100_km(catalog: RegionCatalog) -> None:
    assert catalog.site("europe-west3") == "eu-central-1"
    assert catalog.site("eu-central-1") == "eu-central-1"
    assert catalog.site("europe-west4") is None  # Eemshaven is 100+ km from any measured region
    assert catalog.rtt_source("europe-west4", "us-east-1") == "estimate"


def test_fit_parameters_are_read_only(catalog: RegionCatalog) -> None:
    with pytest.raises(AttributeError):
        catalog.estimate_slope = 2.0  # type: ignore[misc]
    with pytest.raises(AttributeError):
        catalog.estimate_intercept_ms = 0.0  # type: ignore[misc]


def test_fit_depends_on_the_measurements(catalog: RegionCatalog) -> None:
    measured = {pair: 2 * rtt for pair, rtt in _shipped_measurements().items()}
    doubled = RegionCatalog(catalog, measured)
    assert doubled.estimate_slope == pytest.approx(2 * catalog.estimate_slope)
    assert doubled.estimate_intercept_ms == pytest.approx(2 * catalog.estimate_intercept_ms)


def test_without_measurements_estimate_is_the_path_bound(catalog: RegionCatalog) -> None:
    bare = RegionCatalog(catalog)
    assert (bare.estimate_slope, bare.estimate_intercept_ms) == (1.0, 0.0)
    assert bare.rtt_ms("us-east-1", "eu-west-1") == bare.path_bound_ms("us-east-1", "eu-west-1")
    assert bare.rtt_ms("us-east-1", "us-east-1") == 2.0
    assert bare.rtt_source("us-east-1", "eu-west-1") == "estimate"
    assert bare.site("us-east-1") is None
    assert bare.estimate_checks() == []


@pytest.mark.parametrize(
    ("measured", "needle"),
    [
        ({("us-east-1", "nowhere-1"): 50.0}, "'nowhere-1' is not in the catalogue"),
        ({("us-east-1", "us-east-1"): 5.0}, "to itself"),
        ({("us-east-1", "eu-west-1"): 0.0}, "positive"),
        ({("us-east-1", "eu-west-1"): math.nan}, "positive"),
        ({("us-east-1", "eu-west-1"): 30.0}, "below the speed-of-light bound"),
        ({("us-east-1", "eu-west-1"): 81.0, ("eu-west-1", "us-east-1"): 90.0}, "contradicts"),
    ],
)
def test_bad_measurements_rejected(
    catalog: RegionCatalog, measured: dict[tuple[str, str], float], needle: str
) -> None:
    with pytest.raises(InvalidRegion, match="measured_rtt_ms") as info:
        RegionCatalog(catalog, measured)
    assert needle in str(info.value)


# --- unknown names and suggestions ------------------------------------------------------------


def test_suggestions(catalog: RegionCatalog) -> None:
    assert catalog.suggest("us-east1-")[0] == "us-east1"
    assert catalog.suggest("eu-west-l")[0] == "eu-west-1"
    assert catalog.suggest("US-EAST-1")[0] == "us-east-1"
    assert len(catalog.suggest("us-east")) <= 3
    assert catalog.suggest("xyz") == []


def test_message_with_one_suggestion(catalog: RegionCatalog) -> None:
    small = RegionCatalog([catalog.get("us-east1"), catalog.get("eu-west-1")])
    with pytest.raises(UnknownRegion) as info:
        small.get("us-east1-")
    assert str(info.value) == "unknown region 'us-east1-': did you mean 'us-east1'?"


def test_message_with_several_suggestions(catalog: RegionCatalog) -> None:
    small = RegionCatalog(catalog.get(n) for n in ("us-east1", "us-east4", "us-west1"))
    with pytest.raises(UnknownRegion) as info:
        small.check("us-east1-")
    assert str(info.value) == (
        "unknown region 'us-east1-': did you mean 'us-east1', 'us-east4' or 'us-west1'?"
    )


def test_message_without_suggestions(catalog: RegionCatalog) -> None:
    with pytest.raises(UnknownRegion) as info:
        catalog.get("xyz")
    assert (
        str(info.value) == "unknown region 'xyz': run 'mrsandbox regions' to list the known names"
    )
    assert isinstance(info.value, KeyError)
    assert isinstance(info.value, SandboxError)


def test_check_returns_known_name(catalog: RegionCatalog) -> None:
    assert catalog.check("eu-west-1") == "eu-west-1"
    assert "eu-west-1" in catalog
    assert "eu-west-l" not in catalog
    assert 42 not in catalog


@pytest.mark.parametrize("method", ["rtt_ms", "rtt_source", "lower_bound_ms", "path_bound_ms"])
def test_latency_methods_reject_unknown_names(catalog: RegionCatalog, method: str) -> None:
    with pytest.raises(UnknownRegion, match="did you mean 'eu-west-1'"):
        getattr(catalog, method)("us-east-1", "eu-west-l")
    with pytest.raises(UnknownRegion, match="unknown region 'nowhere'"):
        getattr(catalog, method)("nowhere", "us-east-1")


def test_site_rejects_unknown_names(catalog: RegionCatalog) -> None:
    with pytest.raises(UnknownRegion, match="did you mean 'eu-west-1'"):
        catalog.site("eu-west-l")


# --- add() ------------------------------------------------------------------------------------


def test_add_appends_region() -> None:
    fresh = RegionCatalog.default()
    fresh.add(LISBON)
    assert fresh.names()[-1] == "lab-lisbon"
    assert len(fresh) == len(NAMES) + 1
    assert fresh.get("lab-lisbon") is LISBON
    assert fresh.rtt_source("lab-lisbon", "eu-west-1") == "estimate"
    assert fresh.rtt_ms("lab-lisbon", "eu-west-1") >= fresh.lower_bound_ms(
        "lab-lisbon", "eu-west-1"
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "Lab_Lisbon"}, "name"),
        ({"name": "lab lisbon"}, "name"),
        ({"name": "eu-west-1"}, "name"),
        ({"provider": "ibm"}, "provider"),
        ({"location": ""}, "location"),
        ({"lat": 90.5}, "lat"),
        ({"lat": -91}, "lat"),
        ({"lat": math.nan}, "lat"),
        ({"lat": "38.7"}, "lat"),
        ({"lon": 180.01}, "lon"),
        ({"lon": -math.inf}, "lon"),
        ({"lon": True}, "lon"),
    ],
)
def test_add_rejects_bad_region(changes: dict[str, object], field: str) -> None:
    fresh = RegionCatalog.default()
    with pytest.raises(InvalidRegion) as info:
        fresh.add(dataclasses.replace(LISBON, **changes))
    assert f": {field}: " in str(info.value)
    assert "; " in str(info.value)  # what is wrong; how to fix it
    assert fresh.names() == NAMES


def test_add_accepts_edges() -> None:
    fresh = RegionCatalog()
    fresh.add(dataclasses.replace(LISBON, name="pole-1", lat=90, lon=-180))
    fresh.add(dataclasses.replace(LISBON, name="pole-2", lat=-90.0, lon=180.0))
    assert fresh.names() == ["pole-1", "pole-2"]


def test_default_returns_independent_objects() -> None:
    first, second = RegionCatalog.default(), RegionCatalog.default()
    assert first is not second
    first.add(LISBON)
    assert "lab-lisbon" in first
    assert "lab-lisbon" not in second
    assert "lab-lisbon" not in RegionCatalog.default()


# --- load_file() ------------------------------------------------------------------------------

GOOD_TOML = """
[[region]]
name = "lab-lisbon"
location = "Lisbon, Portugal"
lat = 38.72
lon = -9.14

[[region]]
name = "lab-madrid"
provider = "aws"
location = "Madrid, Spain"
lat = 40
lon = -3.70
"""


def test_load_file_adds_all_regions(tmp_path: Path) -> None:
    fresh = RegionCatalog.default()
    fresh.load_file(_write(tmp_path, GOOD_TOML))
    assert fresh.names()[-2:] == ["lab-lisbon", "lab-madrid"]
    path = tmp_path / "regions.toml"
    assert fresh.get("lab-lisbon") == dataclasses.replace(LISBON, source=str(path))
    assert fresh.get("lab-madrid").provider == "aws"
    assert fresh.rtt_ms("lab-madrid", "lab-lisbon") >= fresh.lower_bound_ms(
        "lab-madrid", "lab-lisbon"
    )


def test_load_file_accepts_str_path(tmp_path: Path) -> None:
    fresh = RegionCatalog()
    fresh.load_file(str(_write(tmp_path, GOOD_TOML)))
    assert len(fresh) == 2


SECOND = '[[region]]\nname = "lab-x"\nlocation = "X"\nlat = 1.0\nlon = 2.0\n'


@pytest.mark.parametrize(
    ("text", "key_path", "needle"),
    [
        (
            GOOD_TOML + '[[region]]\nname = "lab-y"\nlocation = "Y"\nlon = 2.0\n',
            "region[2].lat",
            "add lat",
        ),
        (SECOND.replace("1.0", "95.5"), "region[0].lat", "outside [-90, 90]"),
        (SECOND.replace("1.0", "nan"), "region[0].lat", "outside [-90, 90]"),
        (SECOND.replace("1.0", '"1.0"'), "region[0].lat", "not a number"),
        (SECOND.replace("2.0", "-200"), "region[0].lon", "outside [-180, 180]"),
        (SECOND.replace("lab-x", "eu-west-1"), "region[0].name", "already in the catalogue"),
        (SECOND + SECOND, "region[1].name", "already defined at region[0]"),
        (SECOND.replace("lab-x", "Lab X"), "region[0].name", "use e.g. 'lab-x'"),
        (SECOND.replace('"X"', "3"), "region[0].location", "not a string"),
        (SECOND + 'provider = "ibm"\n', "region[0].provider", "not one of"),
        (SECOND.replace("lon =", "lng ="), "region[0].lng", "did you mean 'lon'"),
        ('title = "x"\n' + SECOND, "title", "unknown top-level key"),
        (SECOND.replace("[[region]]", "[region]"), "region", "double brackets"),
        ("", "region", "expected [[region]] tables"),
    ],
)
def test_load_file_rejects_bad_file(tmp_path: Path, text: str, key_path: str, needle: str) -> None:
    fresh = RegionCatalog.default()
    path = _write(tmp_path, text)
    with pytest.raises(InvalidRegion) as info:
        fresh.load_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {key_path}: ")
    assert needle in message
    assert fresh.names() == NAMES


def test_load_file_rejects_invalid_toml(tmp_path: Path) -> None:
    fresh = RegionCatalog.default()
    path = _write(tmp_path, '[[region]]\nname = "lab-x\n')
    with pytest.raises(InvalidRegion, match="invalid TOML") as info:
        fresh.load_file(path)
    assert str(path) in str(info.value)
    assert "line 2" in str(info.value)
    assert fresh.names() == NAMES


def test_load_file_rejects_missing_file(tmp_path: Path) -> None:
    fresh = RegionCatalog.default()
    path = tmp_path / "absent.toml"
    with pytest.raises(InvalidRegion, match="no such file") as info:
        fresh.load_file(path)
    assert str(path) in str(info.value)
    assert fresh.names() == NAMES


def test_load_file_rejects_directory(tmp_path: Path) -> None:
    with pytest.raises(InvalidRegion, match="cannot read") as info:
        RegionCatalog().load_file(tmp_path)
    assert str(tmp_path) in str(info.value)


def test_rejected_file_adds_nothing_even_if_its_start_is_valid(tmp_path: Path) -> None:
    fresh = RegionCatalog.default()
    path = _write(tmp_path, GOOD_TOML + SECOND.replace("1.0", "-95"))
    with pytest.raises(InvalidRegion, match=r"region\[2\]\.lat"):
        fresh.load_file(path)
    assert "lab-lisbon" not in fresh
    assert fresh.names() == NAMES


# --- import cost ------------------------------------------------------------------------------


def test_import_is_cheap() -> None:
    code = (
        "import sys, sandbox.core.regions; "
        "print(sorted({'flask', 'requests', 'matplotlib', 'numpy'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert result.stdout.strip() == "[]"
