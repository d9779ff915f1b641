"""No tells: over 200 seeds of each multiple-choice kind, as `generate` asks them, nothing but
the run predicts the key. Option wordings (region, model and number names abstracted) are the
key about as often as chance, the key's letter is uniform, the longest option is not the key
more often than chance, no stem singles out its key, and no hint names a wrong option alone."""

from __future__ import annotations

import re
from collections import Counter, defaultdict

import pytest

from sandbox.core.models import bundled_models
from sandbox.core.regions import RegionCatalog
from sandbox.quiz.generate import KINDS, generate
from sandbox.quiz.model import Question

SEEDS = 200
MULTIPLE_CHOICE = [k for k in KINDS if k not in ("detection", "dns_ttl")]  # those are numeric
MOST_OFTEN = 30  # a wording seen this often is judged against chance
# Chi-square's value that a uniform key letter exceeds once in a thousand, by degrees of freedom.
CHI2_999 = {1: 10.83, 2: 13.82, 3: 16.27, 4: 18.47, 5: 20.52, 6: 22.46, 7: 24.32}


def asked(kind: str) -> tuple[Question, ...]:
    """The question of `kind` that a one-question quiz of each seed asks."""
    return tuple(generate(seed, 1, kinds=(kind,)).questions[0] for seed in range(SEEDS))


def _pattern(names: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(map(re.escape, sorted(names, key=len, reverse=True))))


REGIONS = _pattern(RegionCatalog.default().names())
MODELS = _pattern(list(bundled_models()))


def abstract(text: str) -> str:
    """An option's wording: regions as R, models as M, numbers as N, a list of regions as R...,
    a dict as {...}."""
    text = MODELS.sub("M", REGIONS.sub("R", text))
    text = re.sub(r"\d[\d,.]*", "N", text)
    text = re.sub(r"R(, R)+", "R...", text)
    return re.sub(r"^\{.*\}$", "{...}", text)


def names(text: str, part: str) -> bool:
    """Whether `part` stands in `text` as a whole word, number or name."""
    return re.search(rf"(?<![\w.-]){re.escape(part)}(?![\w-]|\.\w)", text) is not None


def within_chance(hits: float, expected: float, variance: float, n: float) -> bool:
    """`hits` of `n` within max(10 points, 4 sigma) of the `expected` count."""
    return abs(hits - expected) <= margin(variance, n)


def margin(variance: float, n: float) -> float:
    return max(0.1 * n, 4 * variance**0.5)


def test_wordings_are_abstracted_as_a_student_reads_them():
    assert abstract("The model is deployed to us-east-1, then eu-west-1") == (
        "The model is deployed to R, then R"
    )
    assert abstract("europe-west1, me-west1") == "R..."
    assert abstract("{'us-east-1': 'success'}") == "{...}"
    assert abstract("canary: about 48; sequential: about 23,000") == (
        "canary: about N; sequential: about N"
    )
    assert abstract("mrsandbox deploy --regions us-east-1 model_v1_1") == (
        "mrsandbox deploy --regions R M"
    )


@pytest.mark.parametrize("kind", MULTIPLE_CHOICE)
def test_nothing_but_the_run_predicts_the_key(kind):
    questions = asked(kind)
    no_option_wording_predicts_the_key(kind, questions)
    the_keys_letter_is_uniform(kind, questions)
    the_longest_option_is_not_the_key_more_often_than_chance(kind, questions)
    an_option_the_stem_names_is_the_key_no_more_often_than_chance(kind, questions)
    no_hint_names_a_wrong_option_unless_it_names_every_option(questions)
    if kind == "effect":
        a_refused_command_is_the_key_about_as_often_as_any_other_outcome(questions)


def no_option_wording_predicts_the_key(kind: str, questions: tuple[Question, ...]) -> None:
    seen: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0.0, 0.0])  # n, keys, E, Var
    for q in questions:
        chance = 1 / len(q.options)
        for o in q.options:
            stats = seen[abstract(o.text)]
            stats[0] += 1
            stats[1] += o.correct
            stats[2] += chance
            stats[3] += chance * (1 - chance)
    judged = {w: s for w, s in seen.items() if s[0] >= MOST_OFTEN}
    assert judged, f"{kind}: no wording is seen {MOST_OFTEN} times"
    for wording, (n, keys, expected, variance) in judged.items():
        assert within_chance(keys, expected, variance, n), (
            f"{kind}: {wording!r} is the key {keys:g} of {n:g} times; chance is {expected:.1f}"
        )


