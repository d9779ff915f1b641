"""`make bench`: every `bench_*.py` script in this folder, one after the other (so that they do
not compete for the cores), and every figure in one table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from _common import print_table

HERE = Path(__file__).resolve().parent


def main() -> int:
    rows, notes = [], []
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"running {script.name} ...", file=sys.stderr, flush=True)
        done = subprocess.run(
            [sys.executable, str(script), "--json"], capture_output=True, text=True, cwd=HERE
        )
        if done.returncode != 0:
            print(done.stdout, done.stderr, sep="\n", file=sys.stderr)
            return 1
        result = json.loads(done.stdout.splitlines()[-1])
        rows += [tuple(r) for r in result["rows"]]
        notes.append(f"{script.stem}: {result['note']}")
    print_table(rows, "\n".join(notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
