"""The live backend: real Flask region servers and a gateway on 127.0.0.1."""

from sandbox.live.ask import Reply, ask
from sandbox.live.fleet import LiveFleet

__all__ = ["LiveFleet", "Reply", "ask"]
