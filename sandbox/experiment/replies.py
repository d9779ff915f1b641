"""What a user saw through a live fleet's gateway, request by request (`sandbox.live.ask`): when
each request went, its status, the region that answered, the regions tried and how long it took;
every request, or only those where what the user saw changed."""

from __future__ import annotations

from collections.abc import Sequence

from sandbox.flow.tables import Table
from sandbox.live.ask import Reply

HEADERS = (
    "t (s)",
    "user near",
    "status",
    "X-Served-By",
    "X-Tried",
    "round trip (ms)",
    "took (ms)",
)


def replies_table(
    replies: Sequence[Reply], title: str = "What the user saw", *, changes: bool = False
) -> Table:
    """A row per reply, in the order given (times in emulated seconds on the fleet's clock,
    milliseconds emulated too); with `changes`, only the first and each one whose status,
    answering region or regions tried differ from the reply before it."""
    rows, before = [], None
    for reply in replies:
        if not isinstance(reply, Reply):
            raise TypeError(f"replies_table takes the replies of sandbox.live.ask; got {reply!r}")
        seen = (reply.status, reply.served_by, reply.tried)
        if changes and seen == before:
            continue
        before = seen
        rows.append(
            (
                f"{reply.t:.1f}",
                reply.near,
                str(reply.status) if reply.status else "no answer",
                reply.served_by or "-",
                ",".join(reply.tried) or "-",
                f"{reply.rtt_ms:.0f}" if reply.rtt_ms is not None else "-",
                f"{reply.ms:.0f}",
            )
        )
    return Table(title, HEADERS, tuple(rows))
