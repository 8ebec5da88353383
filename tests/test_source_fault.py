"""A source that looks empty is an outage, not a fact: no alert is raised or cured on it.

Every test starts from the same source (40 cases, one catalogue item each; 20 of them
yellow), lets the daemon evaluate it, breaks the source the way real outages do, and makes
every case due (as time does) so that a daemon that believed the source would act on it:
raise data_quality.bad_record and catalogue.unlisted_power, cure the yellows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from monitor.config import load_config
from monitor.errors import ConfigError
from monitor.source import health
from monitor.state.schema import case_state
from tests.conftest import Harness, bj, case, event, item, scratch_database, write_config

FIRST = bj("2026-11-20 10:00")
LATER = bj("2026-11-20 10:05")
AFTER = bj("2026-11-20 10:10")
TABLES = ("power_items", "cases", "case_events")
YELLOW = {(f"C{n:02}", "yellow") for n in range(20, 40)}


@pytest.fixture(params=["sqlite", "postgres", "mariadb"])
def source(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    """A harness (min_rows 10) over a source evaluated once: 20 clean cases, 20 yellow."""
    if request.param == "sqlite":
        yield from _harness(tmp_path, f"sqlite:///{tmp_path / 'sunlight.db'}")
        return
    with scratch_database(request.param) as url:
        yield from _harness(tmp_path, url)


def _harness(tmp_path: Path, url: str) -> Iterator[Harness]:
    h = Harness(load_config(write_config(tmp_path, url, source={"min_rows": 10}), environ={}))
    records: list[dict[str, Any]] = []
    for n in range(40):
        # Accepted on 11-16: yellow from 11-20 (4 of 5 working days); on 11-19: clean.
        accepted = "2026-11-19 09:00" if n < 20 else "2026-11-16 09:00"
        records += [item(f"XK-{n}"), case(f"C{n:02}", f"XK-{n}"), event(f"C{n:02}", "accepted", accepted)]
    h.load(*records)
    first = h.poll(FIRST)
    assert first.cases_evaluated == 40 and first.source_fault is None
    assert _open(h) == YELLOW
    try:
        yield h
    finally:
        h.app.dispose()


def _open(h: Harness) -> set[tuple[str, str]]:
    return {(a.case_id, a.level) for a in h.alerts() if a.state == "open"}


def _sql(h: Harness, *statements: str) -> None:
    with h.app.source.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


def _all_due(h: Harness, now: datetime) -> None:
    """Every case due, as its next check or a rule change makes it."""
    with h.app.state.begin() as conn:
        ids = list(conn.execute(select(case_state.c.case_id)).scalars())
        h.pipeline.store.mark_due(conn, ids, now)


def _fault_gauge(h: Harness, table: str) -> float | None:
    return h.app.metrics.registry.get_sample_value("sunlight_source_fault", {"table": table})


def _faults_counted(h: Harness, table: str) -> float | None:
    return h.app.metrics.registry.get_sample_value("sunlight_source_faults_total", {"table": table})


def _ready(h: Harness) -> tuple[bool, str]:
    from monitor.daemon.run import Daemon

    daemon = Daemon(h.app)
    daemon.pipeline = h.pipeline
    daemon.started = True  # as Daemon.run leaves it once the databases answered
    readiness = daemon.ready()
    return readiness.ok, readiness.body()


def _assert_paused(h: Harness, table: str, before: list[Any], notices: int) -> None:
    """The pass read nothing and changed nothing, and the metric and /readyz say why."""
    result = h.poll(LATER)
    assert result.cases_evaluated == 0 and result.transitions == 0
    assert result.source_fault is not None and table in result.source_fault
    assert [(a.id, a.state, a.level, a.version) for a in h.alerts()] == [
        (a.id, a.state, a.level, a.version) for a in before
    ]
    assert len(h.notices()) == notices
    assert _fault_gauge(h, table) == 1.0
    assert _faults_counted(h, table) == 1.0
    ok, why = _ready(h)
    assert not ok and why.startswith(f"not ready\nsource: {table} ") and "evaluation paused" in why


def _assert_resumed(h: Harness, table: str) -> None:
    """The source is back: the pass evaluates every case and no false alert remains."""
    _all_due(h, AFTER)
    result = h.poll(AFTER)
    assert result.source_fault is None and result.cases_evaluated == 40
    assert _open(h) == YELLOW
    assert [a for a in h.alerts() if a.state == "resolved"] == []
    assert _fault_gauge(h, table) == 0.0
    assert _ready(h)[0]


def _backup(h: Harness, table: str) -> None:
    _sql(h, f"CREATE TABLE {table}_backup AS SELECT * FROM {table}")


@pytest.mark.parametrize("table", TABLES)
def test_an_emptied_table_pauses_evaluation_until_it_is_restored(
    source: Harness, table: str, caplog: pytest.LogCaptureFixture
) -> None:
    before, notices = source.alerts(), len(source.notices())
    _backup(source, table)
    _sql(source, f"DELETE FROM {table}")
    _all_due(source, LATER)
    with caplog.at_level(logging.ERROR, logger="monitor.daemon.poll"):
        _assert_paused(source, table, before, notices)
    [line] = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert line.startswith(f"source fault: {table} holds 0 rows, 40 were seen at 2026-11-20T02:00:00")
    assert line.endswith("evaluation paused") and "\n" not in line
    # A second paused pass says nothing new: one line when the fault begins.
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="monitor.daemon.poll"):
        assert source.poll(LATER).source_fault is not None
    assert [r for r in caplog.records if r.levelno == logging.ERROR] == []
    _sql(source, f"INSERT INTO {table} SELECT * FROM {table}_backup")
    _assert_resumed(source, table)


def test_most_rows_lost_is_a_fault_and_a_half_restored_table_is_still_one(source: Harness) -> None:
    before, notices = source.alerts(), len(source.notices())
    _backup(source, "cases")
    _sql(source, "DELETE FROM cases WHERE case_id NOT IN ('C00', 'C01', 'C20', 'C21')")  # 90 % gone
    _all_due(source, LATER)
    _assert_paused(source, "cases", before, notices)
    assert "cases holds 4 rows, 40 were seen" in _ready(source)[1]
    # Restoring: 30 of 40 back is within max_drop_fraction, but not yet resume_fraction (0.9).
    _sql(
        source,
        "INSERT INTO cases SELECT * FROM cases_backup"
        " WHERE case_id BETWEEN 'C02' AND 'C19' OR case_id BETWEEN 'C22' AND 'C29'",
    )
    assert source.poll(LATER).source_fault is not None
    assert [(a.id, a.state, a.version) for a in source.alerts()] == [
        (a.id, a.state, a.version) for a in before
    ]
    _sql(source, "DELETE FROM cases", "INSERT INTO cases SELECT * FROM cases_backup")
    _assert_resumed(source, "cases")


def test_a_table_that_vanishes_is_a_fault_not_a_failing_pass(source: Harness) -> None:
    before, notices = source.alerts(), len(source.notices())
    _sql(source, "ALTER TABLE case_events RENAME TO case_events_away")
    _all_due(source, LATER)
    _assert_paused(source, "case_events", before, notices)
    assert "case_events cannot be read" in _ready(source)[1]
    _sql(source, "ALTER TABLE case_events_away RENAME TO case_events")
    _assert_resumed(source, "case_events")


def test_a_table_swapped_for_an_empty_view_is_a_fault(source: Harness) -> None:
    before, notices = source.alerts(), len(source.notices())
    _sql(
        source,
        "ALTER TABLE cases RENAME TO cases_real",
        "CREATE VIEW cases AS SELECT * FROM cases_real WHERE 1 = 0",
    )
    _all_due(source, LATER)
    _assert_paused(source, "cases", before, notices)
    _sql(source, "DROP VIEW cases", "ALTER TABLE cases_real RENAME TO cases")
    _assert_resumed(source, "cases")


def test_events_going_back_behind_the_cursor_are_a_fault(source: Harness) -> None:
    """A restore from an older backup: a few rows fewer (the last steps of three yellow
    cases), but the newest seq is below what was read, so whatever is written next would be
    skipped or misread."""
    before, notices = source.alerts(), len(source.notices())
    _backup(source, "case_events")
    _sql(source, "DELETE FROM case_events WHERE seq > 37")
    _all_due(source, LATER)
    _assert_paused(source, "case_events", before, notices)
    assert "case_events goes back: its newest seq is 37, 40 was already read" in _ready(source)[1]
    _sql(source, "INSERT INTO case_events SELECT * FROM case_events_backup WHERE seq > 37")
    _assert_resumed(source, "case_events")


def test_case_times_going_back_behind_the_watermark_are_a_fault(source: Harness) -> None:
    """Every case's updated_at a day older than what the reader already read."""
    before, notices = source.alerts(), len(source.notices())
    _backup(source, "cases")
    _sql(source, "DELETE FROM cases", "INSERT INTO cases SELECT * FROM cases_backup")
    stamp = "2026-11-18 00:00:00"
    _sql(source, f"UPDATE cases SET updated_at = '{stamp}'")
    _all_due(source, LATER)
    _assert_paused(source, "cases", before, notices)
    assert "cases goes back: its newest updated_at is 2026-11-18T00:00:00" in _ready(source)[1]
    _sql(source, "DELETE FROM cases", "INSERT INTO cases SELECT * FROM cases_backup")
    _assert_resumed(source, "cases")


