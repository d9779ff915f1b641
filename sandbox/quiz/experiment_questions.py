"""Generated questions keyed by simulated experiments: when the probes mark a faulty region
unhealthy (read from the run's probe log, which only the run gives), what a DNS TTL adds to the
failover users see, and how many of the users' requests a bad version serves last (answered or
failed, as `users_saw` counts them) under canary and sequential rollouts."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from functools import cache
from typing import Any

from sandbox.experiment.run import Experiment, run_experiment
from sandbox.experiment.scenario import Scenario, load_scenario, parse_scenario
from sandbox.experiment.sweeps import with_value
from sandbox.flow.tables import Table
from sandbox.quiz.model import Question, number_text, rubric
from sandbox.quiz.options import Wrong, choices

INTERVALS_S = (5, 10, 15, 20, 30)
THRESHOLDS = (3, 4, 5)
TTLS_S = (15, 30, 45, 60, 90)
SEEDS = range(8)  # few enough that a class's questions share their runs
TOLERANCE_S = 0.2
DNS_TOLERANCE_S = 0.5
# The users near a DNS question's failed region send this many requests a second at most, so
# that outlier detection ejects it seconds into the fault (its 5 errors in a row take 2.5 s on
# average), far enough from the fault's start to tell the TTL counted from either apart.
DNS_USERS_PER_S = 2
CANARY = {"canary_percent": (5, 10, 20), "bake_s": (60, 120)}


def _run(scenario: Scenario, settings: tuple[tuple[str, Any], ...]) -> Experiment:
    document = dict(scenario.document)
    for key, value in settings:
        document = with_value(document, key, value)
    return run_experiment(parse_scenario(document, scenario.source))


def _vary(scenario: Scenario, settings: tuple[tuple[str, Any], ...]) -> str:
    vary = " ".join(f"--vary {key}={value}" for key, value in settings)
    return f"mrsandbox sweep {scenario.source} {vary}"


def detection_time(qid: str, scenario: Scenario, rng: random.Random) -> Question | None:
    """ "The probe log of the run is shown: how many seconds after the fault starts do the probes
    mark the region unhealthy?" Right only within 0.2 s of the run's time, and drawn so that the
    rule of thumb (interval x threshold) falls outside: only reading the probes answers it."""
    if not scenario.faults:
        return None
    fault = scenario.faults[0]
    room = (fault.end_s or scenario.duration_s) - fault.start_s - scenario.health.timeout_s
    pairs = [(i, t) for i in INTERVALS_S for t in THRESHOLDS if i * t < room]
    if not pairs:
        return None
    interval, threshold = rng.choice(pairs)
    settings = (
        ("health.interval_s", interval),
        ("health.failure_threshold", threshold),
        ("seed", rng.choice(SEEDS)),
    )
    run = _run(scenario, settings)
    row = run.journal["summary"]["per_fault"][0]
    measured = row.get("detection_s")
    if measured is None or abs(measured - interval * threshold) <= 2 * TOLERANCE_S:
        return None
    start = fault.start_s
    shown = [(t, ok) for t, ok in run.probes(fault.region) if start - 2 * interval <= t]
    shown = [(t, ok) for t, ok in shown if t <= start + measured + interval]
    evidence = Table(
        f"Probe results for {fault.region} (the fault starts at t = {start:g} s)",
        ("t (s)", "probe"),
        tuple((f"{t:.3f}", "passed" if ok else "failed") for t, ok in shown),
    ).to_text()
    low, high = row["expected_detection_s"]
    return Question(
        id=qid,
        kind="detection",
        text=(
            f"In the scenario '{scenario.name}', {fault.region} has a fault "
            f"({fault.fault.kind}) from t = {start:g} s. Health checks run every {interval} s "
            f"with a failure threshold of {threshold}; the run's probe log is shown. How many "
            f"seconds after the fault starts do the probes mark {fault.region} unhealthy?"
        ),
        value=round(measured, 3),
        low=round(measured - TOLERANCE_S, 3),
        high=round(measured + TOLERANCE_S, 3),
        unit="s",
        evidence=evidence,
        hint=f"Find the {_ordinal(threshold)} failed probe in a row after the fault starts; its "
        "time, less the fault's start, is the answer.",
        solution=(
            f"{threshold} failed probes in a row mark a region unhealthy; the last of them is "
            f"recorded at t = {start + measured:.3f} s, {measured:.3f} s after the fault starts.",
            f"interval x threshold = {interval * threshold} s is only a rule of thumb: probes "
            f"come one cycle apart (interval + round trip + what a failed probe waits) from a "
            f"phase of their own; the probe timing model bounds it from {low:g} to {high:g} s.",
        ),
        mistakes=("Computing interval x threshold", "Counting from the first failed probe"),
        difficulty=rubric(threshold + 1),
        source=_vary(scenario, settings),
    )


def dns_ttl(qid: str, scenario: Scenario, rng: random.Random) -> Question | None:
    """ "Users keep a DNS answer for TTL s; the region fails: until when, at the latest, may
    users still be sent to it?" The answers stop naming the region when it leaves the healthy
    set (the probes mark it unhealthy, or outlier ejection takes it out) and stays out; keyed
    by that time plus the TTL. The run's last request to the region falls inside, and every
    mistake's answer (`_dns_mistakes`) lies well outside the range judged right."""
    if not scenario.faults or scenario.faults[0].fault.kind != "outage":
        scenario = load_scenario("outage_dns_ttl_60")
    fault = scenario.faults[0]
    near = [i for i, c in enumerate(scenario.clients) if c.region == fault.region]
    if not near:
        return None
    rates = {i: min(scenario.clients[i].rate_per_s, DNS_USERS_PER_S) for i in near}
    ttl = rng.choice(TTLS_S)
    settings = (
        *((f"clients[{i}].rate_per_s", rate) for i, rate in rates.items()),
        ("routing.dns_ttl_s", ttl),
        ("seed", rng.choice(SEEDS)),
    )
    run = _run(scenario, settings)
    row = run.journal["summary"]["per_fault"][0]
    events = [
        e
        for e in run.events
        if e.get("region") == fault.region and "health" in e["event"] and e["t"] >= fault.start_s
    ]
    ends = fault.start_s + (fault.fault.duration_s or math.inf)
    out = _out_until(events, ends)
    if out is None or row.get("failover_s") is None:
        return None
    since, by = out
    key = round(since + ttl, 3)
    if fault.start_s + row["failover_s"] > key + 1e-6:
        return None  # the bound does not hold: never ask it (the fidelity tests hold it)
    probes = next((e["t"] for e in events if e["event"] == "health_unhealthy"), since)
    misread = _dns_mistakes(fault.start_s, since, probes, ttl, scenario.health.failure_threshold)
    if any(abs(answer - key) <= 2 * DNS_TOLERANCE_S for _, answer in misread):
        return None  # a mistake's answer would pass for the key: draw another
    evidence = Table(
        f"Health of {fault.region}",
        ("t (s)", "event", "by"),
        (
            (f"{fault.start_s:.3f}", "fault starts", fault.fault.kind),
            *((f"{e['t']:.3f}", e["event"].removeprefix("health_"), e["source"]) for e in events),
        ),
    ).to_text()
    return Question(
        id=qid,
        kind="dns_ttl",
        text=(
            f"Users near {fault.region} ({sum(rates.values()):g} requests/s) resolve the service "
            f"by DNS and keep each answer for {ttl} s (the TTL). {fault.region} fails at "
            f"t = {fault.start_s:g} s; its health events are shown. Until what time t, at the "
            f"latest, may those users still be sent to {fault.region}?"
        ),
        value=key,
        low=round(key - DNS_TOLERANCE_S, 3),
        high=round(key + DNS_TOLERANCE_S, 3),
        unit="s",
        evidence=evidence,
        hint="The DNS answers stop naming the region once it is out of the healthy set (marked "
        "unhealthy by the probes, or ejected) for good; an answer cached just before lasts one "
        "TTL more.",
        solution=(
            f"{fault.region} is out of the healthy set from t = {since:.3f} s ({by}) on.",
            f"An answer cached just before lasts {ttl} s more: t = {number_text(key)} s. The TTL "
            f"counts from then, not from the fault's start (t = {fault.start_s + ttl:g} s).",
            f"In the run, the last of those users moved at t = "
            f"{fault.start_s + row['failover_s']:.3f} s.",
        ),
        mistakes=(
            "Ignoring the TTL",
            "Counting the TTL from the fault's start",
            "Waiting for the probes when outlier ejection came first",
        ),
        difficulty=rubric(2, rule_suffices=True),
        source=_vary(scenario, settings),
    )


