"""`mrsandbox serve`: a live fleet with the lesson's deployment, its gateway and the dashboard,
until Ctrl-C or SIGTERM."""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from typing import Any

import click

from sandbox.args.common import (
    EXTRA_REGIONS,
    PROCESSES,
    SEED,
    TIME_SCALE,
    Mistake,
    blaming,
    catalog_with,
    number_type,
    pairs,
    region_list,
    settings_of,
)
from sandbox.args.ports import (
    PORT,
    PROMETHEUS_TARGETS,
    REGION_PORTS,
    fleet_ports,
    unavailable,
    write_targets,
)
from sandbox.cli.interrupts import serving, stops
from sandbox.core.health import HealthPolicy, OutlierPolicy
from sandbox.core.models import load_model
from sandbox.core.routing import POLICIES as ROUTING_POLICIES
from sandbox.core.routing import RoutingPolicy
from sandbox.errors import PortUnavailable
from sandbox.flow.deployment import COMPLETED
from sandbox.flow.sample import run_deployment

FLAGS = {  # each policy setting's flag
    "policy": "--policy",
    "retries": "--retries",
    "order": "--order",
    "weights": "--weights",
    "dns_ttl_s": "--dns-ttl-s",
    "interval_s": "--health-interval",
    "timeout_s": "--health-timeout",
    "failure_threshold": "--failure-threshold",
    "healthy_threshold": "--healthy-threshold",
}


@click.command()
@click.option("--regions", required=True, metavar="R1,R2,...", help="Comma-separated regions.")
@click.option("--model", default="model_v1", show_default=True, help="Bundled name or .json path.")
@click.option("--policy", type=click.Choice(ROUTING_POLICIES), default="latency", show_default=True)
@click.option(
    "--retries",
    type=number_type(RoutingPolicy.BOUNDS["retries"]),
    default=1,
    show_default=True,
    help="Further regions a request tries after a failure.",
)
@click.option("--order", metavar="R1,R2,...", help="Failover order (--policy failover).")
@click.option("--weights", metavar="R1=W,R2=W", help="Weights 0-255 (--policy weighted).")
@TIME_SCALE
@click.option(
    "--health-interval",
    type=number_type(HealthPolicy.BOUNDS["interval_s"]),
    default=30.0,
    show_default=True,
    help="Seconds between health probes (emulated).",
)
@click.option(
    "--health-timeout",
    type=number_type(HealthPolicy.BOUNDS["timeout_s"]),
    help="Seconds a health probe may take (emulated) [default: 2, or half the interval where "
    "that is shorter].",
)
@click.option(
    "--failure-threshold",
    type=number_type(HealthPolicy.BOUNDS["failure_threshold"]),
    default=3,
    show_default=True,
)
@click.option(
    "--healthy-threshold",
    type=number_type(HealthPolicy.BOUNDS["healthy_threshold"]),
    default=3,
    show_default=True,
)
@click.option(
    "--uneject-on-healthy-probe/--no-uneject-on-healthy-probe",
    default=True,
    show_default=True,
    help="Whether a passing health probe ends a region's outlier ejection (Envoy's default) or "
    "the ejection runs its full time.",
)
@click.option(
    "--dns-ttl-s",
    type=number_type(RoutingPolicy.BOUNDS["dns_ttl_s"]),
    default=0.0,
    show_default=True,
    help="Seconds the users near a region keep the region the gateway gave them, healthy or "
    "not, as DNS clients cache an answer (0: asked on every request).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address every server listens on; any other than this machine's own warns, since "
    "other machines can then reach the fleet.",
)
@PORT
@REGION_PORTS
@PROMETHEUS_TARGETS
@PROCESSES
@SEED
@EXTRA_REGIONS
@click.pass_context
@stops("the fleet's start")
def serve(ctx: click.Context, **p: Any) -> None:
    """Start live regions and the gateway, deploy the model, and serve until Ctrl-C or SIGTERM
    (exit 0, one line on stderr; 130 or 143 when either comes before the fleet is ready).

    Prints one JSON line on stdout when ready: {"gateway": url, "regions": {name: url},
    "admin_token": token}; the deployment's tables go to stderr.
    """
    from sandbox import dashboard  # the live fleet's servers, imported when one starts
    from sandbox.live import LiveFleet
    from sandbox.live.metrics import scrape_targets

    catalog = catalog_with(ctx, p["extra_regions"])

    def fail(message: str, wanted: Sequence[str], mistake: str) -> click.UsageError:
        fixed = ",".join(dict.fromkeys(wanted)) or "us-east-1,eu-west-1"
        return Mistake(f"{message}: --regions {fixed}", ctx, mistake, param_hint="'--regions'")

    regions = region_list(ctx, p["regions"], catalog, fail)
    region_ports = fleet_ports(ctx, regions, p["port"], p["region_ports"])
    with blaming(ctx, "'--model'"):
        model = load_model(p["model"])
    order = tuple(r.strip() for r in p["order"].split(",")) if p["order"] else ()
    weights = pairs(ctx, "--weights", p["weights"])
    with settings_of(ctx, FLAGS):
        routing = RoutingPolicy(p["policy"], p["retries"], order, weights, p["dns_ttl_s"])
        routing.check(regions)
        health = HealthPolicy(
            p["health_interval"],
            p["health_timeout"],
            p["failure_threshold"],
            p["healthy_threshold"],
        )
    fleet = LiveFleet(
        regions,
        catalog=catalog,
        time_scale=p["time_scale"],
        seed=p["seed"],
        processes=p["processes"],
        host=p["host"],
        port=p["port"] or 0,
        region_ports=region_ports,
    )
    board = dashboard.mount(fleet)
    try:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                fleet.start()
            for warning in caught:
                click.echo(f"Warning: {warning.message}", err=True)
        except PortUnavailable as e:
            raise unavailable(ctx, e, p["region_ports"]) from None
        except (OSError, ValueError) as e:  # ValueError: a host no address can be made of
            reason = (getattr(e, "strerror", None) or str(e)).rstrip(".")
            message = f"cannot listen on {p['host']}: {reason}; use 127.0.0.1 or an address here"
            raise click.BadParameter(message, ctx, param_hint="'--host'") from None
        with fleet:
            if p["prometheus_targets"]:
                targets = scrape_targets(fleet.gateway_url, fleet.urls)
                write_targets(ctx, p["prometheus_targets"], targets)
            d = run_deployment(
                regions,
                model,
                backend=fleet,
                health=health,
                outlier=OutlierPolicy(uneject_on_healthy_probe=p["uneject_on_healthy_probe"]),
                routing=routing,
                seed=p["seed"],
            )
            click.echo(d.trace.render("text"), err=True)
            if d.outcome not in COMPLETED:
                ctx.exit(1)
            board.follow(d)
            ready = {
                "gateway": fleet.gateway_url,
                "regions": fleet.urls,
                "admin_token": fleet.admin_token,
            }
            with serving():
                click.echo(json.dumps(ready))
                page = f"{fleet.gateway_url}/dashboard#token={fleet.admin_token}"
                click.echo(f"Dashboard: {page}", err=True)
                if d.health_view is not None:
                    d.health_view.subscribe(
                        lambda t: click.echo(
                            f"t={t.t:.1f} s: {t.region} {t.state} ({t.source})", err=True
                        )
                    )
    finally:
        board.close()  # after the fleet: a rollout under way ends at once
    click.echo("Stopped: the fleet, its gateway and its dashboard closed.", err=True)
