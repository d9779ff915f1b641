"""Regenerate the bundled model artifacts sandbox/data/model_v1.json, model_v1_1.json and
model_v2.json.

All are logistic-regression churn models, trained by plain gradient descent on a seeded
synthetic customer data set. model_v2 is the retrained model: ten times the customers and
ten times the epochs. model_v1_1 is version 1.1.0 of model_v1 (the same name, so a rollout
can replace 1.0.0 by it behind the same endpoint): twice the customers and epochs. The output
is the same bytes on every run.

Usage: python scripts/make_models.py [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sandbox.core.models import Model, parse_model  # noqa: E402

FEATURES = ("tenure_months", "monthly_spend", "support_tickets")
# The synthetic world's real churn rule, which training tries to recover from samples.
TRUE_WEIGHTS = (-0.06, 0.025, 0.5)
TRUE_BIAS = -1.0
TICKET_ODDS = (30, 25, 15, 10, 8, 6, 4, 2)  # relative frequency of 0, 1, ... 7 support tickets
TRAIN_SEED = 7
HOLDOUT_SEED = 8
HOLDOUT_SIZE = 2000
LEARNING_RATE = 0.5
SMOKE_INSTANCES = (
    (1.0, 95.0, 4.0),  # brand new, pricey plan, many tickets: likely to churn
    (6.0, 110.0, 6.0),
    (24.0, 60.0, 1.0),
    (36.0, 75.5, 2.0),
    (72.0, 30.0, 0.0),  # six years in, cheap plan, no complaints: likely to stay
)


@dataclass(frozen=True)
class Release:
    """One artifact to build: its name, version, file and how much training it gets."""

    name: str
    version: str
    customers: int
    epochs: int
    file: str = ""  # the bundled name (file stem); the model's name when empty

    @property
    def stem(self) -> str:
        return self.file or self.name


RELEASES = (
    Release("model_v1", "1.0.0", customers=200, epochs=40),
    Release("model_v1", "1.1.0", customers=400, epochs=80, file="model_v1_1"),
    Release("model_v2", "2.0.0", customers=2000, epochs=400),
)

Row = tuple[tuple[float, ...], int]


def sigmoid(z: float) -> float:
    """The logistic function, in a form that cannot overflow."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def make_customers(seed: int, count: int) -> list[Row]:
    """`count` customers (tenure, spend, tickets) with a churned (1) or stayed (0) label."""
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        x = (
            float(rng.randint(1, 72)),
            round(rng.uniform(20.0, 120.0), 2),
            float(rng.choices(range(len(TICKET_ODDS)), weights=TICKET_ODDS)[0]),
        )
        p = sigmoid(sum(w * v for w, v in zip(TRUE_WEIGHTS, x, strict=True)) + TRUE_BIAS)
        rows.append((x, int(rng.random() < p)))
    return rows


def train(rows: list[Row], epochs: int) -> tuple[list[float], float]:
    """Full-batch gradient descent on standardized features; weights returned in raw units."""
    n, k = len(rows), len(FEATURES)
    means = [sum(x[j] for x, _ in rows) / n for j in range(k)]
    scales = [math.sqrt(sum((x[j] - means[j]) ** 2 for x, _ in rows) / n) for j in range(k)]
    data = [([(x[j] - means[j]) / scales[j] for j in range(k)], y) for x, y in rows]
    w, b = [0.0] * k, 0.0
    for _ in range(epochs):
        grad_w, grad_b = [0.0] * k, 0.0
        for x, y in data:
            error = sigmoid(sum(wj * xj for wj, xj in zip(w, x, strict=True)) + b) - y
            grad_w = [g + error * xj for g, xj in zip(grad_w, x, strict=True)]
            grad_b += error
        w = [wj - LEARNING_RATE * g / n for wj, g in zip(w, grad_w, strict=True)]
        b -= LEARNING_RATE * grad_b / n
    # w.((x - mean) / scale) + b == (w / scale).x + (b - sum(w * mean / scale))
    weights = [w[j] / scales[j] for j in range(k)]
    return weights, b - sum(w[j] * means[j] / scales[j] for j in range(k))


def build(release: Release) -> tuple[Model, str]:
    """Train one release; return the model and its artifact text."""
    weights, bias = train(make_customers(TRAIN_SEED, release.customers), release.epochs)
    model = Model(
        name=release.name,
        version=release.version,
        kind="logistic",
        weights=tuple(round(w, 6) for w in weights),
        bias=round(bias, 6),
        smoke_instances=SMOKE_INSTANCES,
        smoke_predictions=(),
        features=FEATURES,
    )
    # Rounded far inside TOLERANCE so the bytes do not hang on the last bit of the libm's exp().
    predictions = tuple(round(p, 12) for p in model.predict(SMOKE_INSTANCES))
    model = replace(model, smoke_predictions=predictions)
    text = json.dumps(model.to_dict(), indent=2) + "\n"
    parse_model(json.loads(text), f"{release.stem}.json")  # consistent by construction; check
    return model, text


def evaluate(model: Model, rows: list[Row]) -> tuple[float, float]:
    """Mean log loss and accuracy of `model` on labelled rows."""
    probabilities = model.predict([x for x, _ in rows])
    loss = -sum(
        math.log(p if y else 1.0 - p) for p, (_, y) in zip(probabilities, rows, strict=True)
    )
    correct = sum((p >= 0.5) == bool(y) for p, (_, y) in zip(probabilities, rows, strict=True))
    return loss / len(rows), correct / len(rows)


def main(argv: list[str] | None = None) -> int:
    """Write every artifact into --out and print how each does on held-out customers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "sandbox" / "data",
        help="directory to write the artifacts into (default: sandbox/data)",
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    holdout = make_customers(HOLDOUT_SEED, HOLDOUT_SIZE)
    for release in RELEASES:
        model, text = build(release)
        path = args.out / f"{release.stem}.json"
        path.write_bytes(text.encode("utf-8"))
        loss, accuracy = evaluate(model, holdout)
        print(f"wrote {path}: holdout log loss {loss:.4f}, accuracy {accuracy:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
