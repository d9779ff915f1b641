"""`mrsandbox quiz`: take a quiz in the terminal, generate a seeded variant, export a set."""

from __future__ import annotations

import io
import json
import re
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from sandbox.args.common import blaming, out_folder
from sandbox.quiz.export import FORMATS

GENERATED = "generated"
DEFAULT_COUNT = 10
SET_HELP = "visual, practice, generated (a seeded variant), or a question-set .toml path"


def _variant_options(command: Any) -> Any:
    """--seed, --student, --count and --scenario, shared by every subcommand."""
    for option in reversed(
        [
            click.option(
                "--seed",
                type=click.IntRange(min=0),
                help="Seed of the variant: regions, steps and option order (generated set: "
                "default 0; a material set keeps its order without one).",
            ),
            click.option("--student", metavar="ID", help="A student id to seed the variant with."),
            click.option(
                "--count",
                type=click.IntRange(1, 100),
                help=f"Questions in a generated quiz [default: {DEFAULT_COUNT}].",
            ),
            click.option(
                "--scenario",
                metavar="SCENARIO",
                help="A scenario (bundled name or .toml path) whose regions, model and faults "
                "the generated questions use.",
            ),
        ]
    ):
        command = option(command)
    return command


def _quiz(ctx: click.Context, name: str, p: dict[str, Any]) -> Any:
    """The quiz a command line names, with its seed applied."""
    from sandbox.quiz.generate import generate, student_seed
    from sandbox.quiz.material import load_set

    student, seed = p["student"], p["seed"]
    if seed is not None and student is not None:
        raise click.UsageError("give --seed or --student, not both", ctx)
    if student is not None:
        with blaming(ctx, "'--student'"):
            seed = student_seed(student)
    if name == GENERATED:
        with blaming(ctx, "'--scenario'"):
            quiz = generate(seed or 0, p["count"] or DEFAULT_COUNT, p["scenario"])
    else:
        for flag in ("count", "scenario"):
            if p[flag] is not None:
                raise click.UsageError(f"--{flag} applies to the generated set only", ctx)
        with blaming(ctx, "'SET'"):
            quiz = load_set(name)
        if seed is not None:
            quiz = quiz.shuffled(seed)
    if student is not None:  # name the variant after its student, so exports tell them apart
        shown = student.strip().encode("utf-8", "replace").decode("utf-8")
        slug = re.sub(r"[^\w-]+", "-", shown.casefold()).strip("-") or "student"
        return replace(quiz, name=f"{name}-{slug}", title=f"{quiz.title}, for {shown}")
    if seed is not None and name != GENERATED:
        return replace(quiz, name=f"{quiz.name}-seed{seed}", title=f"{quiz.title} (seed {seed})")
    return quiz


@click.group()
def quiz() -> None:
    """Quizzes whose answer keys come from running the sandbox."""


@quiz.command("list")
def list_sets() -> None:
    """List the question sets."""
    from sandbox.quiz.material import load_set, material_sets

    for name in material_sets():
        loaded = load_set(name)
        click.echo(f"{name:<10} {len(loaded):>3} questions  {loaded.title}")
    click.echo(f"{GENERATED:<10}   N questions  a seeded variant (--seed, --student, --count)")


@quiz.command()
@click.argument("set_name", metavar="[SET]", default=GENERATED)
@_variant_options
@click.pass_context
def take(ctx: click.Context, set_name: str, **p: Any) -> None:
    """Take SET in the terminal: one answer a line on stdin (a letter, or a number), feedback
    with the hint and the solution after each, the score at the end.

    SET is visual, practice, generated (the default) or a question-set .toml path.
    Exit status: 0 when every question was answered, 1 when the input ended first.
    """
    from sandbox.quiz.take import take as run

    loaded = _quiz(ctx, set_name, p)
    if isinstance(sys.stdin, io.TextIOWrapper):  # bytes that are not text read as U+FFFD
        sys.stdin.reconfigure(errors="replace")
    score = run(loaded, sys.stdin, sys.stdout)
    ctx.exit(0 if score.complete else 1)


@quiz.command("generate")
@_variant_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json"]),
    default="json",
    show_default=True,
    help="jupyterquiz's JSON, each question with the `source` command behind its key.",
)
@click.pass_context
def generate_command(ctx: click.Context, fmt: str, **p: Any) -> None:
    """Print a generated quiz: questions whose keys come from simulated runs."""
    loaded = _quiz(ctx, GENERATED, p)
    click.echo(json.dumps(loaded.to_jupyterquiz(), indent=2))


@quiz.command()
@click.argument("set_name", metavar="SET")
@click.option("--format", "fmt", required=True, type=click.Choice(FORMATS))
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=".",
    show_default=True,
    help="Folder to write the files into.",
)
@_variant_options
@click.pass_context
def export(ctx: click.Context, set_name: str, fmt: str, out: str, **p: Any) -> None:
    """Write SET as Moodle GIFT, jupyterquiz JSON, Markdown (student copy and answer key apart)
    or a QTI zip; print the paths written."""
    from sandbox.quiz.export import export as write

    loaded = _quiz(ctx, set_name, p)
    with blaming(ctx, "'SET'"):
        files = write(loaded, fmt)
    out_folder(ctx, out)
    for name, content in files.items():
        path = Path(out) / name
        try:
            path.write_bytes(content)
        except OSError as e:
            message = f"cannot write {path}: {e.strerror}; name a folder you can write to"
            raise click.BadParameter(message, ctx, param_hint="'--out'") from None
        click.echo(str(path))
