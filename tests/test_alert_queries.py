"""The alert queries and a person's actions, now owned by alerts.queries and alerts.lifecycle
instead of the command line: the listing's order and filters, one alert with its history,
acknowledge and close with who and when. On SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from alerts.lifecycle import acknowledge, close
from alerts.queries import alert_with_history, list_alerts
from monitor.config import load_config
from monitor.errors import NotFoundError, SunlightError
from tests.conftest import Harness, bj, case, event, item, write_config


@pytest.fixture
def h(any_db_url: str, tmp_path: Path) -> Iterator[Harness]:
    """Three alerts of one pass: C1 red (no decision in time), C2 yellow and red, C3 red."""
    harness = Harness(load_config(write_config(tmp_path, any_db_url), environ={}))
    harness.load(
        item(),
        case("C1"),
        case("C2"),
        case("C3", code="UNLISTED"),
        event("C1", "accepted", "2026-11-03 09:00"),
        event("C2", "received", "2026-11-16 09:00"),
        event("C2", "decided", "2026-11-17 09:00", result="approved"),
        event("C3", "received", "2026-11-20 09:00"),
    )
    harness.poll(bj("2026-11-25 10:00"))
    yield harness
    harness.app.dispose()


def test_listing_is_newest_first_and_filters_by_level_and_state(h: Harness) -> None:
    later = bj("2026-11-25 11:00")
    with h.app.state.begin() as conn:
        acknowledge(conn, h.alerts()[0].id, "王科长", "已督办", later)
    with h.app.state.connect() as conn:
        everything = list_alerts(conn)
        yellow = list_alerts(conn, level="yellow")
        acknowledged = list_alerts(conn, state="acknowledged")
        open_red = list_alerts(conn, level="red", state="open")
    # One pass raised them all at one instant: the id breaks the tie, newest first.
    assert [a.id for a in everything] == sorted((a.id for a in h.alerts()), reverse=True)
    assert [a.rule_id for a in yellow] == ["disclosure.decision_published"]
    assert [a.id for a in acknowledged] == [h.alerts()[0].id]
    assert {a.level for a in open_red} == {"red"}
    assert h.alerts()[0].id not in {a.id for a in open_red}
    assert len(open_red) == len(everything) - 2


def test_one_alert_comes_with_its_history_in_chain_order(h: Harness) -> None:
    first = h.alerts()[0]
    with h.app.state.begin() as conn:
        acknowledge(conn, first.id, "王科长", "已督办", bj("2026-11-25 11:00"))
        close(conn, first.id, "李处长", "已整改", bj("2026-11-26 09:00"))
    with h.app.state.connect() as conn:
        row, history = alert_with_history(conn, first.id)
    assert row.id == first.id
    assert [x.action for x in history] == ["raised", "acknowledged", "closed"]
    assert [x.actor for x in history][1:] == ["王科长", "李处长"]
    assert [x.chain_seq for x in history] == sorted(x.chain_seq for x in history)


def test_an_unknown_alert_is_not_found_naming_its_id(h: Harness) -> None:
    with h.app.state.connect() as conn, pytest.raises(NotFoundError, match="no alert with the id 9999"):
        alert_with_history(conn, 9999)


def test_close_resolves_with_who_closed_and_when_and_only_once(h: Harness) -> None:
    first = h.alerts()[0]
    at = bj("2026-11-26 09:00")
    with h.app.state.begin() as conn:
        close(conn, first.id, "李处长", "已整改", at)
    closed = next(a for a in h.alerts() if a.id == first.id)
    assert (closed.state, closed.closed_by, closed.resolved_at) == ("resolved", "李处长", at)
    with h.app.state.begin() as conn, pytest.raises(SunlightError, match="is resolved; cannot closed"):
        close(conn, first.id, "李处长", "再次关闭", at)
    with h.app.state.begin() as conn, pytest.raises(SunlightError, match="cannot acknowledged"):
        acknowledge(conn, first.id, "王科长", "已督办", at)
