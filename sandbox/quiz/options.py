"""Options for generated questions: the key among wrong options that each stand for a named
misconception, and the variant (regions, model) a seed picks."""

from __future__ import annotations

import random
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from sandbox.core.models import bundled_models
from sandbox.core.regions import RegionCatalog
from sandbox.quiz.misconceptions import MISCONCEPTIONS
from sandbox.quiz.model import MIN_OPTIONS, Option

OPTIONS = 4


class Wrong(NamedTuple):
    """A wrong option: its text, the misconception it stands for, and why it is wrong in this
    run."""

    text: str
    misconception: str
    why: str


def feedback(misconception: str, why: str) -> str:
    """A wrong option's feedback: the belief behind it, then what the run shows."""
    belief = MISCONCEPTIONS[misconception]
    return f"Not this one: it comes from {belief}. {why}"


def counted(n: int, noun: str) -> str:
    """`1 region`, `3 regions`."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def regions_text(regions: Sequence[str]) -> str:
    """Regions as an option names them: `a, b`, or `No region`."""
    return ", ".join(regions) if regions else "No region"


def choices(
    key: str, right: str, wrong: Sequence[Wrong], rng: random.Random
) -> tuple[Option, ...] | None:
    """The key and up to three distinct wrong options, in a seeded order; None when fewer than
    two differ from the key (the question is then skipped, never padded)."""
    seen = {key}
    picked: list[Option] = []
    candidates = list(wrong)
    rng.shuffle(candidates)
    for text, name, why in candidates:
        if text.strip() and text not in seen and len(picked) < OPTIONS - 1:
            seen.add(text)
            picked.append(Option(text, False, feedback(name, why), name))
    if len(picked) < MIN_OPTIONS - 1:
        return None
    options = [Option(key, True, right), *picked]
    rng.shuffle(options)
    return tuple(options)


@dataclass(frozen=True)
class Variant:
    """What one generated question is about: the regions and the model it deploys."""

    regions: tuple[str, ...]
    model: str
    flags: tuple[str, ...] = ()  # a given run's own flags (--fail ...), used instead of drawn ones

    @classmethod
    def draw(cls, rng: random.Random, catalog: RegionCatalog, size: int | None = None) -> Variant:
        """Two or three regions of one provider and a bundled model."""
        provider = rng.choice(sorted({r.provider for r in catalog}))
        names = sorted(r.name for r in catalog if r.provider == provider)
        regions = rng.sample(names, size or rng.choice((2, 3)))
        return cls(tuple(regions), rng.choice(bundled_models()))

    def command(self, *extra: str) -> str:
        """`mrsandbox deploy --regions ... MODEL` with `extra` words after it."""
        words = ["mrsandbox", "deploy", "--regions", ",".join(self.regions), self.model, *extra]
        return shlex.join(words)