def _dns_mistakes(
    start: float, since: float, probes: float, ttl: float, threshold: int
) -> list[tuple[str, float]]:
    """What a DNS TTL question's mistakes answer, by misconception: the fault `start`s, its
    region leaves the healthy set at `since`, the probes mark it unhealthy at `probes` (after
    `threshold` failed in a row), and users keep an answer for `ttl`."""
    mistakes = [
        ("ttl_ignored", since),
        ("ttl_ignored", probes),
        ("ttl_from_fault", start + ttl),
        ("ttl_per_probe", since + threshold * ttl),
    ]
    if probes > since:  # ejected first: waiting for the probes' verdict is a mistake too
        mistakes.append(("ejection_ignored", probes + ttl))
    return mistakes


def _out_until(events: list[dict[str, Any]], ends: float) -> tuple[float, str] | None:
    """When a region left the healthy set (probes say unhealthy, or ejected) for the stretch that
    lasts until its fault `ends`, and what took it out; None if no stretch lasts that long."""
    unhealthy = ejected = False
    start: tuple[float, str] | None = None
    for e in events:
        state = e["event"].removeprefix("health_")
        unhealthy = {"unhealthy": True, "healthy": False}.get(state, unhealthy)
        ejected = {"ejected": True, "returned": False}.get(state, ejected)
        if (unhealthy or ejected) and start is None:
            start = (e["t"], "ejected" if state == "ejected" else "marked unhealthy by the probes")
        elif not (unhealthy or ejected) and start is not None:
            if e["t"] >= ends:
                return start
            start = None  # back in the healthy set while the fault lasts
    return start