def test_a_catalogue_shrunk_massively_raises_no_unlisted_power(source: Harness) -> None:
    before, notices = source.alerts(), len(source.notices())
    _backup(source, "power_items")
    _sql(source, "DELETE FROM power_items WHERE item_code NOT IN ('XK-0', 'XK-1', 'XK-2', 'XK-3')")
    _all_due(source, LATER)
    _assert_paused(source, "power_items", before, notices)
    assert not [a for a in source.alerts() if a.rule_id == "catalogue.unlisted_power"]
    _sql(
        source,
        "INSERT INTO power_items SELECT * FROM power_items_backup WHERE item_code NOT IN "
        "('XK-0', 'XK-1', 'XK-2', 'XK-3')",
    )
    _assert_resumed(source, "power_items")


def test_a_small_genuine_deletion_is_processed(source: Harness) -> None:
    """Two cases deleted with their events: below max_drop_fraction, so the pass evaluates."""
    _sql(
        source,
        "DELETE FROM case_events WHERE case_id IN ('C05', 'C25')",
        "DELETE FROM cases WHERE case_id IN ('C05', 'C25')",
    )
    _all_due(source, LATER)
    result = source.poll(LATER)
    assert result.source_fault is None and result.cases_evaluated == 40
    assert all(_fault_gauge(source, t) == 0.0 for t in TABLES)
    assert _ready(source)[0]
    # The deleted cases are evaluated as the source now has them: a case without its record.
    found = {(a.case_id, a.rule_id, a.state) for a in source.alerts() if a.case_id in ("C05", "C25")}
    assert found == {
        ("C25", "licensing.decide_within_promise", "resolved"),
        ("C05", "data_quality.bad_record", "open"),
        ("C25", "data_quality.bad_record", "open"),
    }


