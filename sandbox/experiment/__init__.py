"""Failure-injection experiments: scenario files, one run on either backend, its journal and
report, sweeps over settings, and figures. Each name is imported on first use (`sandbox.lazy`):
a command that needs one module, such as `bounds`, does not import the figures."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.lazy import on_first_use

if TYPE_CHECKING:
    from sandbox.experiment.detection import Timing, probe_table, timing, timing_table
    from sandbox.experiment.detection_plot import detection_figure
    from sandbox.experiment.groups import (
        UserGroup,
        latency_table,
        round_trips,
        routing_table,
        user_groups,
        world_scenario,
    )
    from sandbox.experiment.groups_plot import latency_figure
    from sandbox.experiment.journal_tables import event_table, fault_table
    from sandbox.experiment.plots import draw, figures
    from sandbox.experiment.replies import replies_table
    from sandbox.experiment.replies_plot import replies_figure
    from sandbox.experiment.rollout_plot import rollout_figure
    from sandbox.experiment.run import Experiment, run_experiment
    from sandbox.experiment.scenario import (
        Scenario,
        bundled_scenarios,
        load_scenario,
        parse_scenario,
    )
    from sandbox.experiment.seen import users_saw
    from sandbox.experiment.sweep_plot import draw_sweep, sweep_figure
    from sandbox.experiment.sweeps import run_point, sweep, with_value

_HOMES = {
    "sandbox.experiment.detection": {"Timing", "probe_table", "timing", "timing_table"},
    "sandbox.experiment.detection_plot": {"detection_figure"},
    "sandbox.experiment.groups": {
        "UserGroup",
        "latency_table",
        "round_trips",
        "routing_table",
        "user_groups",
        "world_scenario",
    },
    "sandbox.experiment.groups_plot": {"latency_figure"},
    "sandbox.experiment.journal_tables": {"event_table", "fault_table"},
    "sandbox.experiment.plots": {"draw", "figures"},
    "sandbox.experiment.replies": {"replies_table"},
    "sandbox.experiment.replies_plot": {"replies_figure"},
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
    "sandbox.experiment.seen": {"users_saw"},
}

__all__ = [
    "Experiment",
    "Scenario",
    "Timing",
    "UserGroup",
    "bundled_scenarios",
    "detection_figure",
    "draw",
    "draw_sweep",
    "event_table",
    "fault_table",
    "figures",
    "latency_figure",
    "latency_table",
    "load_scenario",
    "parse_scenario",
    "probe_table",
    "replies_figure",
    "replies_table",
    "rollout_figure",
    "round_trips",
    "routing_table",
    "run_experiment",
    "run_point",
    "sweep",
    "sweep_figure",
    "timing",
    "timing_table",
    "user_groups",
    "users_saw",
    "with_value",
    "world_scenario",
]

__getattr__ = on_first_use("sandbox.experiment", _HOMES)
