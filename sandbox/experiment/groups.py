"""Where users are served: a short run of user groups near places around the world on a fleet
(`world_scenario`), and, per group, the regions its requests went to first (the routing policy's
choice) and the latency it got; several runs side by side as tables, and the round trips behind
them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from sandbox.core.regions import RegionCatalog
from sandbox.core.routing import RoutingPolicy
from sandbox.experiment.columns import Quantiles, columns
from sandbox.experiment.run import Experiment
from sandbox.experiment.scenario import Scenario, parse_scenario
from sandbox.flow.tables import Table

# Users near seven places on five continents: Oregon, Ohio, Sao Paulo, London, Mumbai, Tokyo
# and Sydney.
WORLD = (
    "us-west-2",
    "us-east-2",
    "sa-east-1",
    "eu-west-2",
    "ap-south-1",
    "ap-northeast-1",
    "ap-southeast-2",
)
SOURCE = "world_scenario"  # how a world scenario's errors name it


def world_scenario(
    regions: Sequence[str],
    routing: RoutingPolicy | None = None,
    *,
    users: Sequence[str] = WORLD,
    rate_per_s: float = 5.0,
    duration_s: float = 60.0,
    seed: int = 1,
) -> Scenario:
    """A simulated scenario without faults: users near each place of `users`, `rate_per_s`
    requests a second each, for `duration_s`, sent to the fleet `regions` by `routing` (the
    latency policy when not given). Checked as a scenario file is: an error names the key."""
    policy = routing or RoutingPolicy()
    table: dict[str, object] = {
        "policy": policy.name,
        "retries": policy.retries,
        "dns_ttl_s": policy.dns_ttl_s,
    }
    if policy.order:
        table["order"] = list(policy.order)
    if policy.weights:
        table["weights"] = dict(policy.weights)
    document = {
        "name": f"users around the world, {policy.name} routing to {', '.join(regions)}",
        "seed": seed,
        "duration_s": duration_s,
        "deployment": {"regions": list(regions)},
        "routing": table,
        "clients": [{"region": user, "rate_per_s": rate_per_s} for user in users],
    }
    return parse_scenario(document, SOURCE)


@dataclass(frozen=True)
class UserGroup:
    """What the users near one place got in a run: the requests they sent, each region's share
    of them (the region tried first: the routing policy's choice) and the latency of the
    answered ones (ms)."""

    near: str
    sent: int
    routed: dict[str, float]
    p50_ms: float | None
    p95_ms: float | None

    @property
    def region(self) -> str | None:
        """The region most of the group's requests went to first (None without requests)."""
        return max(self.routed, key=lambda r: self.routed[r]) if self.routed else None


def user_groups(experiment: Experiment) -> dict[str, UserGroup]:
    """Each user group of `experiment`, by the place it is near, in the scenario's order."""
    log = experiment.log
    near, regions = len(log.clients), len(log.regions)
    first = np.zeros((near, regions), np.int64)
    answered = [Quantiles() for _ in log.clients]
    for c in columns(log):
        client = c.client.astype(np.int64)
        routed = c.first >= 0
        np.add.at(first, (client[routed], c.first[routed].astype(np.int64)), 1)
        for i, quantiles in enumerate(answered):
            quantiles.extend(c.latency_ms[(client == i) & c.ok])
    groups = {}
    for i, name in enumerate(log.clients):
        sent = int(first[i].sum())
        shares = {log.regions[r]: n / sent for r, n in enumerate(first[i].tolist()) if n}
        p50, p95 = answered[i].percentile(50), answered[i].percentile(95)
        groups[name] = UserGroup(name, sent, shares, p50, p95)
    return groups


def groups_of(runs: Mapping[str, Experiment]) -> dict[str, dict[str, UserGroup]]:
    """Each run's user groups (`{label: experiment}`), which the runs must share."""
    if not runs:
        raise ValueError("give at least one run, as {label: experiment}")
    grouped = {label: user_groups(experiment) for label, experiment in runs.items()}
    places = [list(groups) for groups in grouped.values()]
    if any(sorted(p) != sorted(places[0]) for p in places):
        raise ValueError(f"the runs have different user groups: {places}; compare like with like")
    return grouped


def _routed(group: UserGroup) -> str:
    """`eu-west-1`, or `us-east-1 62%, eu-west-1 38%` when the requests were split."""
    if not group.routed:
        return "-"
    if len(group.routed) == 1:
        return next(iter(group.routed))
    ordered = sorted(group.routed.items(), key=lambda item: -item[1])
    return ", ".join(f"{region} {share:.0%}" for region, share in ordered)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def routing_table(
    runs: Mapping[str, Experiment], title: str = "Where each group's requests went first"
) -> Table:
    """A row per user group, a column per run (`{label: experiment}`): the region its requests
    were sent to first, with each region's share when they were split."""
    grouped = groups_of(runs)
    places = list(next(iter(grouped.values())))
    rows = tuple((place, *(_routed(g[place]) for g in grouped.values())) for place in places)
    return Table(title, ("users near", *grouped), rows)


def latency_table(
    runs: Mapping[str, Experiment], title: str = "Latency each group got, p50 (ms)"
) -> Table:
    """A row per user group, a column per run (`{label: experiment}`): the median latency of
    its answered requests, in ms."""
    grouped = groups_of(runs)
    places = list(next(iter(grouped.values())))
    rows = tuple((place, *(_ms(g[place].p50_ms) for g in grouped.values())) for place in places)
    return Table(title, ("users near", *grouped), rows)


def round_trips(user: str, regions: Sequence[str], catalog: RegionCatalog | None = None) -> Table:
    """The round trip from users near `user` to each region, beside light's own in fibre over
    the great circle (the lower bound), and where the catalogue's number comes from."""
    catalog = catalog or RegionCatalog.default()
    rows = tuple(
        (
            region,
            f"{catalog.rtt_ms(user, region):.0f}",
            f"{catalog.lower_bound_ms(user, region):.0f}",
            catalog.rtt_source(user, region),
        )
        for region in regions
    )
    headers = ("region", "round trip (ms)", "light in fibre, at least (ms)", "from")
    return Table(f"Round trips from users near {user}", headers, rows)
