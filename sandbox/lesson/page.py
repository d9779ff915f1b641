"""A lesson as a page: Markdown, or one self-contained HTML page (no file or script from another
host) whose stepper moves through the run: Next / Previous and the arrow keys highlight the
Process Table's row, show the Status Tracker after that step with the changed variables marked,
and highlight the flow's node."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from sandbox.flow.tables import Table
from sandbox.flow.tracer import display
from sandbox.lesson import graph
from sandbox.quiz.export import quiz_html, to_markdown
from sandbox.quiz.model import Quiz

TITLES = {
    "process_flow": "Process Flow",
    "execution_sample": "Execution Sample",
    "process_table": "Process Table",
    "status_tracker": "Status Tracker",
    "key_moments": "Key Moments",
    "visual_quiz": "Visual Quiz",
    "concept_snapshot": "Concept Snapshot",
    "transcript": "Full Transcript",
    "practice": "Practice",
    "test": "Test",
}
COLUMNS = ("step", "action", "region", "result", "next_step")
HEADERS = ("Step", "Action", "Region", "Result", "Next Step")


def to_markdown_page(doc: dict[str, Any], quizzes: dict[str, Quiz]) -> str:
    """The lesson as Markdown: every mode under its title, quizzes with their answer keys."""
    out = [f"# Multi-region deployment: `{doc['command']}`"]
    out += ["## Process Flow", f"```text\n{graph.to_text(doc['process_flow'])}\n```"]
    out += ["## Execution Sample", f"```python\n{doc['execution_sample'].rstrip()}\n```"]
    rows = tuple(tuple(str(s[c]) for c in COLUMNS) for s in doc["process_table"])
    out += ["## Process Table", _markdown_table(Table("Process Table", HEADERS, rows))]
    tracker = doc["status_tracker"]
    head = ("Variable", *tracker["columns"])
    cells = tuple((r["variable"], *r["values"]) for r in tracker["rows"])
    out += ["## Status Tracker", _markdown_table(Table("Status Tracker", head, cells))]
    out.append("## Key Moments")
    for m in doc["key_moments"]:
        out += [f"**{m['question']}**", f"{m['answer']} (steps {', '.join(map(str, m['steps']))})"]
    for mode in ("visual_quiz",):
        out += [f"## {TITLES[mode]}", _quiz_md(quizzes[mode])]
    out += ["## Concept Snapshot", "\n".join(f"- {line}" for line in doc["concept_snapshot"])]
    out += ["## Full Transcript", "\n\n".join(doc["transcript"])]
    for mode in ("practice", "test"):
        out += [f"## {TITLES[mode]}", _quiz_md(quizzes[mode])]
    return "\n\n".join(out) + "\n"


def _markdown_table(table: Table) -> str:
    """The table's Markdown without its own heading: the page's section names it."""
    return table.to_markdown().split("\n", 2)[2]


def _quiz_md(quiz: Quiz) -> str:
    student, key = to_markdown(quiz)
    body = student.split("\n", 2)[2] if student.startswith("# ") else student
    answers = key.split("\n", 2)[2] if key.startswith("# ") else key
    answers = "\n".join(
        "##" + line if line.startswith("## ") else line for line in answers.split("\n")
    )
    return f"{body}\n<details><summary>Answers</summary>\n\n{answers}\n</details>"


STYLE = """
body{font-family:system-ui,sans-serif;max-width:70rem;margin:1rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #bbb;padding:.2rem .5rem;
font-size:.85rem;text-align:left;vertical-align:top}tr.current td{background:#fff3b0}
td.changed{background:#c8f0c8;font-weight:bold}pre{background:#f4f4f4;padding:.6rem;overflow:auto}
.flow rect{fill:#eef;stroke:#557}.flow .current rect{fill:#fff3b0;stroke:#a80;stroke-width:2}
.flow text{font-size:13px}.flow .edge-label{font-size:11px;fill:#555}
.flow .edge{stroke:#557;fill:none}#stepper{position:sticky;top:0;
background:#fff;padding:.4rem 0;border-bottom:1px solid #ddd}button{font-size:1rem}
.two{display:flex;gap:2rem;flex-wrap:wrap}details{margin:.4rem 0}
"""

SCRIPT = """
(function(){
  var data = JSON.parse(document.getElementById('lesson-data').textContent);
  var last = data.steps.length, at = 0;
  function show(n){
    at = Math.max(0, Math.min(last, n));
    document.querySelectorAll('tr[data-step]').forEach(function(row){
      row.classList.toggle('current', Number(row.dataset.step) === at);
    });
    var node = at ? data.nodes[at - 1] : 'start';
    document.querySelectorAll('.flow .node').forEach(function(g){
      g.classList.toggle('current', g.dataset.node === node);
    });
    var now = data.snapshots[at], before = data.snapshots[Math.max(0, at - 1)];
    data.watched.forEach(function(name){
      var cell = document.getElementById('var-' + name);
      cell.textContent = now[name];
      cell.classList.toggle('changed', at > 0 && now[name] !== before[name]);
    });
    document.getElementById('step-label').textContent =
      at ? 'After step ' + at + ' of ' + last + ': ' + data.steps[at - 1] : 'Start';
    document.getElementById('prev-step').disabled = at === 0;
    document.getElementById('next-step').disabled = at === last;
  }
  document.getElementById('next-step').addEventListener('click', function(){ show(at + 1); });
  document.getElementById('prev-step').addEventListener('click', function(){ show(at - 1); });
  document.addEventListener('keydown', function(e){
    if (e.key === 'ArrowRight') show(at + 1);
    if (e.key === 'ArrowLeft') show(at - 1);
  });
  show(0);
})();
"""


def to_html(doc: dict[str, Any], quizzes: dict[str, Quiz], step_nodes: list[str]) -> str:
    """The lesson as one self-contained HTML page with its stepper; `step_nodes`: the flow's
    node of each step."""
    steps = doc["process_table"]
    snapshots = [s["variables"] for s in doc["status_tracker"]["snapshots"]]
    watched = list(snapshots[0])  # the trace's variables, in its order
    data = {
        "steps": [f"{s['action']} ({s['region']}): {s['result']}" for s in steps],
        "nodes": step_nodes,
        "snapshots": [{v: display(snap[v]) for v in watched} for snap in snapshots],
        "watched": watched,
    }
    table = "".join(
        f'<tr data-step="{s["step"]}">'
        + "".join(f"<td>{escape(str(s[c]))}</td>" for c in COLUMNS)
        + "</tr>"
        for s in steps
    )
    current = "".join(
        f'<tr><th>{v}</th><td id="var-{v}">{escape(display(snapshots[0][v]))}</td></tr>'
        for v in watched
    )
    tracker = doc["status_tracker"]
    full = "".join(
        "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in [r["variable"], *r["values"]]) + "</tr>"
        for r in tracker["rows"]
    )
    body = [
        f"<h1>Multi-region deployment</h1><pre>{escape(doc['command'])}</pre>",
        '<div id="stepper"><button id="prev-step" type="button">&larr; Previous</button> '
        '<button id="next-step" type="button">Next &rarr;</button> <span id="step-label">'
        "</span></div>",
        '<div class="two"><section id="process_flow"><h2>Process Flow</h2>'
        f"{graph.to_svg(doc['process_flow'])}</section>",
        '<section id="variables"><h2>Variables at this step</h2>'
        f"<table>{current}</table></section></div>",
        '<section id="execution_sample"><h2>Execution Sample</h2>'
        f"<pre>{escape(doc['execution_sample'])}</pre></section>",
        '<section id="process_table"><h2>Process Table</h2><table><tr>'
        + "".join(f"<th>{h}</th>" for h in HEADERS)
        + f"</tr>{table}</table></section>",
        '<section id="status_tracker"><h2>Status Tracker</h2><table><tr><th>Variable</th>'
        + "".join(f"<th>{escape(c)}</th>" for c in tracker["columns"])
        + f"</tr>{full}</table></section>",
        '<section id="key_moments"><h2>Key Moments</h2>'
        + "".join(
            f"<details><summary>{escape(m['question'])}</summary><p>{escape(m['answer'])} "
            f"(steps {', '.join(map(str, m['steps']))})</p></details>"
            for m in doc["key_moments"]
        )
        + "</section>",
        _quiz_html("visual_quiz", quizzes["visual_quiz"]),
        '<section id="concept_snapshot"><h2>Concept Snapshot</h2><ul>'
        + "".join(f"<li>{escape(line)}</li>" for line in doc["concept_snapshot"])
        + "</ul></section>",
        '<section id="transcript"><h2>Full Transcript</h2>'
        + "".join(f"<p>{escape(line)}</p>" for line in doc["transcript"])
        + "</section>",
        _quiz_html("practice", quizzes["practice"]),
        _quiz_html("test", quizzes["test"]),
    ]
    payload = json.dumps(data).replace("</", "<\\/")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Lesson: {escape(doc['command'])}</title><style>{STYLE}</style></head><body>"
        + "\n".join(body)
        + f'<script type="application/json" id="lesson-data">{payload}</script>'
        + f"<script>{SCRIPT}</script></body></html>\n"
    )


def _quiz_html(mode: str, quiz: Quiz) -> str:
    return f'<section id="{mode}"><h2>{TITLES[mode]}</h2>{quiz_html(quiz)}</section>'
