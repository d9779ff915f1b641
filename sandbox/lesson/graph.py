"""The Process Flow of a run: the flow's nodes in the order the run reached them, and the edges
it took between them (retries, skips, rollbacks and halts included), drawn as text or SVG."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from sandbox.flow.tracer import Step

START = ("start", "Start Deployment")
SELECT = ("select", "Select Regions")
# A step's action -> its node (`{}` is the step's region) and the node's label.
NODES = {
    "Select region": ("select", "Select Regions"),
    "Deploy model": ("deploy:{}", "Deploy Model to {}"),
    "Retry deployment": ("retry:{}", "Retry Deployment to {}"),
    "Verify deployment": ("verify:{}", "Verify {}"),
    "Skip region": ("skip:{}", "Skip {}"),
    "Roll back deployment": ("rollback:{}", "Roll Back {}"),
    "Setup traffic routing": ("routing", "Traffic Routing"),
    "Start health monitoring": ("monitoring", "Health Monitoring"),
    "End": ("end", "Deployment Complete"),
}
ENDINGS = {"complete": "Deployment Complete", "complete_with_skips": "Deployment Complete"}


def node_of(step: Step, outcome: str | None = None) -> tuple[str, str]:
    """The (id, label) of the node a step is at."""
    node, label = NODES.get(step.action, (f"step:{step.step}", step.action))
    if step.action == "End":
        return "end", ENDINGS.get(outcome or "", f"Deployment {outcome or 'ended'}")
    return node.format(step.region), label.format(step.region)


def process_flow(steps: Sequence[Step], outcome: str | None) -> dict[str, Any]:
    """`{"nodes": [{"id", "label"}], "edges": [{"from", "to", "label"}]}`: every node the run
    reached, in the order it first reached them, and every move it made, labelled by the
    result that led to it."""
    nodes: dict[str, str] = dict([START])
    edges: dict[tuple[str, str], str] = {}
    here, result = START[0], "begin"
    for step in steps:
        node, label = node_of(step, outcome)
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


NODE_W, NODE_H, GAP = 260, 34, 22


def to_svg(graph: dict[str, Any]) -> str:
    """The flow as an inline SVG: nodes top to bottom in the order the run reached them; a move
    down is a straight arrow, a move back up (a retry) or a jump past a node an arc beside."""
    ids = [n["id"] for n in graph["nodes"]]
    y = {n: 10 + i * (NODE_H + GAP) for i, n in enumerate(ids)}
    height = 10 + len(ids) * (NODE_H + GAP)
    x, mid = 30, 30 + NODE_W // 2
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="flow" viewBox="0 0 {NODE_W + 120} '
        f'{height}" width="{NODE_W + 120}" height="{height}" role="img" '
        'aria-label="Process Flow">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>',
    ]
    for e in graph["edges"]:
        a, b = y[e["from"]], y[e["to"]]
        title = f"<title>{escape(e['label'])}</title>"
        if b > a and ids.index(e["to"]) == ids.index(e["from"]) + 1:
            parts.append(
                f'<line class="edge" x1="{mid}" y1="{a + NODE_H}" x2="{mid}" y2="{b}" '
                f'marker-end="url(#arrow)">{title}</line>'
            )
        else:
            side, bend = x + NODE_W, x + NODE_W + 30 + 8 * (abs(b - a) // (NODE_H + GAP))
            parts.append(
                f'<path class="edge jump" d="M{side},{a + NODE_H // 2} C{bend},{a + NODE_H // 2} '
                f'{bend},{b + NODE_H // 2} {side},{b + NODE_H // 2}" fill="none" '
                f'marker-end="url(#arrow)">{title}</path>'
            )
    for n in graph["nodes"]:
        top = y[n["id"]]
        parts.append(
            f'<g class="node" data-node="{escape(n["id"])}"><rect x="{x}" y="{top}" '
            f'width="{NODE_W}" height="{NODE_H}" rx="6"/><text x="{mid}" y="{top + 22}" '
            f'text-anchor="middle">{escape(n["label"])}</text></g>'
        )
    return "\n".join([*parts, "</svg>"])
