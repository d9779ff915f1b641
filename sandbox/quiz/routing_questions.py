"""Generated questions about routing, keyed by the gateway's own router (`sandbox.core.Router`)
over the catalogue's round trips: which region serves a client under a policy, and where its
requests go when a region is marked unhealthy."""

from __future__ import annotations

import random
import shlex
from collections.abc import Callable, Sequence

from sandbox.core.regions import RegionCatalog
from sandbox.core.routing import Router, RoutingPolicy
from sandbox.flow.tables import Table
from sandbox.quiz.model import Question, rubric
from sandbox.quiz.options import Variant, Wrong, choices

POLICIES = ("latency", "failover", "healthiest")
ERROR_RATES = (0.0, 0.0, 0.02, 0.1, 0.3)


def _fleet(variant: Variant, catalog: RegionCatalog, rng: random.Random) -> list[str]:
    """Three regions of the variant's provider, the variant's own first."""
    regions = list(variant.regions)
    provider = catalog.get(regions[0]).provider
    others = sorted(r.name for r in catalog if r.provider == provider and r.name not in regions)
    return regions + rng.sample(others, max(0, 3 - len(regions)))


def _setting(
    policy: str, fleet: list[str], rng: random.Random
) -> tuple[RoutingPolicy, dict[str, float]]:
    order = tuple(rng.sample(fleet, len(fleet)))
    errors = {r: rng.choice(ERROR_RATES) for r in fleet} if policy == "healthiest" else {}
    return RoutingPolicy(policy, order=order if policy == "failover" else ()), errors


def _table(
    catalog: RegionCatalog, client: str, fleet: list[str], policy: RoutingPolicy, errors: dict
) -> str:
    headers = ["region", f"round trip from {client} (ms)"]
    if policy.order:
        headers.append("failover order")
    if errors:
        headers.append("recent error rate")
    rows = []
    for region in fleet:
        row = [region, f"{catalog.rtt_ms(client, region):.1f}"]
        if policy.order:
            row.append(str(policy.order.index(region) + 1))
        if errors:
            row.append(f"{errors[region]:.0%}")
        rows.append(tuple(row))
    return Table("Regions", tuple(headers), tuple(rows)).to_text()


def _pick(router: Router, client: str, healthy: Sequence[str], errors: dict[str, float]) -> str:
    error_rate: Callable[[str], float] = lambda region: errors.get(region, 0.0)  # noqa: E731
    return router.plan(client, healthy, error_rate)[0][0]


def _why_not(
    region: str,
    key: str,
    client: str,
    fleet: list[str],
    policy: RoutingPolicy,
    catalog: RegionCatalog,
    unhealthy: str | None = None,
) -> Wrong:
    """The misconception behind picking `region` instead of `key`, and the run's reason."""
    rtt = catalog.rtt_ms
    reason = f"The router sends {client}'s users to {key}"
    if region == unhealthy:
        return Wrong(region, "unhealthy_served", f"{region} is unhealthy. {reason}.")
    if policy.name == "failover":
        healthy = [r for r in fleet if r != unhealthy]
        if region == min(healthy, key=lambda r: rtt(client, r)):
            return Wrong(region, "closest_under_failover", f"{reason}: first healthy in order.")
        if region == fleet[0]:
            return Wrong(region, "list_order", f"{reason}: first healthy in order.")
        return Wrong(region, "order_misread", f"{reason}: first healthy in order.")
    if policy.name == "healthiest" and rtt(client, region) <= rtt(client, key):
        return Wrong(region, "errors_ignored", f"{reason}: the lowest recent error rate.")
    if region == fleet[0]:
        return Wrong(region, "list_order", f"{reason}, {rtt(client, key):.1f} ms away.")
    return Wrong(
        region,
        "not_closest",
        f"{region} is {rtt(client, region):.1f} ms away, {key} {rtt(client, key):.1f} ms.",
    )


def _rule(policy: RoutingPolicy) -> str:
    return {
        "latency": "latency: the healthy region with the shortest round trip",
        "failover": "failover: the first healthy region in the failover order",
        "healthiest": "healthiest: the lowest recent error rate, then the shortest round trip",
    }[policy.name]


def _source(fleet: list[str], policy: RoutingPolicy) -> str:
    words = ["mrsandbox", "serve", "--regions", ",".join(fleet), "--policy", policy.name]
    if policy.order:
        words += ["--order", ",".join(policy.order)]
    return shlex.join(words)


def serving_region(qid: str, variant: Variant, rng: random.Random) -> Question | None:
    """ "Under policy P, which region serves users near C?", all regions healthy."""
    catalog = RegionCatalog.default()
    fleet = _fleet(variant, catalog, rng)
    client = rng.choice(catalog.names())
    policy, errors = _setting(rng.choice(POLICIES), fleet, rng)
    key = _pick(Router(policy, fleet, catalog), client, fleet, errors)
    wrong = [_why_not(r, key, client, fleet, policy, catalog) for r in fleet if r != key]
    options = choices(key, f"Right: {_rule(policy)} is {key} for {client}.", wrong, rng)
    if options is None:
        return None
    facts = {"failover": 1, "latency": len(fleet), "healthiest": len(fleet) + 1}[policy.name]
    return Question(
        id=qid,
        kind="routing",
        text=(
            f"Users near {client} send requests to a fleet of {', '.join(fleet)}, all healthy, "
            f"routed by the {policy.name} policy. Which region serves them?"
        ),
        evidence=_table(catalog, client, fleet, policy, errors),
        options=options,
        hint=f"Apply the policy's rule to the table: {_rule(policy)}.",
        solution=(f"Policy {_rule(policy)}.", f"For users near {client} that is {key}."),
        mistakes=("Taking the first region listed", "Ignoring the policy's settings"),
        difficulty=rubric(facts, rule_suffices=True),
        source=_source(fleet, policy),
    )


def failover_region(qid: str, variant: Variant, rng: random.Random) -> Question | None:
    """ "The region serving users near C is marked unhealthy: where do their requests go?" """
    catalog = RegionCatalog.default()
    fleet = _fleet(variant, catalog, rng)
    client = rng.choice(catalog.names())
    policy, errors = _setting(rng.choice(POLICIES[:2]), fleet, rng)
    router = Router(policy, fleet, catalog)
    before = _pick(router, client, fleet, errors)
    healthy = [r for r in fleet if r != before]
    key = _pick(router, client, healthy, errors)
    wrong = [
        _why_not(r, key, client, fleet, policy, catalog, unhealthy=before)
        for r in fleet
        if r != key
    ]
    options = choices(key, f"Right: with {before} unhealthy, {_rule(policy)} is {key}.", wrong, rng)
    if options is None:
        return None
    return Question(
        id=qid,
        kind="failover",
        text=(
            f"Users near {client} are served by {before} under the {policy.name} policy. The "
            f"probes mark {before} unhealthy. Where do their requests go now?"
        ),
        evidence=_table(catalog, client, fleet, policy, errors),
        options=options,
        hint="Take the unhealthy region out of the table, then apply the policy's rule.",
        solution=(
            f"Policy {_rule(policy)}; an unhealthy region is skipped.",
            f"Without {before}, users near {client} go to {key}.",
        ),
        mistakes=("Keeping users on the unhealthy region", "Forgetting the policy's rule"),
        difficulty=rubric(2, rule_suffices=True),
        source=_source(fleet, policy),
    )
