"""How long a run would take in wall time, estimated before it starts, and the bound above which
a command asks for `--yes` first: a live run takes its emulated seconds times its time scale, a
simulated one its requests at the simulation's measured speed, a sweep its runs over its
workers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # types only
    from sandbox.experiment.scenario import Scenario
    from sandbox.flow.plan import RolloutPlan

MAX_WALL_S = 3600.0  # wall seconds a run may take before its command asks for --yes

# Simulated requests a wall second, whole `experiment` command included (its journal, CSV and
# plots), kept below what was measured so that an estimate errs long. Measured on the 2-core
# machine with bench_sim's scenario (120,000 requests, benchmarks/bench_sim.py's RATE and
# DURATION in a TOML file): `mrsandbox experiment bench.toml --out DIR --quiet` took 5.4-6.3 s
# (19,000-22,000 requests/s; 47,000/s without --out; `make bench`: 44,000-55,000/s).
SIM_REQUESTS_PER_S = 15_000.0


@dataclass(frozen=True)
class Estimate:
    """A run's wall seconds, and why (the inputs that make them, in words)."""

    wall_s: float
    why: str

    @property
    def over(self) -> bool:
        """Whether the run would take longer than `MAX_WALL_S`."""
        return self.wall_s > MAX_WALL_S

    def refusal(self, fix: str, yes: str = "--yes") -> str:
        """The message of a command that will not start this run without `yes` (`fix`: what
        to lower instead, e.g. "--bake-s or --time-scale")."""
        return (
            f"this run would take about {wall_text(self.wall_s)} of wall time ({self.why}), "
            f"over the bound of {wall_text(MAX_WALL_S)}; add {yes} to run it, or lower {fix}"
        )


def wall_text(seconds: float) -> str:
    """`seconds` as a person reads a duration: 45 s, 12 min, 2.5 h, 3 days."""
    for unit, size, below in (("s", 1, 120), ("min", 60, 3600), ("h", 3600, 48 * 3600)):
        if seconds < below:
            return f"{seconds / size:.1f}".removesuffix(".0") + f" {unit}"
    return f"{seconds / 86400:.1f}".removesuffix(".0") + " days"


def rollout_s(plan: RolloutPlan, regions: Sequence[str]) -> float:
    """Emulated seconds a rollout's bakes take: every wave's bake, one after another."""
    return len(plan.layout(regions)) * plan.bake


def emulated_s(scenario: Scenario) -> float:
    """The emulated seconds the users are expected to run: the scenario's duration, or with a
    rollout, its start, then every wave's bake (the rollout may end sooner)."""
    spec = scenario.rollout
    if spec is None:
        return scenario.duration_s
    return max(scenario.duration_s, spec.start_s + rollout_s(spec.plan, scenario.regions))


def _bakes_why(plan: RolloutPlan, regions: Sequence[str]) -> str:
    return f"{plan.bake:g} s of bake x {len(plan.layout(regions))} waves"


def _emulated_why(scenario: Scenario) -> str:
    spec = scenario.rollout
    if spec is None or emulated_s(scenario) == scenario.duration_s:
        return f"{scenario.duration_s:g} s of emulated users"
    after = f" after {spec.start_s:g} s of users" if spec.start_s else ""
    return f"{_bakes_why(spec.plan, scenario.regions)}{after}"


def rollout_estimate(plan: RolloutPlan, regions: Sequence[str], time_scale: float) -> Estimate:
    """The wall seconds of a rollout's bakes on a live fleet at `time_scale`."""
    why = f"{_bakes_why(plan, regions)} at time scale {time_scale:g}"
    return Estimate(rollout_s(plan, regions) * time_scale, why)


def run_estimate(scenario: Scenario) -> Estimate:
    """The wall seconds `scenario` would take: live, its emulated seconds times its time scale;
    simulated, its requests (every client's rate times the emulated seconds) at
    `SIM_REQUESTS_PER_S`. The deployment before the users start is left out (seconds)."""
    emulated = emulated_s(scenario)
    if scenario.mode == "live":
        why = f"{_emulated_why(scenario)} at time scale {scenario.time_scale:g}"
        return Estimate(emulated * scenario.time_scale, why)
    rate = sum(c.rate_per_s for c in scenario.clients)
    requests = rate * emulated
    why = (
        f"{requests:,.0f} simulated requests: {rate:g} a second for "
        f"{_emulated_why(scenario)}, at about {SIM_REQUESTS_PER_S:,.0f} a wall second"
    )
    return Estimate(requests / SIM_REQUESTS_PER_S, why)


def sweep_estimate(runs: Sequence[Estimate], workers: int) -> Estimate:
    """The wall seconds of a sweep: its runs' estimates shared by its workers (at most one a
    run)."""
    sharing = max(1, min(workers, len(runs)))
    longest = max(runs, key=lambda run: run.wall_s)
    why = (
        f"{len(runs)} runs on {sharing} workers, the longest about "
        f"{wall_text(longest.wall_s)} ({longest.why})"
    )
    return Estimate(sum(run.wall_s for run in runs) / sharing, why)