@dataclass(frozen=True)
class _BadVersion:
    """A bundled bad-version run: the users' requests 1.1.0 served last and how many of those
    failed, what its bakes saw 1.1.0 serve (predictions, failed ones), and its row of the
    rollouts' table a canary question shows."""

    served: int
    failed: int
    baked: tuple[int, int]
    row: tuple[str, ...]


@cache
def _bad_version(strategy: str, percent: float, bake_s: float) -> _BadVersion:
    """The bundled bad-version scenario of `strategy` run (the canary's settings given)."""
    scenario = load_scenario(f"bad_version_{strategy}")
    settings: tuple[tuple[str, Any], ...] = ()
    name = strategy
    if strategy == "canary":
        settings = (("rollout.canary_percent", percent), ("rollout.bake_s", bake_s))
        name = f"canary ({percent}%, bake {bake_s} s)"
    run = _run(scenario, settings)
    rollout, summary = run.journal["rollout"], run.journal["summary"]
    bakes = "; ".join(
        f"wave {b['wave']} ({', '.join(b['regions'])}): {b['requests']} predictions, "
        f"{b['failed']} failed"
        for b in rollout["bakes"]
    )
    row = (
        name,
        f"{rollout['start_s']:g} to {rollout['end_s']:g}",
        rollout["outcome"],
        bakes or "no bake",
        str(summary["sent"]),
        str(summary["failed"]),
    )
    new = summary["by_version"].get("1.1.0", {"failed": 0})
    baked = (
        sum(b["requests"] for b in rollout["bakes"]),
        sum(b["failed"] for b in rollout["bakes"]),
    )
    return _BadVersion(run.served_by("1.1.0"), new["failed"], baked, row)