def the_keys_letter_is_uniform(kind: str, questions: tuple[Question, ...]) -> None:
    by_count: dict[int, Counter[int]] = defaultdict(Counter)
    for q in questions:
        by_count[len(q.options)][q.letters.index(q.key)] += 1
    for options, letters in by_count.items():
        n = sum(letters.values())
        if n < 10 * options:
            continue  # too few to judge
        expected = n / options
        chi2 = sum((letters[i] - expected) ** 2 / expected for i in range(options))
        assert chi2 < CHI2_999[options - 1], f"{kind}: key letters {sorted(letters.items())}"


def the_longest_option_is_not_the_key_more_often_than_chance(
    kind: str, questions: tuple[Question, ...]
) -> None:
    hits = expected = variance = 0.0
    for q in questions:
        lengths = [len(o.text) for o in q.options]
        if lengths.count(max(lengths)) == 1:
            chance = 1 / len(q.options)
            hits += q.options[lengths.index(max(lengths))].correct
            expected += chance
            variance += chance * (1 - chance)
    assert hits <= expected + margin(variance, SEEDS), (
        f"{kind}: the longest option is the key {hits:g} times; chance is {expected:.1f}"
    )


def a_refused_command_is_the_key_about_as_often_as_any_other_outcome(
    questions: tuple[Question, ...],
) -> None:
    refused = [q for q in questions if any("refused" in o.text for o in q.options)]
    keys = sum("refused" in q.answer_text for q in refused)
    expected = sum(1 / len(q.options) for q in refused)
    variance = sum(1 / len(q.options) * (1 - 1 / len(q.options)) for q in refused)
    assert len(refused) >= MOST_OFTEN
    assert within_chance(keys, expected, variance, len(refused))


def an_option_the_stem_names_is_the_key_no_more_often_than_chance(
    kind: str, questions: tuple[Question, ...]
) -> None:
    n = keys = expected = variance = 0.0
    for q in questions:
        chance = 1 / len(q.options)
        for o in q.options:
            if names(q.text, o.text):
                n, keys = n + 1, keys + o.correct
                expected, variance = expected + chance, variance + chance * (1 - chance)
    if n >= MOST_OFTEN:  # named and wrong is no tell: "Y is unhealthy; who serves now?"
        assert keys <= expected + margin(variance, n), (
            f"{kind}: of {n:g} options named in their stem, {keys:g} are the key; "
            f"chance is {expected:.1f}"
        )
    else:  # too few to judge by chance: then no stem names its key
        assert not keys, f"{kind}: a stem names its key"


def no_hint_names_a_wrong_option_unless_it_names_every_option(
    questions: tuple[Question, ...],
) -> None:
    for q in questions:
        hinted = [o.text for o in q.options if not o.correct and names(q.hint, o.text)]
        every = all(names(q.hint, o.text) for o in q.options)
        assert not hinted or every, f"{q.id}: the hint names {hinted[0]!r}: {q.hint}"


def _biased(n: int = 200) -> tuple[Question, ...]:
    """Questions with the tells the checks must catch: the key always first, always the
    longest, always the option the stem names, and 'in that order' never the key."""
    from sandbox.quiz.model import Option

    return tuple(
        Question(
            id=f"q{i}",
            text=f"Which region serves users near us-east-{i % 2 + 1}?",
            options=(
                Option(f"us-east-{i % 2 + 1}, the closest one", True),
                Option("eu-west-1", misconception="not_closest"),
                Option("eu-west-2, in that order", misconception="list_order"),
            ),
            hint="Not eu-west-1.",
        )
        for i in range(n)
    )


@pytest.mark.parametrize(
    ("check", "says"),
    [
        (no_option_wording_predicts_the_key, "is the key 200 of 200 times"),
        (the_keys_letter_is_uniform, "key letters [(0, 200)]"),
        (the_longest_option_is_not_the_key_more_often_than_chance, "the longest option is"),
    ],
)
def test_the_checks_catch_a_tell(check, says):
    with pytest.raises(AssertionError, match=re.escape(says)):
        check("made", _biased())


def test_the_hint_check_catches_a_hint_naming_a_wrong_option():
    with pytest.raises(AssertionError, match="the hint names 'eu-west-1'"):
        no_hint_names_a_wrong_option_unless_it_names_every_option(_biased())
