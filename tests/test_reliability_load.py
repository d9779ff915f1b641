"""Many users at once through the gateway while faults switch on and off: every request is
accounted for, nothing deadlocks, and threads and memory stay bounded."""

from __future__ import annotations

import random
import resource
import threading
import time
from collections import Counter

import requests

from sandbox import HealthPolicy, run_deployment
from sandbox.core.faults import Fault
from sandbox.live.fleet import GATEWAY_THREADS, REGION_THREADS, LiveFleet

REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]
CLIENTS = ["us-west-2", "eu-west-2", "ap-southeast-1", "sa-east-1"]
USERS = 32
RUN_S = 4.0
FAULTS = [
    Fault("outage", duration_s=20),
    Fault("error_rate", error_rate=0.5),
    Fault("latency", latency_ms=300, jitter_ms=50),
    Fault("timeout", timeout_ms=2000),
    Fault("bad_model"),
]
BODY = {"instances": [[12.0, 70.0, 1.0]]}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_users_and_switching_faults_every_request_accounted_for():
    baseline_threads = threading.active_count()
    policy = HealthPolicy(interval_s=10, timeout_s=2, failure_threshold=2, healthy_threshold=2)
    outcomes: Counter[str] = Counter()
    sent = Counter()
    lock = threading.Lock()
    stop = threading.Event()
    peak_threads = 0
    with LiveFleet(REGIONS, time_scale=0.01, seed=11) as fleet:
        assert (
            run_deployment(REGIONS, "model_v1", backend=fleet, health=policy).outcome == "complete"
        )
        url = f"{fleet.gateway_url}/v1/models/model_v1:predict"
        rss_before = peak_rss_mb()

        def user(n: int) -> None:
            with requests.Session() as session:
                client = CLIENTS[n % len(CLIENTS)]
                while not stop.is_set():
                    with lock:
                        sent["requests"] += 1
                    try:
                        answer = session.post(
                            url, json=BODY, headers={"X-Client-Region": client}, timeout=10
                        )
                        kind = f"{answer.status_code // 100}xx"
                    except requests.RequestException as e:
                        kind = type(e).__name__
                    with lock:
                        outcomes[kind] += 1

        def toggle() -> None:
            rng = random.Random(3)
            while not stop.is_set():
                region = rng.choice(REGIONS)
                fleet.admin("PUT", region, [rng.choice(FAULTS)])
                time.sleep(0.15)
                fleet.admin("DELETE", region)

        threads = [threading.Thread(target=user, args=(n,)) for n in range(USERS)]
        threads.append(threading.Thread(target=toggle))
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + RUN_S
        while time.monotonic() < deadline:
            peak_threads = max(peak_threads, threading.active_count())
            time.sleep(0.05)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        assert not any(t.is_alive() for t in threads), "a user or the toggler is stuck"
        # Every request sent came back, as an answer or as an error the user saw.
        assert sum(outcomes.values()) == sent["requests"] > USERS * 10
        assert outcomes["2xx"] > sent["requests"] / 2, outcomes
        assert set(outcomes) <= {"2xx", "5xx"}, outcomes  # no timeout, no refused connection
        # The fleet still answers, and no fault is left on.
        health = requests.get(f"{fleet.gateway_url}/healthz", timeout=5)
        assert health.status_code in (200, 503)
        for region in REGIONS:
            fleet.admin("DELETE", region)
            assert fleet.admin("GET", region).json() == {"faults": []}
        rss_growth = peak_rss_mb() - rss_before
    servers = len(REGIONS) * REGION_THREADS + GATEWAY_THREADS
    assert peak_threads <= baseline_threads + servers + USERS + 12, peak_threads
    assert rss_growth < 200, f"peak memory grew by {rss_growth:.0f} MB"
    time.sleep(0.2)
    assert threading.active_count() <= baseline_threads + 1  # everything the fleet started ended


def test_requests_given_up_on_free_their_worker_so_the_admin_api_answers():
    """A 60 s timeout fault under load: the gateway gives up on each request after its timeout,
    the region stops holding it, and clearing the fault takes moments, not minutes."""
    with LiveFleet(["eu-west-1"], time_scale=0.1, seed=2) as fleet:
        assert run_deployment(["eu-west-1"], "model_v1", backend=fleet).outcome == "complete"
        fleet.admin("PUT", "eu-west-1", [Fault("timeout", timeout_ms=60_000)])
        stop = threading.Event()
        url = f"{fleet.gateway_url}/v1/models/model_v1:predict"

        def user() -> None:
            with requests.Session() as session:
                while not stop.is_set():
                    answer = session.post(
                        url, json=BODY, headers={"X-Client-Region": "eu-west-2"}, timeout=10
                    )
                    assert answer.status_code == 503  # the gateway timed out, every region

        users = [threading.Thread(target=user) for _ in range(16)]
        for thread in users:
            thread.start()
        time.sleep(2.0)
        stop.set()
        for thread in users:
            thread.join(timeout=30)
        started = time.perf_counter()
        assert fleet.admin("DELETE", "eu-west-1").json() == {"faults": []}
        assert time.perf_counter() - started < 2.0
        answer = requests.post(url, json=BODY, headers={"X-Client-Region": "eu-west-2"}, timeout=5)
        assert answer.status_code == 200
