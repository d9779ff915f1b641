"""A run's requests stream to a spool file a chunk at a time: what is read back is what was added,
the journal, CSV and figures are the same bytes whatever the chunk, percentiles are exact at the
journal's rounding, and memory does not grow with the requests."""

from __future__ import annotations

import os
import random
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from sandbox.core.records import RequestLog, percentile
from sandbox.experiment.columns import Quantiles, rounded, rows, write_csv
from sandbox.experiment.plots import draw
from sandbox.experiment.run import run_experiment
from sandbox.experiment.scenario import load_scenario

PS = (0.1, 1, 25, 50, 95, 99, 99.9, 100)


def sample(rng: random.Random, n: int) -> list[float]:
    """Latencies with ties, a long tail and values at the rounding's edges."""
    kinds = (
        lambda: rng.lognormvariate(3, 1),
        lambda: round(rng.uniform(0, 50), 4),
        lambda: rng.choice([1.0005, 1.0015, 2.5, 30000.0]),
    )
    return [rng.choice(kinds)() for _ in range(n)]


@pytest.mark.parametrize("seed", range(20))
def test_quantiles_give_the_exact_nearest_rank_percentile_of_the_rounded_values(seed):
    rng = random.Random(seed)
    values = sample(rng, rng.randint(1, 3000))
    digits = rng.choice([1, 3])
    q = Quantiles(digits)
    q.extend(np.array(values[: len(values) // 2]))
    rest = Quantiles(digits)
    rest.extend(np.array(values[len(values) // 2 :]))
    q.merge(rest)
    ordered = sorted(round(v, digits) for v in values)
    for p in PS:
        assert q.percentile(p) == percentile(ordered, p)
    assert len(q.counts) <= len(set(ordered))


def test_quantiles_of_nothing_are_none_and_counts_are_bounded_by_distinct_values():
    assert Quantiles().percentile(50) is None
    q = Quantiles(1)
    q.extend(
        np.array([10 + (i % 1000) / 100 for i in range(100_000)])
    )  # 1000 values, 101 at 0.1 ms
    assert q.n == 100_000 and len(q.counts) == 101
    assert q.percentile(50) == 15.0


@pytest.mark.parametrize("digits", [1, 3, 6])
def test_rounding_a_column_agrees_with_pythons_round_at_every_half(digits):
    rng = random.Random(digits)
    step = 10.0**-digits
    halves = [(k + 0.5) * step for k in range(5000)]  # at, or a unit in the last place off
    near = [h + d for h in halves for d in (-1e-12, 1e-12, np.spacing(h), -np.spacing(h))]
    exact = [k / 8 for k in range(4000)]  # binary halves: ties to even
    wide = [rng.lognormvariate(3, 3) for _ in range(5000)]
    values = np.array(halves + near + exact + wide)
    assert rounded(values, digits).tolist() == [round(v, digits) for v in values.tolist()]


def fill(log: RequestLog, rng: random.Random, n: int, start: float = 100.0) -> None:
    for i in range(n):
        ok = rng.random() < 0.9
        log.add(
            start + i * 0.01 + rng.random() / 1000,
            rng.randrange(2),
            rng.randrange(-1, 3),
            rng.randrange(-1, 3),
            rng.randrange(1, 300),  # attempts over 255 are kept as 255
            rng.lognormvariate(3, 1),
            ok,
            not ok and rng.random() < 0.5,
            rng.choice([None, "1.0.0", "1.1.0"]),
        )


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def spools() -> list[str]:
    return [n for n in os.listdir(tempfile.gettempdir()) if n.startswith("mrsandbox-requests-")]


def test_spooled_requests_read_back_as_they_were_added_and_the_file_goes_with_the_log():
    clients, regions = ["eu-west-2", "us-east-2"], ["us-east-1", "eu-west-1", "ap-south-1"]
    fds = open_fds()
    small, whole = RequestLog(clients, regions, chunk=64), RequestLog(clients, regions)
    fill(small, random.Random(7), 1000)
    fill(whole, random.Random(7), 1000)
    assert len(small) == len(whole) == 1000
    assert len(list(small.chunks())) == 16  # 15 full chunks on file, 40 requests in memory
    assert spools() == []  # the spool file has no name, even while it is used
    assert open_fds() == fds + 1
    assert list(rows(small)) == list(rows(whole))
    assert max(small.column("attempts")) == 255
    for log in (small, whole):
        log.origin = 100.0
    assert list(small.column("t")) == list(whole.column("t"))
    assert min(small.column("t")) >= 0 and small.latest() == max(whole.column("t"))
    small.close()
    assert open_fds() == fds


def test_an_empty_log_has_no_rows_no_latest_time_and_no_file():
    fds = open_fds()
    log = RequestLog(["eu-west-2"], ["us-east-1"], chunk=4)
    assert (len(log), list(rows(log)), log.latest()) == (0, [], None)
    assert open_fds() == fds


def test_memory_of_the_log_stays_within_one_chunk_however_many_requests():
    rng, log = random.Random(1), RequestLog(["eu-west-2"], ["us-east-1"], chunk=1000)
    fill(log, rng, 1000)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        fill(log, rng, 200_499)  # 200 chunks and a half: about 5 MB of columns
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert len(log) == 201_499
    assert peak < 600_000  # bytes: one chunk as rows and columns, the list of chunks
    log.close()


@pytest.mark.parametrize("name", ["regional_outage", "bad_version_canary", "latency_spike"])
def test_the_journal_csv_and_figures_are_the_same_bytes_whatever_the_chunk(
    name, tmp_path, monkeypatch
):
    def written(folder: Path) -> dict[str, bytes]:
        result = run_experiment(load_scenario(name))
        folder.mkdir()
        (folder / "journal.json").write_text(repr(result.journal))
        write_csv(result.log, folder / "requests.csv")
        draw(result, folder)
        result.log.close()
        return {p.name: p.read_bytes() for p in folder.iterdir()}

    whole = written(tmp_path / "whole")
    monkeypatch.setattr(RequestLog, "CHUNK", 997)
    chunked = written(tmp_path / "chunked")
    assert whole.keys() == chunked.keys() and len(whole) >= 5
    assert whole["requests.csv"].count(b"\n") > 997 * 3  # several chunks were spooled
    for file, content in whole.items():
        assert chunked[file] == content, file


FIGURES = ["traffic.png", "latency.png", "errors.png"]
SMALL = """name = "small"
seed = 3
duration_s = 30

[deployment]
regions = ["us-east-1", "eu-west-1"]

[[clients]]
region = "eu-west-2"
rate_per_s = 100
"""


def test_a_full_temporary_folder_ends_the_run_with_exit_3_and_says_where(
    invoke, tmp_path, monkeypatch
):
    scenario, out = tmp_path / "small.toml", tmp_path / "out"
    scenario.write_text(SMALL)
    monkeypatch.setattr(RequestLog, "CHUNK", 500)  # about 3,000 requests: chunks go to the spool
    monkeypatch.setattr(os, "pwrite", lambda fd, data, offset: len(data) // 2)  # a disk full
    result = invoke("experiment", str(scenario), "--out", str(out), "--quiet")
    assert result.exit_code == 3, result.output
    assert "cannot keep the run's requests" in result.output
    assert tempfile.gettempdir() in result.output and "TMPDIR" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()  # nothing written of a run that did not finish, not even its folder


def test_a_sweep_whose_runs_cannot_be_kept_exits_3_and_writes_nothing(
    invoke, tmp_path, monkeypatch
):
    scenario, out = tmp_path / "small.toml", tmp_path / "out"
    scenario.write_text(SMALL)
    monkeypatch.setattr(RequestLog, "CHUNK", 500)  # the workers fork with the same full disk
    monkeypatch.setattr(os, "pwrite", lambda fd, data, offset: len(data) // 2)
    args = ["--vary", "health.interval_s=5,10", "--seeds", "1", "--workers", "1"]
    result = invoke("sweep", str(scenario), *args, "--out", str(out), "--quiet")
    assert result.exit_code == 3, result.output
    assert "cannot keep the run's requests" in result.output and "TMPDIR" in result.output
    assert "Traceback" not in result.output and not out.exists()


def test_the_out_folder_gets_a_runs_files_whole_or_not_at_all(invoke, tmp_path, monkeypatch):
    scenario, out = tmp_path / "small.toml", tmp_path / "out"
    scenario.write_text(SMALL)

    def interrupted(log: RequestLog, path: Path) -> None:
        path.write_text("t_s,client_region\n0.1,eu")  # half a file, then Ctrl-C
        raise KeyboardInterrupt

    monkeypatch.setattr("sandbox.experiment.columns.write_csv", interrupted)
    invoke("experiment", str(scenario), "--out", str(out), "--quiet")
    assert not out.exists()  # the folder the run made goes with it
    out.mkdir()  # a folder that was there before stays, as it was
    invoke("experiment", str(scenario), "--out", str(out), "--quiet")
    assert list(out.iterdir()) == []  # no journal beside half a CSV, no hidden folder
    monkeypatch.undo()
    result = invoke("experiment", str(scenario), "--out", str(out), "--quiet")
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(["journal.json", "requests.csv", "run.json", *FIGURES])
