"""The Execution Sample of a run: Python that reproduces it with the lesson's function names,
the loop of the material's code with the run's settings, left-out calls and halts."""

from __future__ import annotations

from sandbox.args.request import DeployRequest
from sandbox.flow.sample import check_leave_out


def execution_sample(request: DeployRequest, halted: bool) -> str:
    """Code that, run in Python, makes the same deployment (the same trace) as `request`;
    `halted`: whether its failure policy ends it early (the code then catches that)."""
    regions = list(request.regions)
    settings = [repr(request.model.name)]
    if request.on_failure != "retry":
        settings.append(f"on_failure={request.on_failure!r}")
    if request.max_retries != 2:
        settings.append(f"max_retries={request.max_retries}")
    if request.failures:
        settings.append(f"failures={[f.spec for f in request.failures]!r}")
    if request.seed:
        settings.append(f"seed={request.seed}")
    skipped = check_leave_out(list(request.leave_out), regions)
    halts = halted
    lines = [
        "from sandbox.flow import Deployment",
        *(["from sandbox.errors import DeploymentHalted"] if halts else []),
        *(["from sandbox.errors import FlowError"] if skipped else []),
        "",
        f"regions = {regions!r}",
        f"d = Deployment(regions, {', '.join(settings)})",
        "deploy_model, verify_deployment = d.deploy_model, d.verify_deployment",
        "routing_setup, monitor_health = d.routing_setup, d.monitor_health",
        "",
    ]
    body = ["for region in regions:"]
    for call in ("deploy_model", "verify_deployment"):
        left = [r for c, r in skipped if c == call]
        if left:
            body.append(f"    if region != {left[0]!r}:  # left out")
            body.append(f"        {call}(region)")
        else:
            body.append(f"    {call}(region)")
    for call in ("routing_setup", "monitor_health"):
        if (call, None) not in skipped:
            body.append(f"{call}(regions)")
    if not (halts or skipped):
        return "\n".join(lines + body) + "\n"
    lines.append("try:")
    lines += [f"    {line}" for line in body]
    if halts:
        lines += ["except DeploymentHalted:", "    pass  # the failure policy ended the deployment"]
    if skipped:
        lines += [
            "except FlowError as refused:  # the flow refuses a call out of order",
            '    d.give_up(f"Refused: {refused}")',
        ]
        left_out = ", ".join(request.leave_out)
        lines += ["if not d.trace.ended:", f'    d.give_up("Ended without {left_out}")']
    return "\n".join(lines) + "\n"
