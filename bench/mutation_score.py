"""The mutation score per file, from `mutmut results --all true` (run by bench/mutation.sh).

Equivalent mutants (docs/testing.md lists them and why) are named in
bench/mutation_equivalent.txt, one mutant name a line; they are counted apart, never as
killed. The score is killed / (all - equivalent)."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENT = ROOT / "bench" / "mutation_equivalent.txt"


def main() -> int:
    out = subprocess.run(
        [str(ROOT / ".venv/bin/mutmut"), "results", "--all", "true"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    equivalent = {
        line.split("#")[0].strip()
        for line in EQUIVALENT.read_text(encoding="utf-8").splitlines()
        if line.split("#")[0].strip()
    }
    by_file: dict[str, Counter[str]] = defaultdict(Counter)
    left: list[str] = []
    for line in out.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if "__mutmut_" not in name:
            continue
        module = name.split(".x")[0]
        status = "equivalent" if name in equivalent else status
        by_file[module][status] += 1
        if status not in ("killed", "equivalent"):
            left.append(f"{name}: {status}")
    total = Counter[str]()
    print(f"{'module':32} {'mutants':>7} {'killed':>6} {'equiv':>5} {'other':>5} {'score':>7}")
    for module in sorted(by_file):
        c = by_file[module]
        total.update(c)
        _row(module, c)
    _row("all", total)
    for line in left:
        print("  " + line)
    return 0


def _row(name: str, c: Counter[str]) -> None:
    n = sum(c.values())
    killed, eq = c["killed"], c["equivalent"]
    other = n - killed - eq
    score = killed / (n - eq) if n > eq else 1.0
    print(f"{name:32} {n:7} {killed:6} {eq:5} {other:5} {score:7.1%}")


if __name__ == "__main__":
    sys.exit(main())
