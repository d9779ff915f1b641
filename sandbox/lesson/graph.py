"""The Process Flow of a run: the flow's nodes in the order the run reached them, and the edges
it took between them (retries, skips, rollbacks and halts included), drawn as text or SVG."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from sandbox.flow.tracer import END_ACTION, Step

START = ("start", "Start Deployment")
# A step's action -> its node and the node's label (`{region}`, `{result}`: the step's).
NODES = {
    "Select region": ("select", "Select Regions"),
    "Deploy model": ("deploy:{region}", "Deploy Model to {region}"),
    "Retry deployment": ("retry:{region}", "Retry Deployment to {region}"),
    "Verify deployment": ("verify:{region}", "Verify {region}"),
    "Skip region": ("skip:{region}", "Skip {region}"),
    "Roll back deployment": ("rollback:{region}", "Roll Back {region}"),
    "Setup traffic routing": ("routing", "Traffic Routing"),
    "Start health monitoring": ("monitoring", "Health Monitoring"),
    # a rollout's
    "Start wave": ("wave:{region}", "Start Wave: {region}"),
    "Shift traffic": ("shift:{region}:{result}", "Shift {result} in {region}"),
    "Bake": ("bake:{region}", "Bake {region}"),
}
ENDINGS = {
    "complete": "Deployment Complete",
    "complete_with_skips": "Deployment Complete, with Skips",
    "stopped": "Deployment Stopped",
    "rolled_back": "Deployment Rolled Back",
    "incomplete": "Deployment Incomplete",
}
ROLLOUT_START = ("start", "Start Rollout")
ROLLOUT_ENDINGS = {"complete": "Rollout Complete", "rolled_back": "Rollout Rolled Back"}


def node_of(step: Step, outcome: str | None = None, rollout: bool = False) -> tuple[str, str]:
    """The (id, label) of the node a step is at (`rollout`: a step of a rollout's trace)."""
    if step.action == END_ACTION:
        endings = ROLLOUT_ENDINGS if rollout else ENDINGS
        return "end", endings.get(outcome or "", f"{'Rollout' if rollout else 'Deployment'} Ended")
    node, label = NODES.get(step.action, (f"step:{step.step}", step.action))
    where = {"region": step.region, "result": step.result}
    return node.format(**where), label.format(**where)


def process_flow(
    steps: Sequence[Step], outcome: str | None, rollout: bool = False
) -> dict[str, Any]:
    """`{"nodes": [{"id", "label"}], "edges": [{"from", "to", "label"}]}`: every node the run
    reached, in the order it first reached them, and every move it made, labelled by the
    result that led to it (`rollout`: the steps of a rollout's trace)."""
    start = ROLLOUT_START if rollout else START
    nodes: dict[str, str] = dict([start])
    edges: dict[tuple[str, str], str] = {}
    here, result = start[0], "begin"
    for step in steps:
        node, label = node_of(step, outcome, rollout)
        nodes.setdefault(node, label)
        edges.setdefault((here, node), result)
        here, result = node, step.result
    return {
        "nodes": [{"id": n, "label": label} for n, label in nodes.items()],
        "edges": [{"from": a, "to": b, "label": label} for (a, b), label in edges.items()],
    }


def to_text(graph: dict[str, Any]) -> str:
    """The flow as lines of text: each move `from -> to (why)`."""
    labels = {n["id"]: n["label"] for n in graph["nodes"]}
    return "\n".join(
        f"{labels[e['from']]} -> {labels[e['to']]} ({e['label']})" for e in graph["edges"]
    )


NODE_H, GAP, CHAR_W = 34, 22, 7.5  # a label's characters at 13 px, about


def to_svg(graph: dict[str, Any]) -> str:
    """The flow as an inline SVG: nodes top to bottom in the order the run reached them; a move
    down to the next node is a straight arrow, any other move (a retry, a jump past a node, a
    node repeated) an arc beside, labelled with the result behind it."""
    ids = [n["id"] for n in graph["nodes"]]
    width = max(260, int(max(len(n["label"]) for n in graph["nodes"]) * CHAR_W) + 24)
    y = {n: 10 + i * (NODE_H + GAP) for i, n in enumerate(ids)}
    height = 10 + len(ids) * (NODE_H + GAP)
    x, mid, right = 30, 30 + width // 2, 30 + width
    total = right + 220
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="flow" viewBox="0 0 {total} {height}" '
        f'width="{total}" height="{height}" role="img" aria-label="Process Flow">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>',
    ]
    for e in graph["edges"]:
        a, b = y[e["from"]] + NODE_H // 2, y[e["to"]] + NODE_H // 2
        title = f"<title>{escape(e['label'])}</title>"
        if ids.index(e["to"]) == ids.index(e["from"]) + 1:
            parts.append(
                f'<line class="edge" x1="{mid}" y1="{a + NODE_H // 2}" x2="{mid}" '
                f'y2="{b - NODE_H // 2}" marker-end="url(#arrow)">{title}</line>'
            )
            continue
        if a == b:  # the same node again: a small loop
            a, b = a - 8, a + 8
        bend = right + 30 + 10 * (abs(b - a) // (NODE_H + GAP))
        parts.append(
            f'<path class="edge jump" d="M{right},{a} C{bend},{a} {bend},{b} {right},{b}" '
            f'fill="none" marker-end="url(#arrow)">{title}</path>'
            f'<text class="edge-label" x="{bend + 4}" y="{(a + b) // 2 + 4}">'
            f"{escape(e['label'])}</text>"
        )
    for n in graph["nodes"]:
        top = y[n["id"]]
        parts.append(
            f'<g class="node" data-node="{escape(n["id"])}"><rect x="{x}" y="{top}" '
            f'width="{width}" height="{NODE_H}" rx="6"/><text x="{mid}" y="{top + 22}" '
            f'text-anchor="middle">{escape(n["label"])}</text></g>'
        )
    return "\n".join([*parts, "</svg>"])
