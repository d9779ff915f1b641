"""The latency estimate: the backbone's paths, the relative-error fit, and its measured error."""

from __future__ import annotations

import json
from importlib.resources import files

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandbox.core import RegionCatalog
from sandbox.core.latency import (
    NO_FIT,
    Backbone,
    Fit,
    distance_km,
    fibre_ms,
    fit_relative,
    leave_one_out,
)

BACKBONE = Backbone.bundled()
POINTS = st.tuples(st.floats(-89.9, 89.9, allow_nan=False), st.floats(-180, 180, allow_nan=False))


def test_bundled_backbone_is_whole() -> None:
    data = json.loads((files("sandbox") / "data" / "backbone.json").read_text("utf-8"))
    for a, b, cables in data["links"]:
        assert a in data["hubs"] and b in data["hubs"] and cables.strip()
    for hub, reach in BACKBONE.between_km.items():
        assert set(reach) == set(BACKBONE.hubs), f"{hub} cannot reach every hub"


@given(a=POINTS, b=POINTS)
def test_a_path_is_never_shorter_than_the_great_circle_and_is_symmetric(
    a: tuple[float, float], b: tuple[float, float]
) -> None:
    path = BACKBONE.path_km(a, b)
    assert path >= distance_km(a, b) - 1e-6
    assert path == pytest.approx(BACKBONE.path_km(b, a))


def test_paths_follow_the_cables() -> None:
    frankfurt, singapore = (50.11, 8.68), (1.29, 103.85)
    # Europe to Singapore goes round Arabia, not over the Himalaya
    assert BACKBONE.path_km(frankfurt, singapore) > 1.15 * distance_km(frankfurt, singapore)
    dublin, london = (53.35, -6.26), (51.51, -0.13)
    assert BACKBONE.path_km(dublin, london) == pytest.approx(distance_km(dublin, london))


def _objective(fit: Fit, points: list[tuple[float, float]]) -> float:
    return sum(((fit(x) - y) / y) ** 2 for x, y in points)


@given(
    st.lists(
        st.tuples(st.floats(1, 400), st.floats(2, 600)),
        min_size=3,
        max_size=30,
        unique_by=lambda p: p[0],
    )
)
def test_the_fit_has_the_least_relative_error(points: list[tuple[float, float]]) -> None:
    fit = fit_relative(points)
    best = _objective(fit, points)
    for ds, dc in ((1e-3, 0), (-1e-3, 0), (0, 1e-2), (0, -1e-2), (1e-3, -1e-2)):
        moved = Fit(fit.slope + ds, fit.intercept_ms + dc)
        assert best <= _objective(moved, points) + 1e-9


def test_an_exact_line_is_recovered_and_too_little_data_fits_nothing() -> None:
    fit = fit_relative([(x, 1.5 * x + 4) for x in (10.0, 50.0, 200.0)])
    assert fit.slope == pytest.approx(1.5) and fit.intercept_ms == pytest.approx(4)
    assert fit_relative([]) == NO_FIT
    assert fit_relative([(10.0, 20.0)]) == NO_FIT
    assert fit_relative([(10.0, 20.0), (10.0, 30.0)]) == NO_FIT


def test_leave_one_out_refits_without_each_point() -> None:
    points = [(10.0, 20.0), (50.0, 80.0), (100.0, 140.0), (200.0, 300.0)]
    estimates = leave_one_out(points)
    assert estimates[2] == pytest.approx(fit_relative([points[0], points[1], points[3]])(100.0))
    assert len(estimates) == len(points)


def test_leave_one_out_error_on_the_shipped_pairs_stays_under_15_percent() -> None:
    checks = RegionCatalog.default().estimate_checks()
    assert len(checks) == 45
    errors = [abs(c.estimate_ms - c.measured_ms) / c.measured_ms for c in checks]
    assert sum(errors) / len(errors) < 0.15


def test_the_backbone_beats_a_straight_line_on_the_great_circle() -> None:
    catalog = RegionCatalog.default()
    checks = catalog.estimate_checks()
    straight = leave_one_out(
        [(catalog.lower_bound_ms(c.region_a, c.region_b), c.measured_ms) for c in checks]
    )

    def mape(estimates: list[float]) -> float:
        return sum(
            abs(e - c.measured_ms) / c.measured_ms for e, c in zip(estimates, checks, strict=True)
        ) / len(checks)

    assert mape([c.estimate_ms for c in checks]) < 0.75 * mape(straight)


def test_fibre_round_trip() -> None:
    assert fibre_ms(1000) == 10.0