def test_a_restart_during_the_fault_still_compares_with_the_source_as_it_was(
    source: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    before = source.alerts()
    _sql(source, "DELETE FROM cases")
    assert source.poll(LATER).source_fault is not None
    restarted = Harness(source.config)
    try:
        _all_due(restarted, LATER)
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="monitor.daemon.poll"):
            result = restarted.poll(LATER)
        assert result.source_fault is not None and "40 were seen" in result.source_fault
        assert [(a.id, a.version) for a in restarted.alerts()] == [(a.id, a.version) for a in before]
        # The restarted process says so in its own log, though the fault began before it.
        assert [r.getMessage()[:33] for r in caplog.records] == ["source fault: cases holds 0 rows,"]
    finally:
        restarted.app.dispose()


def test_a_refused_connection_fails_the_pass_and_is_no_source_fault(source: Harness) -> None:
    """A server that is down is not an empty source: the pass fails and is retried, as before."""
    from monitor.daemon.run import Daemon
    from monitor.state.db import make_engine

    before = source.alerts()
    daemon = Daemon(source.app)
    daemon.pipeline = source.pipeline
    real, refused = source.pipeline.source, make_engine("postgresql+psycopg://postgres@127.0.0.1:1/test")
    source.pipeline.source = source.pipeline.reader.engine = refused
    try:
        _all_due(source, LATER)
        assert daemon.run_pass() is False
        errors = source.app.metrics.registry.get_sample_value("sunlight_passes_total", {"result": "error"})
        assert errors == 1.0
        assert source.pipeline.source_faults == {} and all(_fault_gauge(source, t) == 0.0 for t in TABLES)
        with source.app.state.connect() as conn:
            assert health.stored_faults(conn).ok
        assert [(a.id, a.version) for a in source.alerts()] == [(a.id, a.version) for a in before]
    finally:
        source.pipeline.source = source.pipeline.reader.engine = real
        refused.dispose()
    assert daemon.run_pass() is True  # the server is back: the due cases are evaluated


