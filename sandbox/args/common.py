"""What the commands share: numbers, region lists, weights and folders as a user types them,
and the options several commands take. Every check fails as a click usage error (exit status 2)
that says what to type instead; a `Mistake` also names the learner's mistake, so that a quiz can
judge a command line by what the real parser says about it."""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from sandbox.core.checks import SEEDS, TIME_SCALES, Range
from sandbox.core.regions import RegionCatalog
from sandbox.errors import SandboxError


class Finite(click.FloatRange):
    """A number in a range that also refuses nan and infinity."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


def number_type(bounds: Range) -> click.ParamType:
    """The option type of a setting's `Range` (its one copy, kept by the setting's owner)."""
    low = None if bounds.low == -math.inf else bounds.low
    high = None if bounds.high == math.inf else bounds.high
    if bounds.whole:
        return click.IntRange(
            None if low is None else int(low),
            None if high is None else int(high),
            min_open=bounds.low_open,
            max_open=bounds.high_open,
        )
    return Finite(low, high, min_open=bounds.low_open, max_open=bounds.high_open)


@contextmanager
def settings_of(ctx: click.Context, flags: Mapping[str, str]) -> Iterator[None]:
    """Turn an error about one setting into a usage error on its flag (`flags`: setting ->
    flag); any other refusal, into a usage error of the command."""
    try:
        yield
    except SandboxError as e:
        flag = flags.get(e.field or "")
        if flag is None:
            raise click.UsageError(str(e), ctx) from None
        raise click.BadParameter(e.reason, ctx, param_hint=f"'{flag}'") from None


JUNK = "[]'\" "


def region_words(text: str) -> list[str]:
    """Region names in what a user typed, whatever the separators, brackets and quotes."""
    return [p.strip(JUNK) for p in text.replace(" ", ",").split(",") if p.strip(JUNK)]


# Every mistake a `deploy` command line can have, by the name a `Mistake` carries; "usage" is
# click's own (an unknown option, a missing value).
MISTAKE_NAMES = (
    *("spaces", "brackets", "singular_flag", "flag_twice", "both_flags", "no_regions"),
    *("empty_region", "repeated_region", "unknown_region", "extra_args", "no_model"),
    *("unknown_model", "invalid_value", "usage"),
)


class Mistake(click.BadParameter):
    """A usage error that names the learner's mistake (`mistake`, e.g. `spaces`), so that a
    quiz can judge a command line by what the real parser says about it."""

    def __init__(
        self, message: str, ctx: click.Context, mistake: str, param_hint: str | None = None
    ) -> None:
        if mistake not in MISTAKE_NAMES:
            raise ValueError(f"unknown mistake name {mistake!r}")
        super().__init__(message, ctx, param_hint=param_hint)
        self.mistake = mistake

    def format_message(self) -> str:
        return super().format_message() if self.param_hint else self.message


REGION_LIST_MESSAGES = {
    "brackets": "--regions takes a plain comma-separated list, without brackets",
    "spaces": "regions must be separated by commas, not spaces",
}


@contextmanager
def blaming(ctx: click.Context, hint: str, mistake: str = "invalid_value") -> Iterator[None]:
    """Turn a `SandboxError` raised inside into a usage error (exit status 2) on `hint`."""
    try:
        yield
    except SandboxError as e:
        raise Mistake(str(e), ctx, mistake, param_hint=hint) from None


def catalog_with(ctx: click.Context, extra_files: Sequence[str]) -> RegionCatalog:
    catalog = RegionCatalog.default()
    for path in extra_files:
        with blaming(ctx, "'--extra-regions'"):
            catalog.load_file(path)
    return catalog


Fix = Callable[[str, Sequence[str], str], click.UsageError]


def region_list(ctx: click.Context, text: str, catalog: RegionCatalog, fail: Fix) -> list[str]:
    """Split a --regions value; refuse brackets, spaces, empty names, repeats, unknown names."""
    typed = region_words(text)
    if any(c in text for c in "[]"):
        raise fail(REGION_LIST_MESSAGES["brackets"], typed, "brackets")
    if any(" " in r.strip() for r in text.split(",")):
        raise fail(REGION_LIST_MESSAGES["spaces"], typed, "spaces")
    regions = [r.strip() for r in text.split(",")]
    if not any(regions):
        raise fail("--regions is empty: name at least one region, e.g.", [], "no_regions")
    if not all(regions):
        message = f"--regions {text!r} has an empty name (a doubled, leading or trailing comma)"
        raise fail(message, typed, "empty_region")
    twice = sorted({r for r in regions if regions.count(r) > 1})
    if twice:
        message = f"--regions lists {', '.join(twice)} more than once; list each region once"
        raise fail(message, typed, "repeated_region")
    for region in regions:
        with blaming(ctx, "'--regions'", "unknown_region"):
            catalog.check(region)
    return regions


def pairs(
    ctx: click.Context, flag: str, text: str | None, what: str = "weight", example: str = "80"
) -> dict[str, float]:
    """`--weights us-east-1=80,eu-west-1=20` as a dict (`what`: what the numbers are)."""
    pairs: dict[str, float] = {}
    for item in (text or "").split(",") if text else []:
        name, _, value = item.partition("=")
        if name.strip() in pairs:
            message = f"{name.strip()} is given twice; give each region one {what}"
            raise click.BadParameter(message, ctx, param_hint=f"'{flag}'")
        try:
            pairs[name.strip()] = int(value) if value.strip().isdigit() else float(value)
        except ValueError:
            message = f"{item!r}: expected REGION={what.upper()}, e.g. us-east-1={example}"
            raise click.BadParameter(message, ctx, param_hint=f"'{flag}'") from None
    return pairs


def write_out(ctx: click.Context, path: Path, content: bytes) -> None:
    """Write a file into the --out folder, then print its path; a usage error when it cannot
    be written."""
    try:
        path.write_bytes(content)
    except OSError as e:
        message = f"cannot write {path}: {e.strerror}; name a folder you can write to"
        raise click.BadParameter(message, ctx, param_hint="'--out'") from None
    click.echo(str(path))


def out_folder(ctx: click.Context, out: str | None) -> Path | None:
    """The --out folder, created; a usage error when it cannot be."""
    if out is None:
        return None
    if not out.strip():
        raise click.BadParameter("is empty; name a folder to write into", ctx, param_hint="'--out'")
    folder = Path(out)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        message = f"{out} exists and is not a folder; name a folder to write into"
        raise click.BadParameter(message, ctx, param_hint="'--out'") from None
    except OSError as e:
        message = f"cannot create the folder {out}: {e.strerror}; name a folder to write into"
        raise click.BadParameter(message, ctx, param_hint="'--out'") from None
    return folder


@contextmanager
def run_folder(ctx: click.Context, out: str | None) -> Iterator[Path | None]:
    """The --out folder of a run (`out_folder`), made before the run so that a bad one is refused
    first, and removed again if the run does not finish and the folder was made for it."""
    existed = out is not None and Path(out).is_dir()
    folder = out_folder(ctx, out)
    try:
        yield folder
    except BaseException:
        if folder is not None and not existed:
            with contextlib.suppress(OSError):  # not empty: something else wrote there
                folder.rmdir()
        raise


@contextmanager
def staged(ctx: click.Context, folder: Path) -> Iterator[Path]:
    """A hidden folder inside the --out `folder` to write a run's files into: they move into
    `folder` when the block ends, and go with it when the block fails or is interrupted, so
    `folder` never holds half of them; a usage error when they cannot be written."""
    try:
        stage = Path(tempfile.mkdtemp(prefix=".partial-", dir=folder))
    except OSError as e:
        message = f"cannot write into {folder}: {e.strerror}; name a folder you can write to"
        raise click.BadParameter(message, ctx, param_hint="'--out'") from None
    try:
        try:
            yield stage
        except OSError as e:
            message = f"cannot write into {folder}: {e.strerror}; free space there or name another"
            raise click.BadParameter(message, ctx, param_hint="'--out'") from None
        for path in sorted(stage.iterdir()):
            os.replace(path, folder / path.name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


CONTEXT = {"help_option_names": ["-h", "--help"]}  # every command's click settings
EXTRA_REGIONS = click.option(
    "--extra-regions",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="TOML file of [[region]] tables (name, location, lat, lon) to add to the catalogue. "
    "Repeatable.",
)
SEED = click.option(
    "--seed",
    type=number_type(SEEDS),
    default=0,
    show_default=True,
    help="Seed of every random draw (simulated times, fault jitter, weighted routing).",
)
TIME_SCALE = click.option(
    "--time-scale",
    type=number_type(TIME_SCALES),
    default=1.0,
    show_default=True,
    help="Live: wall seconds per emulated second (0.1 makes a 30 s interval take 3 s).",
)
PROCESSES = click.option(
    "--processes",
    is_flag=True,
    help="Live: run each region in its own process, so that a crash fault is a real kill.",
)
