"""Evaluation alone, in memory: `evaluate()` over the province benchmark's cases (not a test).

    .venv/bin/python bench/evaluate.py [--cases 20000] [--cel-only] [--screen] [--mix quiet|realistic]

Builds the cases `bench/province.py` loads (same generator, same seed) as `Case` objects,
then times `evaluate` with the 46 shipped rules on one core. `--cel-only` turns the fast path
off (every condition through the CEL engine), to show what it saves. `--screen` times what a
pass runs: `evaluate` through the screen (monitor.engine.screen), the memo of each case's shape.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

# Appended, not prepended: an installed build (a compiled one, see setup.py) comes first.
sys.path.append(str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from province import MIXES, NOW, case_rows, items

from monitor.calendar import WorkCalendar
from monitor.engine import build, evaluate, load_ruleset
from monitor.engine.screen import Screen
from monitor.model import Case
from monitor.source.records import case_from_rows, item_from_row

ITEM_COLUMNS = (
    "item_code",
    "name",
    "item_type",
    "department",
    "legal_limit",
    "promised_limit",
    "limit_unit",
    "fee_standard",
    "attributes",
    "updated_at",
)
CASE_COLUMNS = (
    "case_id",
    "item_code",
    "department",
    "applicant_name",
    "applicant_id_number",
    "applicant_phone",
    "attributes",
    "updated_at",
)
EVENT_COLUMNS = ("event_id", "case_id", "kind", "at", "actors", "attributes", "ingested_at")


def build_cases(n: int, mix: str = "quiet") -> list[Case]:
    catalogue = {row[0]: item_from_row(dict(zip(ITEM_COLUMNS, row, strict=True))) for row in items()}
    out = []
    seq = 0
    for case, events in case_rows(n, 2, mix):
        record: dict[str, Any] = dict(zip(CASE_COLUMNS, case, strict=True))
        rows = []
        for ev in events:
            seq += 1
            rows.append({"seq": seq, **dict(zip(EVENT_COLUMNS, ev, strict=True))})
        cid = record["case_id"]
        out.append(case_from_rows(cid, record, catalogue[record["item_code"]], rows))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--cel-only", action="store_true", help="turn the fast path off")
    parser.add_argument("--screen", action="store_true", help="through the screen, as a pass runs")
    parser.add_argument("--mix", choices=MIXES, default="quiet", help="the province bench's case mix")
    args = parser.parse_args()
    rules = load_ruleset(Path(__file__).resolve().parent.parent / "rules")
    if args.cel_only:
        slow = {src: tuple(step._replace(fast=None) for step in steps) for src, steps in rules.steps.items()}
        rules = dataclasses.replace(rules)
        object.__setattr__(rules, "steps", slow)
    calendar = WorkCalendar.default()
    cases = build_cases(args.cases, args.mix)
    evaluate(cases[0], rules, calendar, NOW)  # warm up
    best = float("inf")
    shapes = 0
    alerting = sum(bool(evaluate(case, rules, calendar, NOW).findings) for case in cases)
    for _ in range(3):
        screen = Screen(rules, calendar)  # a new one each round: its memos are part of the cost
        started = time.perf_counter()
        if args.screen:
            for case in cases:
                screen.evaluate(case, NOW)
        else:
            for case in cases:
                evaluate(case, rules, calendar, NOW)
        best = min(best, time.perf_counter() - started)
        shapes = screen.shapes
    mode = ("CEL only" if args.cel_only else "fast path") + f", {args.mix} mix"
    if args.screen:
        mode += f", screen ({shapes:,} shapes)"
    print(
        f"{len(cases):,} cases ({alerting:,} with findings), {rules.rule_count} rules, {mode}, "
        f"{build()} engine: best of 3 {best:.2f}s = "
        f"{best / len(cases) * 1e6:.0f} µs a case, {len(cases) / best:,.0f} cases/s on one core"
    )


if __name__ == "__main__":
    main()
