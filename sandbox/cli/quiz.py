"""`mrsandbox quiz`: take a quiz in the terminal, generate a seeded variant, export a set."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import click

from sandbox.args.common import blaming, out_folder, write_out
from sandbox.cli.interrupts import stops
from sandbox.cli.progress import QUIET, shown
from sandbox.quiz.export import FORMATS
from sandbox.quiz.sets import DEFAULT_COUNT, GENERATED, MADE, TEST

ROSTER_NAME = "class"  # the roster's file names when its ids come from --student flags


def _variant_options(command: Any) -> Any:
    """--seed, --student, --count and --scenario, shared by every subcommand."""
    for option in reversed(
        [
            click.option(
                "--seed",
                type=click.IntRange(min=0),
                help="Seed of the variant: regions, steps and option order (generated and "
                "test sets: default 0; a material set keeps its order without one).",
            ),
            click.option(
                "--student",
                "students",
                metavar="ID",
                multiple=True,
                help="A student id to seed the variant with.",
            ),
            click.option(
                "--count",
                type=click.IntRange(1, 100),
                help=f"Questions in a generated quiz [default: {DEFAULT_COUNT}].",
            ),
            click.option(
                "--scenario",
                metavar="SCENARIO",
                help="A scenario (bundled name or .toml path) whose regions, model and faults "
                "the generated and test questions use.",
            ),
        ]
    ):
        command = option(command)
    return command


def _one_student(ctx: click.Context, p: dict[str, Any]) -> str | None:
    """The one --student of a command that takes a quiz for one student."""
    students = p["students"]
    if len(students) > 1:
        given = ", ".join(repr(s) for s in students)
        raise click.UsageError(
            f"--student is given {len(students)} times ({given}); this command makes one "
            "student's quiz: give --student once (quiz export writes a whole roster with "
            "several --student or --students FILE)",
            ctx,
        )
    return students[0] if students else None


def _quiz(ctx: click.Context, name: str, p: dict[str, Any], student: str | None) -> Any:
    """The quiz a command line names for one student (or none), with its seed applied."""
    from sandbox.quiz.sets import quiz_for

    hint = "'--scenario'" if p["scenario"] is not None else "'--student'" if student else "'SET'"
    with blaming(ctx, hint):
        return quiz_for(name, p["seed"], p["count"], p["scenario"], student)


@click.group()
def quiz() -> None:
    """Quizzes whose answer keys come from running the sandbox."""


@quiz.command("list")
@stops("the listing")
def list_sets() -> None:
    """List the question sets."""
    from sandbox.quiz.material import load_set, material_sets

    for name in material_sets():
        loaded = load_set(name)
        click.echo(f"{name:<10} {len(loaded):>3} questions  {loaded.title}")
    click.echo(f"{GENERATED:<10}   N questions  a seeded variant (--seed, --student, --count)")
    click.echo(f"{TEST:<10}  10 questions  the lesson's test: easy, medium, hard, and a verdict")


@quiz.command()
@click.argument("set_name", metavar="[SET]", default=GENERATED)
@_variant_options
@click.pass_context
@stops("the quiz")
def take(ctx: click.Context, set_name: str, **p: Any) -> None:
    """Take SET in the terminal: one answer a line on stdin (a letter, or a number), feedback
    with the hint and the solution after each, the score at the end (per difficulty; the
    lesson's test adds a verdict and what to review).

    SET is visual, practice, generated (the default), test or a question-set .toml path.
    Exit status: 0 when every question was answered, 1 when the input ended first.
    """
    from sandbox.quiz.take import take as run

    loaded = _quiz(ctx, set_name, p, _one_student(ctx, p))
    if isinstance(sys.stdin, io.TextIOWrapper):  # bytes that are not text read as U+FFFD
        sys.stdin.reconfigure(errors="replace")
    score = run(loaded, sys.stdin, sys.stdout)
    ctx.exit(0 if score.complete else 1)


@quiz.command("generate")
@click.argument("set_name", metavar="[SET]", type=click.Choice(MADE), default=GENERATED)
@_variant_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json"]),
    default="json",
    show_default=True,
    help="jupyterquiz's JSON, each question with the `source` command behind its key.",
)
@QUIET
@click.pass_context
@stops("the quiz's generation")
def generate_command(ctx: click.Context, set_name: str, fmt: str, quiet: bool, **p: Any) -> None:
    """Print a generated quiz (SET generated, the default) or the lesson's test (SET test):
    questions whose keys come from simulated runs."""
    with shown(set_name, "question", quiet):
        loaded = _quiz(ctx, set_name, p, _one_student(ctx, p))
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
@click.option(
    "--students",
    "roster",
    metavar="FILE",
    help="A roster, one student id a line: one question bank for the whole class (a GIFT "
    "category, a QTI question group per student) and one instructor key.",
)
@_variant_options
@click.pass_context
@stops("the export")
def export(
    ctx: click.Context, set_name: str, fmt: str, out: str, roster: str | None, **p: Any
) -> None:
    """Write SET as Moodle GIFT, jupyterquiz JSON, Markdown (student copy and answer key apart)
    or a QTI zip; print the paths written. With --students FILE (or several --student), each
    student's variant goes into one bank named SET-ROSTER (ROSTER: FILE's name, or class), and
    SET-ROSTER_key.md lists every student's keys."""
    from sandbox.quiz.export import export as write
    from sandbox.quiz.roster import check_roster, export_roster, read_roster, slug

    students = list(p["students"])
    if roster is not None:
        if students:
            raise click.UsageError("give --student or --students FILE, not both", ctx)
        with blaming(ctx, "'--students'"):
            students = read_roster(roster)
    else:
        with blaming(ctx, "'--student'"):
            students = check_roster([(f"--student #{i}", s) for i, s in enumerate(students, 1)])
    if len(students) <= 1 and roster is None:
        with blaming(ctx, "'SET'"):
            files = write(_quiz(ctx, set_name, p, students[0] if students else None), fmt)
    else:
        if p["seed"] is not None:
            raise click.UsageError(
                "--seed: each student's variant is seeded by their id; leave --seed out", ctx
            )
        variants = [(student, _quiz(ctx, set_name, p, student)) for student in students]
        first, first_quiz = variants[0]
        base = first_quiz.name.removesuffix(f"-{slug(first)}")
        name = f"{base}-{slug(Path(roster).stem) if roster else ROSTER_NAME}"
        title = f"{base}, one variant for each of {len(students)} students"
        with blaming(ctx, "'SET'"):
            files = export_roster(name, title, variants, fmt)
    out_folder(ctx, out)
    for name, content in files.items():
        write_out(ctx, Path(out) / name, content)
