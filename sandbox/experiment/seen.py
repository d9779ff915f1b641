"""What the users saw, by the region they were near: how many requests they sent, which model
version served each one last (answered or failed: a failed request counts under its version
too), and how many failed; one pass over the requests, a chunk at a time (an experiment's, or
those of users started from Python, `users.log`)."""

from __future__ import annotations

import numpy as np

from sandbox.core.records import RequestLog
from sandbox.experiment.columns import columns
from sandbox.flow.tables import Table


def users_saw(log: RequestLog, title: str = "What the users saw") -> Table:
    """A row per region users were near, then one for all of them: requests sent, those each
    version served last (a failed one too: a retry's version counts; `Experiment.served_by`),
    and those that failed (no right answer, whichever version served it last, or none)."""
    if not isinstance(log, RequestLog):
        raise TypeError(f"users_saw takes a RequestLog, such as users.log; got {log!r}")
    versions = log.versions.names
    near = len(log.clients)
    sent, failed = np.zeros(near, np.int64), np.zeros(near, np.int64)
    served = np.zeros((near, len(versions)), np.int64)
    for c in columns(log):
        client = c.client.astype(np.int64)
        sent += np.bincount(client, minlength=near)
        failed += np.bincount(client[~c.ok], minlength=near)
        known = c.version >= 0
        np.add.at(served, (client[known], c.version[known].astype(np.int64)), 1)
    rows = [
        (name, str(sent[i]), *(str(n) for n in served[i]), str(failed[i]))
        for i, name in enumerate(log.clients)
    ]
    rows.append(("all", str(sent.sum()), *(str(n) for n in served.sum(axis=0)), str(failed.sum())))
    by_version = (f"served last by {v} (failed too)" for v in versions)
    headers = ("users near", "requests", *by_version, "failed")
    return Table(title, headers, tuple(rows))
