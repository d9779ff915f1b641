"""The progress bar of a long command on stderr (tqdm), fed by the run's reports
(`sandbox.core.progress`); shown only on a terminal and without --quiet, so that stdout, the
journals and the files are the same either way."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from sandbox.core import progress

QUIET = click.option(
    "--quiet", "-q", is_flag=True, help="No progress on stderr (shown only on a terminal)."
)


@contextmanager
def shown(desc: str, unit: str, quiet: bool = False, total: float | None = None) -> Iterator[Any]:
    """A bar named `desc` counting `unit`s for the block, hearing every report made in it."""
    from tqdm import tqdm

    off = quiet or not sys.stderr.isatty()
    tqdm.monitor_interval = 0  # no thread of tqdm's: every report redraws the bar itself
    with tqdm(
        total=total,
        desc=desc,
        unit=f" {unit}",
        file=sys.stderr,
        disable=off,
        leave=False,
        miniters=0,
    ) as bar:
        if off:
            yield bar
            return
        told = {"requests": "", "step": ""}

        def hear(news: progress.News) -> None:
            if news.total is not None:
                bar.total = round(news.total)
            if news.requests is not None:
                told["requests"] = f"{news.requests} requests"
            moved = news.step is not None and news.step != told["step"]
            if news.step is not None:
                told["step"] = news.step
            bar.set_postfix_str(", ".join(v for v in told.values() if v), refresh=False)
            done = bar.n if news.done is None else round(news.done)
            if bar.total is not None and done > bar.total:  # a run longer than expected
                bar.total = done
            bar.update(done - bar.n)  # drawn at most every mininterval (0.1 s) ...
            if moved:
                bar.refresh()  # ... but a new step at once

        with progress.listened(hear):
            yield bar
