"""Failure-injection experiments: scenario files, one run on either backend, its journal and
report, sweeps over settings, and figures. Each name is imported on first use (`sandbox.lazy`):
a command that needs one module, such as `bounds`, does not import the figures."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.lazy import on_first_use

if TYPE_CHECKING:
    from sandbox.experiment.plots import draw
    from sandbox.experiment.rollout_plot import rollout_figure
    from sandbox.experiment.run import Experiment, run_experiment
    from sandbox.experiment.scenario import (
        Scenario,
        bundled_scenarios,
        load_scenario,
        parse_scenario,
    )
    from sandbox.experiment.sweep_plot import draw_sweep, sweep_figure
    from sandbox.experiment.sweeps import run_point, sweep, with_value

_HOMES = {
    "sandbox.experiment.plots": {"draw"},
    "sandbox.experiment.rollout_plot": {"rollout_figure"},
    "sandbox.experiment.run": {"Experiment", "run_experiment"},
    "sandbox.experiment.scenario": {
        "Scenario",
        "bundled_scenarios",
        "load_scenario",
        "parse_scenario",
    },
    "sandbox.experiment.sweep_plot": {"draw_sweep", "sweep_figure"},
    "sandbox.experiment.sweeps": {"run_point", "sweep", "with_value"},
}

__all__ = [
    "Experiment",
    "Scenario",
    "bundled_scenarios",
    "draw",
    "draw_sweep",
    "load_scenario",
    "parse_scenario",
    "rollout_figure",
    "run_experiment",
    "run_point",
    "sweep",
    "sweep_figure",
    "with_value",
]

__getattr__ = on_first_use("sandbox.experiment", _HOMES)
