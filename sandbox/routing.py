"""Routing: which region serves a client."""

from __future__ import annotations

from collections.abc import Sequence

from sandbox.regions import RegionCatalog


def closest(client: str, candidates: Sequence[str], catalog: RegionCatalog) -> str:
    """The candidate with the lowest round trip from `client` (ties: the earlier candidate)."""
    if not candidates:
        raise ValueError("no region to route to")
    return min(candidates, key=lambda region: catalog.rtt_ms(client, region))
