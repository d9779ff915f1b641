"""The Execution Sample of a run: Python that reproduces it with the lesson's function names,
either the loop of the material's code with the run's settings, left-out calls and halts, or
the calls a learner made, in their order, refused ones included."""

from __future__ import annotations

from collections.abc import Sequence

from sandbox.args.request import DeployRequest
from sandbox.core.faults import Failure
from sandbox.flow.deployment import Deployment
from sandbox.flow.sample import check_leave_out

ALIASES = [
    "deploy_model, verify_deployment = d.deploy_model, d.verify_deployment",
    "routing_setup, monitor_health = d.routing_setup, d.monitor_health",
]
DEFAULTS = {"on_failure": "retry", "max_retries": 2, "seed": 0}


def _header(
    regions: Sequence[str],
    model: str,
    failures: Sequence[Failure],
    imports: Sequence[str],
    **settings: object,
) -> list[str]:
    """The imports, the regions and the `Deployment` with the settings that differ from its
    defaults, and the lesson's names bound to it."""
    given = [repr(model)]
    given += [f"{k}={v!r}" for k, v in settings.items() if DEFAULTS.get(k) != v]
    if failures:
        given.append(f"failures={[f.spec for f in failures]!r}")
    return [
        "from sandbox.flow import Deployment",
        *(f"from sandbox.errors import {name}" for name in imports),
        "",
        f"regions = {list(regions)!r}",
        f"d = Deployment(regions, {', '.join(given)})",
        *ALIASES,
        "",
    ]


def execution_sample(request: DeployRequest, halted: bool) -> str:
    """Code that, run in Python, makes the same deployment (the same trace) as `request`;
    `halted`: whether its failure policy ends it early (the code then catches that)."""
    regions = list(request.regions)
    skipped = check_leave_out(list(request.leave_out), regions)
    imports = [*(["DeploymentHalted"] if halted else []), *(["FlowError"] if skipped else [])]
    lines = _header(
        regions,
        request.sources[0] or request.model.name,
        request.failures,
        imports,
        on_failure=request.on_failure,
        max_retries=request.max_retries,
        seed=request.seed,
    )
    body = ["for region in regions:"]
    for call in ("deploy_model", "verify_deployment"):
        left = [r for c, r in skipped if c == call]
        if left:
            body += [f"    if region != {left[0]!r}:  # left out", f"        {call}(region)"]
        else:
            body.append(f"    {call}(region)")
    body += [
        f"{call}(regions)"
        for call in ("routing_setup", "monitor_health")
        if (call, None) not in skipped
    ]
    if not (halted or skipped):
        return "\n".join(lines + body) + "\n"
    lines += ["try:", *(f"    {line}" for line in body)]
    if halted:
        lines += ["except DeploymentHalted:", "    pass  # the failure policy ended the deployment"]
    if skipped:
        lines += [
            "except FlowError as refused:  # the flow refuses a call out of order",
            '    d.give_up(f"Refused: {refused}")',
            "if not d.trace.ended:",
            f'    d.give_up("Ended without {", ".join(request.leave_out)}")',
        ]
    return "\n".join(lines) + "\n"


def calls_sample(d: Deployment) -> str:
    """Code that repeats the calls a learner made on `d`, in their order, each refusal and halt
    caught where it came."""
    imports = [
        name
        for name, wanted in (
            ("DeploymentHalted", any(c.halted for c in d.calls)),
            ("FlowError", any(c.refused for c in d.calls)),
        )
        if wanted
    ]
    lines = _header(
        d.regions,
        d.model.name,
        d.failures,
        imports,
        on_failure=d.on_failure,
        max_retries=d.max_retries,
        seed=d.seed,
    )
    for c in d.calls:
        argument = "regions" if c.argument == d.regions else repr(c.argument)
        line = f"{c.name}({argument})"
        if c.refused:
            lines += [
                "try:",
                f"    {line}",
                "except FlowError as refused:",
                f"    print(refused)  # {c.refused}",
            ]
        elif c.halted:
            lines += [
                "try:",
                f"    {line}",
                "except DeploymentHalted as halted:",
                "    print(halted)  # the failure policy ended the deployment",
            ]
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"
