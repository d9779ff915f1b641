"""Failure-injection experiments: scenario files, one run on either backend, its journal and
report, sweeps over settings, and figures."""

from sandbox.experiment.plots import draw
from sandbox.experiment.rollout_plot import rollout_figure
from sandbox.experiment.run import Experiment, run_experiment
from sandbox.experiment.scenario import Scenario, bundled_scenarios, load_scenario, parse_scenario
from sandbox.experiment.sweep_plot import draw_sweep, sweep_figure
from sandbox.experiment.sweeps import run_point, sweep, with_value

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