def canary(qid: str, scenario: Scenario, rng: random.Random) -> Question | None:
    """ "A bad release goes out by canary or sequentially: how many of the users' requests does
    it serve last in each (answered or failed)?" from the two bundled bad-version scenarios, the
    canary's settings drawn."""
    percent, bake = rng.choice(CANARY["canary_percent"]), rng.choice(CANARY["bake_s"])
    canary_run = _bad_version("canary", percent, bake)
    sequential_run = _bad_version("sequential", 0, 0)
    caught, exposed = canary_run.served, sequential_run.served
    if not 0 < caught < exposed:
        return None

    def text(c: int, s: int) -> str:
        return f"canary: about {_about(c)}; sequential: about {_about(s)}"

    key = text(caught, exposed)
    said = (
        f"The runs: 1.1.0 served {_about(caught)} requests last under canary, "
        f"{_about(exposed)} sequentially (failed ones included)."
    )
    wrong = [
        Wrong(text(exposed, caught), "canary_more", said),
        Wrong(text(exposed, exposed), "canary_no_help", said),
        Wrong(text(0, exposed), "canary_nobody", said),
        Wrong(text(caught, caught), "bake_ignored", said),
    ]
    options = choices(key, f"Right: {said}", wrong, rng)
    if options is None:
        return None
    source = (
        f"mrsandbox sweep bad_version_canary --vary rollout.canary_percent={percent} "
        f"--vary rollout.bake_s={bake}"
    )
    bad = load_scenario("bad_version_canary")
    rates = sorted({c.rate_per_s for c in bad.clients})
    errors = sorted({f.fault.error_rate or 0.0 for f in bad.faults})
    evidence = Table(
        f"The two runs' rollouts (users send for {bad.duration_s:g} s)",
        (
            "rollout",
            "from, to (s)",
            "outcome",
            "bakes: what 1.1.0 served",
            "requests sent",
            "requests that failed",
        ),
        (canary_run.row, sequential_run.row),
    ).to_text()
    seen, retried = canary_run.baked
    return Question(
        id=qid,
        kind="canary",
        text=(
            f"Release 1.1.0 of {bad.model} passes its smoke test but fails "
            f"{' to '.join(f'{e:.0%}' for e in errors)} of real predictions. It goes to "
            f"{', '.join(bad.regions)} ({' to '.join(f'{r:g}' for r in rates)} requests/s each) "
            f"either by canary ({percent}% of a region's traffic for a {bake} s bake, rolled "
            "back when the bake sees errors) or sequentially, region after region, each "
            "verified by its smoke test; both runs' rollouts are shown. About how many of the "
            "users' requests does 1.1.0 serve last in each, answered or failed (a failed attempt "
            "the gateway retried elsewhere counts for the version that served the retry)?"
        ),
        options=options,
        evidence=evidence,
        hint="A canary shows the new version to a small share of one region until its bake "
        "judges it; a sequential rollout watches only the smoke test.",
        solution=(
            f"The canary's first bake sees the errors and rolls back: it saw 1.1.0 serve {seen} "
            f"predictions, {retried} of them failed; the gateway retried each failed one in a "
            f"region serving 1.0.0, which served it last, so {caught} requests count for 1.1.0.",
            "The sequential rollout passes every smoke test and keeps 1.1.0 to the end; a retry "
            f"meets 1.1.0 there too, so {sequential_run.failed:,} of the {exposed:,} requests "
            "1.1.0 served last failed.",
            said,
        ),
        mistakes=(
            "Thinking a canary protects every user",
            "Thinking a smoke test sees real errors",
        ),
        difficulty=rubric(2, rule_suffices=True),
        source=source,
    )


def _ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _about(n: int) -> str:
    """`n` to two significant figures, with thousands separated."""
    if n < 100:
        return str(n)
    digits = 10 ** (int(math.log10(n)) - 1)
    return f"{round(n / digits) * digits:,}"
