"""What a user saw through the gateway, as a table and a figure: every request or only the
changes, each request on the row of the region that answered it (retried and unanswered ones
marked apart), the fault and every health transition named once in the legend, all inside the
frame; bad input named."""

from __future__ import annotations

import pytest

from sandbox.core.health import Transition
from sandbox.experiment import replies_figure, replies_table
from sandbox.live import Reply
from tests.test_figures import check_layout, legend_texts

LONDON = "eu-west-2"


def reply(t: float, status: int = 200, served: str = "eu-west-1", *tried: str) -> Reply:
    rtt = {"eu-west-1": 14.0, "us-east-1": 85.0}.get(served)
    return Reply(t, LONDON, status, served, tried or ((served,) if served else ()), rtt, t + 50)


# An outage of eu-west-1 from t = 10 to 30, as a London user sees it through the gateway.
REPLIES = [
    reply(8),
    reply(10, 200, "us-east-1", "eu-west-1", "us-east-1"),
    reply(11, 200, "us-east-1", "eu-west-1", "us-east-1"),
    reply(12, 200, "us-east-1"),
    reply(13, 503, "", "us-east-1", "ap-northeast-1"),
    reply(14, 200, "us-east-1"),
    reply(35),
]
TRANSITIONS = [
    Transition(11.5, "eu-west-1", "outlier", "ejected"),
    Transition(20.0, "eu-west-1", "probe", "unhealthy"),
    Transition(31.0, "eu-west-1", "probe", "returned"),
    Transition(34.0, "eu-west-1", "probe", "healthy"),
]


def test_the_table_shows_every_request_or_only_the_changes():
    every = replies_table(REPLIES)
    assert len(every.rows) == len(REPLIES)
    assert every.column("X-Tried")[1] == "eu-west-1,us-east-1"
    assert every.column("status")[4] == "503" and every.column("X-Served-By")[4] == "-"
    assert every.column("round trip (ms)")[:2] == ["14", "85"]
    changes = replies_table(REPLIES, "London", changes=True)
    assert changes.title == "London"
    assert changes.column("t (s)") == ["8.0", "10.0", "12.0", "13.0", "14.0", "35.0"]
    no_answer = Reply(40, LONDON, 0, "", (), None, 3)
    assert replies_table([no_answer]).rows[0][2:5] == ("no answer", "-", "-")


def test_the_table_refuses_what_is_not_a_reply():
    with pytest.raises(TypeError, match=r"sandbox\.live\.ask"):
        replies_table([{"status": 200}])  # type: ignore[list-item]


def test_the_figure_puts_each_request_on_its_region_and_names_every_mark():
    fig = replies_figure(REPLIES, TRANSITIONS, fault=("outage in eu-west-1", 10, 30))
    ax = fig.axes[0]
    rows = [label.get_text() for label in ax.get_yticklabels()]
    assert rows == ["eu-west-1", "us-east-1", "no answer"]
    marks = {}
    for points in ax.collections:
        for x, y in points.get_offsets():
            marks[float(x)] = rows[round(y)]
    assert marks == {
        r.t: r.served_by if r.status == 200 else "no answer" for r in REPLIES
    }  # every request, on the row of the region that answered it
    texts = legend_texts(fig)
    assert len(texts) == len(set(texts))
    for said in (
        "outage in eu-west-1",
        "eu-west-1 ejected by outlier detection",
        "eu-west-1 marked unhealthy by probes",
        "eu-west-1 healthy again (probes)",
        "answered",
        "answered after a retry",
        "not answered",
    ):
        assert said in texts
    assert ax.get_xlim()[0] < 8 and ax.get_xlim()[1] > 35
    check_layout(fig)
    assert fig._repr_png_().startswith(b"\x89PNG")  # a notebook shows it as a picture


def test_an_empty_figure_says_what_it_would_show():
    fig = replies_figure([])
    said = [t.get_text() for t in fig.axes[0].texts]
    assert any("No requests" in t for t in said)
