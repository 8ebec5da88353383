"""`sunlight demo` run again: it refuses a database that holds data, writing nothing;
`--reset` replaces an earlier demo whole; a first run fills an empty database.

Real processes on SQLite, PostgreSQL and MariaDB. The second run comes later the same day,
as in the report of issue 15: the demo's case numbers then name other cases.
"""

from __future__ import annotations

import json
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from monitor.demo import CATALOGUE, demo_records
from monitor.state.db import make_engine
from monitor.state.schema import (
    alert_history,
    alerts,
    case_events,
    cases,
    demo_marks,
    notices,
    power_items,
)
from tests.conftest import bj, case, event, item, run_cli, write_config

CASES = "150"
MORNING = bj("2026-12-04 09:40")
AFTERNOON = bj("2026-12-04 15:00")
TABLES = {
    "items": power_items,
    "cases": cases,
    "events": case_events,
    "alerts": alerts,
    "history": alert_history,
    "notices": notices,
}


def sunlight(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(config, *args, timeout=300)


def demo(config: Path, at: Any, *extra: str) -> subprocess.CompletedProcess[str]:
    return sunlight(config, "demo", "--cases", CASES, "--now", at.isoformat(), *extra)


def counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {
                name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                for name, t in TABLES.items()
            }
    finally:
        engine.dispose()


def source_rows(url: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every case row and event row as stored, in a stable order."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            case_rows = [tuple(r) for r in conn.execute(select(cases).order_by(cases.c.case_id))]
            e = case_events.c
            stored = select(e.event_id, e.case_id, e.kind, e.at).order_by(e.event_id)
            event_rows = [tuple(r) for r in conn.execute(stored)]
            return case_rows, event_rows
    finally:
        engine.dispose()


def kinds_by_case(url: str) -> dict[str, tuple[str | None, set[str]]]:
    """Each stored case's item type (None: not in the catalogue) and its step kinds."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            types = dict(
                conn.execute(
                    select(cases.c.case_id, power_items.c.item_type).outerjoin(
                        power_items, power_items.c.item_code == cases.c.item_code
                    )
                ).all()
            )
            out: dict[str, tuple[str | None, set[str]]] = {cid: (t, set()) for cid, t in types.items()}
            for cid, kind in conn.execute(select(case_events.c.case_id, case_events.c.kind)):
                out[cid][1].add(kind)
            return out
    finally:
        engine.dispose()


def steps_of_each_type() -> dict[str | None, set[str]]:
    """The step kinds the demo gives each item type's cases, at both times of the day."""
    type_of = {i.code: i.item_type for i in CATALOGUE}
    kinds: dict[str | None, set[str]] = defaultdict(set)
    for at in (MORNING, AFTERNOON):
        case_type: dict[str, str | None] = {}
        for rec in demo_records(at, int(CASES)):
            if rec["type"] == "case":
                case_type[rec["case_id"]] = type_of.get(rec["item_code"])
            elif rec["type"] == "event":
                kinds[case_type[rec["case_id"]]].add(rec["kind"])
    return kinds


def expected(at: Any) -> tuple[set[str], set[tuple[str, str, str]]]:
    """The case ids and (event id, case id, kind) of the demo as of `at`."""
    recs = list(demo_records(at, int(CASES)))
    ids = {r["case_id"] for r in recs if r["type"] == "case"}
    evs = {(r["event_id"], r["case_id"], r["kind"]) for r in recs if r["type"] == "event"}
    return ids, evs


@pytest.fixture
def config(tmp_path: Path, any_db_url: str) -> Path:
    return write_config(tmp_path, any_db_url)


def test_a_first_run_on_an_empty_database_loads_the_demo(config: Path, any_db_url: str) -> None:
    first = demo(config, MORNING)
    assert first.returncode == 0, first.stderr
    ids, evs = expected(MORNING)
    assert f"{len(ids)} cases, {len(evs)} events loaded" in first.stdout
    held = counts(any_db_url)
    assert (held["items"], held["cases"], held["events"]) == (len(CATALOGUE), len(ids), len(evs))
    engine = make_engine(any_db_url)
    with engine.connect() as conn:
        mark = conn.execute(select(demo_marks)).one()
    engine.dispose()
    assert (mark.item_rows, mark.case_rows, mark.event_rows) == (len(CATALOGUE), len(ids), len(evs))
    assert mark.seed == 1 and mark.as_of == MORNING


def test_a_second_run_refuses_and_changes_nothing(config: Path, any_db_url: str) -> None:
    assert demo(config, MORNING).returncode == 0
    ran = sunlight(config, "run", "--once", "--now", MORNING.isoformat())
    assert ran.returncode == 0, ran.stderr
    before, rows = counts(any_db_url), source_rows(any_db_url)
    assert before["alerts"] and before["notices"]  # a database in use, not just loaded
    again = demo(config, AFTERNOON)
    assert again.returncode == 2
    [line] = again.stderr.strip().splitlines()  # one line, no traceback
    assert line.startswith("sunlight: the database already holds ")
    assert f"{before['cases']} cases" in line and "nothing written" in line and "--reset" in line
    assert counts(any_db_url) == before
    assert source_rows(any_db_url) == rows
    # The next pass finds nothing new: no case was rewritten, no notice queued.
    after = sunlight(config, "run", "--once", "--now", AFTERNOON.isoformat())
    assert after.returncode == 0, after.stderr
    assert "0 events, " in after.stdout and "0 notices queued" in after.stdout


def test_reset_regenerates_a_consistent_demo(config: Path, any_db_url: str) -> None:
    assert demo(config, MORNING).returncode == 0
    assert sunlight(config, "run", "--once", "--now", MORNING.isoformat()).returncode == 0
    reset = demo(config, AFTERNOON, "--reset")
    assert reset.returncode == 0, reset.stderr
    assert "removed the earlier demo's" in reset.stdout
    # The morning's run anchored the old chain; its anchors are kept aside, not deleted.
    anchors = config.parent / "data" / "audit-anchors.log"
    [aside] = anchors.parent.glob("audit-anchors.log.before-reset-*")
    assert not anchors.exists() and aside.read_text(encoding="utf-8").strip()
    ids, evs = expected(AFTERNOON)
    case_rows, event_rows = source_rows(any_db_url)
    assert {r[0] for r in case_rows} == ids
    assert {(e[0], e[1], e[2]) for e in event_rows} == evs  # the afternoon's demo, and only it
    allowed = steps_of_each_type()
    for case_id, (item_type, kinds) in kinds_by_case(any_db_url).items():
        assert kinds <= allowed[item_type], (case_id, item_type, kinds - allowed[item_type])
    held = counts(any_db_url)
    assert held["alerts"] == held["history"] == held["notices"] == 0  # the morning's are gone with it
    ran = sunlight(config, "run", "--once", "--now", AFTERNOON.isoformat())
    assert ran.returncode == 0, ran.stderr
    assert f"{len(ids)} cases evaluated" in ran.stdout
    verified = sunlight(config, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("ok: ") and "history rows intact" in verified.stdout


def test_reset_refuses_data_the_demo_did_not_load(config: Path, any_db_url: str, tmp_path: Path) -> None:
    records = [item("XK-1"), case("C1"), event("C1", "received", "2026-12-01 09:00")]
    own = tmp_path / "own.jsonl"
    own.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    assert sunlight(config, "db", "upgrade").returncode == 0  # a platform's own data, loaded the usual way
    assert sunlight(config, "import", str(own)).returncode == 0
    before = counts(any_db_url)
    refused = demo(config, AFTERNOON, "--reset")
    assert refused.returncode == 2
    assert "did not load" in refused.stderr and "nothing removed" in refused.stderr
    assert counts(any_db_url) == before


def test_reset_refuses_a_demo_database_that_other_data_joined(
    config: Path, any_db_url: str, tmp_path: Path
) -> None:
    assert demo(config, MORNING).returncode == 0
    extra = tmp_path / "extra.jsonl"
    extra.write_text(json.dumps(case("C1", "330100-XK-0001"), ensure_ascii=False) + "\n", encoding="utf-8")
    assert sunlight(config, "import", str(extra)).returncode == 0
    before = counts(any_db_url)
    refused = demo(config, AFTERNOON, "--reset")
    assert refused.returncode == 2
    assert "other data was added since" in refused.stderr
    assert counts(any_db_url) == before


def test_if_empty_leaves_a_database_that_holds_data(config: Path, any_db_url: str) -> None:
    assert demo(config, MORNING).returncode == 0
    before, rows = counts(any_db_url), source_rows(any_db_url)
    kept = demo(config, AFTERNOON, "--if-empty")
    assert kept.returncode == 0, kept.stderr
    assert "demo data not loaded: the database already holds" in kept.stdout
    assert counts(any_db_url) == before and source_rows(any_db_url) == rows


def test_demo_refuses_a_source_sunlight_does_not_own(tmp_path: Path) -> None:
    platform = tmp_path / "platform.db"
    config = write_config(
        tmp_path,
        f"sqlite:///{tmp_path / 'state.db'}",
        database={"source_url": f"sqlite:///{platform}"},
    )
    refused = demo(config, MORNING)
    assert refused.returncode == 2
    assert "does not own" in refused.stderr and "no demo there" in refused.stderr
    assert not platform.exists()  # not even opened
