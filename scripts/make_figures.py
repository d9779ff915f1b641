"""Regenerate the figures the README shows, one of each kind, into docs/figures/: an outage's
traffic, latency and errors (regional_outage), the canary and sequential rollouts of the same bad
version side by side, and a sweep of the DNS TTL with five seeds a point.

Usage: python scripts/make_figures.py [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sandbox.experiment import (  # noqa: E402
    load_scenario,
    rollout_figure,
    run_experiment,
    sweep,
    sweep_figure,
)
from sandbox.experiment.plots import figures  # noqa: E402

DPI = 80
NO_METADATA = {"Software": None}  # the same bytes whatever matplotlib wrote them


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "figures")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    outage = figures(run_experiment(load_scenario("regional_outage")))
    for name in ("traffic.png", "latency.png", "errors.png"):
        outage[name].savefig(out / f"outage-{name}", dpi=DPI, metadata=NO_METADATA)
    bad = [
        run_experiment(load_scenario(s)) for s in ("bad_version_canary", "bad_version_sequential")
    ]
    rollout_figure(bad).savefig(out / "rollouts.png", dpi=DPI, metadata=NO_METADATA)
    ttl = load_scenario("outage_dns_ttl_60")
    with ThreadPoolExecutor(max_workers=2) as pool:
        rows = sweep(
            ttl.document, ttl.source, [("routing.dns_ttl_s", [0, 15, 30, 60, 120])], pool, seeds=5
        )
    figure = sweep_figure(rows, ["routing.dns_ttl_s"], "failover_s")
    figure.savefig(out / "sweep-dns-ttl.png", dpi=DPI, metadata=NO_METADATA)
    print(f"figures written to {out}")


if __name__ == "__main__":
    main()
