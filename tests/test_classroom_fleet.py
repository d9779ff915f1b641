"""`fleet_beside`: the live fleet `class serve --regions` starts beside a class (model_v1
deployed, the dashboard following it, an observer for the room's predictions), all of it
stopped when the block ends, also when its deployment does not complete."""

from __future__ import annotations

import pytest
import requests

import sandbox.classroom.predict as predict
from sandbox.classroom import Room, Store, fleet_beside
from sandbox.errors import DeploymentHalted
from sandbox.flow.sample import run_deployment
from sandbox.live import ask

REGIONS = ["us-east-1", "eu-west-1"]


def test_the_fleet_beside_a_class_serves_the_room_then_stops(tmp_path):
    with fleet_beside(REGIONS, time_scale=0.05) as observer:
        fleet = observer.fleet
        assert fleet.regions == REGIONS and fleet.deployed("eu-west-1").name == "model_v1"
        assert ask(fleet, "eu-west-2").served_by == "eu-west-1"
        state = requests.get(f"{fleet.gateway_url}/dashboard/state", timeout=30).json()
        assert [r["name"] for r in state["regions"]] == REGIONS
        store = Store(tmp_path / "class.sqlite")
        try:
            room = Room(store, "visual", observer=observer)
            assert room.results()["fleet"] == REGIONS
        finally:
            store.close()
    for url in (fleet.gateway_url, *fleet.urls.values()):
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{url}/healthz", timeout=5)


def test_a_deployment_that_does_not_complete_is_refused_and_nothing_is_left(monkeypatch):
    started = []

    def stopped(regions, model, **settings):
        started.append(settings["backend"])
        failing = {"failures": ["eu-west-1:deploy"], "on_failure": "stop"}
        return run_deployment(regions, model, **settings, **failing)

    monkeypatch.setattr(predict, "run_deployment", stopped)
    refused = pytest.raises(DeploymentHalted, match=r"did not complete \(stopped\)")
    with refused as halted, fleet_beside(REGIONS, time_scale=0.05):
        pytest.fail("a fleet whose deployment stopped is not handed to a class")
    assert halted.value.outcome == "stopped"
    assert "Deploy model" in str(halted.value)  # the deployment's tables, to see why
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{started[0].gateway_url}/healthz", timeout=5)
