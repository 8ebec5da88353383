"""The 督办 service's SQL on SQLite, PostgreSQL and MariaDB: the loop, the yearly numbers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from alerts.supervision import of_alert, reply, rule, supervise
from alerts.supervision.loop import raise_overdue
from monitor.config import load_config
from tests.conftest import Harness, bj, scratch_database, write_config
from tests.supervision_helpers import DEPT, OFFICE, alert, red_alert, settings_of


def _harness(tmp_path: Path, url: str) -> Harness:
    return Harness(load_config(write_config(tmp_path, url), environ={}))


@pytest.fixture
def db(any_db_url: str, tmp_path: Path) -> Iterator[Harness]:
    h = _harness(tmp_path, any_db_url)
    yield h
    h.app.dispose()


def _issue(h: Harness, alert_id: int, now: Any, conn: Any = None) -> Any:
    if conn is not None:
        return supervise(
            conn,
            OFFICE,
            alert_id,
            demand="rectify",
            reply_within_days=3,
            note="",
            now=now,
            settings=settings_of(h),
        )
    with h.app.state.begin() as own:
        return _issue(h, alert_id, now, own)


def test_the_whole_loop_on_each_backend(db: Harness) -> None:
    settings = settings_of(db)
    alert_id = red_alert(db)
    issued_at = bj("2026-11-13 11:00")
    s = _issue(db, alert_id, issued_at)
    assert (s.number, s.reply_due) == ("〔2026〕1号", bj("2026-11-19 00:00"))
    assert raise_overdue(db.app.state, settings, bj("2026-11-18 23:59")) == 0
    assert raise_overdue(db.app.state, settings, bj("2026-11-19 00:00")) == 1
    assert raise_overdue(db.app.state, settings, bj("2026-11-19 00:05")) == 0  # once
    with db.app.state.begin() as conn:
        replied = reply(
            conn,
            DEPT,
            alert_id,
            kind="rectified",
            text="已整改",
            now=bj("2026-11-19 09:00"),
            settings=settings,
        )
    assert replied.overdue_alert_id is not None
    assert alert(db.app.state, replied.overdue_alert_id).state == "resolved"
    with db.app.state.begin() as conn:
        rule(
            conn,
            OFFICE,
            alert_id,
            decision="accepted",
            note="",
            now=bj("2026-11-19 10:00"),
            settings=settings,
        )
        [done] = of_alert(conn, DEPT, alert_id, now=bj("2026-11-19 10:00"))
    assert done.state == "ruled" and not done.open
    assert db.verify().ok


def test_numbers_run_by_the_year_of_beijing_time(db: Harness) -> None:
    first, second, third = (red_alert(db, f"C{i}") for i in range(3))
    assert _issue(db, first, bj("2026-12-31 10:00")).number == "〔2026〕1号"
    assert _issue(db, second, bj("2026-12-31 23:59")).number == "〔2026〕2号"
    # 00:10 on 1 January in Beijing is still 31 December in UTC: the new year's first.
    assert _issue(db, third, bj("2027-01-01 00:10")).number == "〔2027〕1号"


@pytest.mark.parametrize("kind", ["postgres", "mariadb"])
def test_two_supervisions_at_once_get_different_numbers(tmp_path: Path, kind: str) -> None:
    with scratch_database(kind) as url:
        h = _harness(tmp_path, url)
        try:
            one, two = red_alert(h, "C1"), red_alert(h, "C2")
            now = bj("2026-11-13 11:00")
            numbers: list[str] = []
            errors: list[BaseException] = []
            first = h.app.state.connect()
            tx = first.begin()
            numbers.append(_issue(h, one, now, first).number)  # not committed yet

            def other() -> None:
                try:
                    numbers.append(_issue(h, two, now).number)  # picks the same number, then the next
                except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                    errors.append(exc)

            worker = threading.Thread(target=other)
            worker.start()
            worker.join(timeout=1.0)
            assert worker.is_alive()  # waiting for the first transaction
            tx.commit()
            first.close()
            worker.join(timeout=30)
            assert not errors, errors
            assert sorted(numbers) == ["〔2026〕1号", "〔2026〕2号"]
            assert h.verify().ok
        finally:
            h.app.dispose()


def test_a_second_daemon_raises_nothing_more(db: Harness) -> None:
    settings = settings_of(db)
    alert_id = red_alert(db)
    _issue(db, alert_id, bj("2026-11-13 11:00"))
    at = bj("2026-11-19 08:00")
    results = [raise_overdue(db.app.state, settings, at + timedelta(seconds=i)) for i in range(3)]
    assert results == [1, 0, 0]
    overdue = [a for a in db.alerts() if a.category == "supervision"]
    assert len(overdue) == 1


@pytest.mark.parametrize("kind", ["postgres", "mariadb"])
def test_two_daemons_at_once_raise_one_overdue_alert(tmp_path: Path, kind: str) -> None:
    with scratch_database(kind) as url:
        h = _harness(tmp_path, url)
        try:
            settings = settings_of(h)
            for i in range(4):
                _issue(h, red_alert(h, f"C{i}"), bj("2026-11-13 11:00"))
            at = bj("2026-11-19 08:00")
            counts: list[int] = []
            barrier = threading.Barrier(2)

            def daemon() -> None:
                barrier.wait()
                counts.append(raise_overdue(h.app.state, settings, at))

            threads = [threading.Thread(target=daemon) for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
            assert sum(counts) == 4
            assert len([a for a in h.alerts() if a.category == "supervision"]) == 4
            assert h.verify().ok
        finally:
            h.app.dispose()