def test_evaluation_only_processes_obey_the_recorded_fault(source: Harness) -> None:
    from monitor.daemon.poll import poll_once

    _sql(source, "DELETE FROM cases")
    assert source.poll(LATER).source_fault is not None
    _all_due(source, LATER)
    result = poll_once(source.pipeline, LATER, ingest=False)
    assert result.cases_evaluated == 0 and "cases holds 0 rows" in (result.source_fault or "")


def test_accept_confirms_a_genuine_mass_deletion(source: Harness) -> None:
    """The operator confirms: the figures now are the ones known, and evaluation resumes."""
    from typer.testing import CliRunner

    from monitor.cli import app

    _sql(
        source,
        "DELETE FROM case_events WHERE case_id > 'C03'",
        "DELETE FROM cases WHERE case_id > 'C03'",
    )
    assert source.poll(LATER).source_fault is not None
    config = source.config.base_dir / "config.yaml"
    status = CliRunner().invoke(app, ["--config", str(config), "source", "status"])
    assert status.exit_code == 0, status.output
    assert "cases" in status.output and "FAULT" in status.output
    accepted = CliRunner().invoke(
        app, ["--config", str(config), "source", "accept", "--by", "王运维", "--note", "2025年办件迁出"]
    )
    assert accepted.exit_code == 0, accepted.output
    assert "accepted by 王运维" in accepted.output
    _all_due(source, AFTER)
    result = source.poll(AFTER)
    assert result.source_fault is None and result.cases_evaluated == 40
    with source.app.state.connect() as conn:
        known = health.read_known(conn)
    assert known["cases"].rows == 4 and known["cases"].fault is None


def test_run_once_says_the_source_is_at_fault_and_exits_1(source: Harness) -> None:
    from typer.testing import CliRunner

    from monitor.cli import app

    _sql(source, "DELETE FROM power_items")
    config = source.config.base_dir / "config.yaml"
    ran = CliRunner().invoke(app, ["--config", str(config), "run", "--once", "--now", LATER.isoformat()])
    assert ran.exit_code == 1
    assert "source fault: power_items holds 0 rows, 40 were seen" in ran.output


def test_a_new_installation_fills_from_empty_without_a_fault(tmp_path: Path, sqlite_url: str) -> None:
    h = Harness(load_config(write_config(tmp_path, sqlite_url), environ={}))
    try:
        assert h.poll(FIRST).source_fault is None  # empty: nothing known, nothing to lose
        h.load(item(), case("C1"), event("C1", "accepted", "2026-11-16 09:00"))
        assert h.poll(LATER).cases_evaluated == 1
        _sql(h, "DELETE FROM case_events", "DELETE FROM cases")  # below min_rows: not judged
        result = h.poll(AFTER)
        assert result.source_fault is None
    finally:
        h.app.dispose()


def test_resume_fraction_below_what_a_fault_leaves_is_rejected(tmp_path: Path) -> None:
    path = write_config(tmp_path, "sqlite://", source={"max_drop_fraction": 0.5, "resume_fraction": 0.4})
    with pytest.raises(ConfigError, match=r"`source`: .*resume_fraction \(0.4\) must be at least"):
        load_config(path, environ={})
