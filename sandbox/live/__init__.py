"""The live backend: real Flask region servers and a gateway on 127.0.0.1."""
