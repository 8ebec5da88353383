"""The state store's contract (monitor.state.stores.StateStore): every operation behaves the
same on SQLite, MariaDB and PostgreSQL, whichever statements each implementation uses."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from monitor.source.reader import Cursor
from monitor.state.db import make_engine, upgrade
from monitor.state.rows import StateRow
from monitor.state.schema import case_state
from monitor.state.stores import StateStore, store_for
from monitor.state.stores.postgres import PostgresStore
from monitor.state.stores.sql import MariaDbStore, SqliteStore

NOW = datetime(2026, 11, 24, 2, 0, 0, 123456, tzinfo=UTC)
KINDS = {"sqlite": SqliteStore, "mariadb": MariaDbStore, "postgres": PostgresStore}


@pytest.fixture
def states(any_db_url: str) -> Iterator[StateStore]:
    engine = make_engine(any_db_url, create=True)
    upgrade(engine, "state")
    try:
        yield store_for(engine)
    finally:
        engine.dispose()


def _backend(store: StateStore) -> str:
    return next(name for name, kind in KINDS.items() if type(store) is kind)


def _row(
    case_id: str, *, due: datetime | None = NOW, fingerprint: str = "f" * 32, **changes: Any
) -> StateRow:
    row = StateRow(
        case_id, "XK-1", "市场监管局", "licensing", True, due, NOW, "d" * 32, fingerprint,
        None, None, None, NOW - timedelta(days=3), NOW + timedelta(days=5),
    )  # fmt: skip
    return row._replace(**changes)


def _states(engine: Engine) -> dict[str, StateRow]:
    with engine.connect() as conn:
        return {
            r.case_id: StateRow(*r)
            for r in conn.execute(select(*(case_state.c[f] for f in StateRow._fields)))
        }


def _queued(store: StateStore, ids: list[str], now: datetime = NOW) -> None:
    with store.engine.begin() as conn:
        store.mark_due(conn, ids, now)


def test_each_backend_has_its_own_store(states: StateStore, any_db_url: str) -> None:
    expected = (
        "sqlite" if any_db_url.startswith("sqlite") else "mariadb" if "mysql" in any_db_url else "postgres"
    )
    assert _backend(states) == expected


def test_mark_due_gives_a_new_case_a_placeholder_due_now(states: StateStore) -> None:
    with states.engine.begin() as conn:
        assert states.mark_due(conn, ["C2", "C1", "C1"], NOW) == 2
    got = _states(states.engine)
    assert sorted(got) == ["C1", "C2"]
    c1 = got["C1"]
    assert (c1.next_check_at, c1.open, c1.fingerprint, c1.ruleset_digest, c1.evaluated_at) == (
        NOW,
        True,
        "",
        "",
        None,
    )


def test_mark_due_moves_a_check_forward_never_back(states: StateStore) -> None:
    _queued(states, ["EARLY", "LATE", "NONE"])
    with states.engine.begin() as conn:
        states.save_states(
            conn,
            [
                _row("EARLY", due=NOW - timedelta(hours=1)),
                _row("LATE", due=NOW + timedelta(days=2)),
                _row("NONE", due=None),
            ],
        )
        states.mark_due(conn, ["EARLY", "LATE", "NONE"], NOW)
    got = _states(states.engine)
    assert got["EARLY"].next_check_at == NOW - timedelta(hours=1)  # already due earlier: kept
    assert got["LATE"].next_check_at == NOW
    assert got["NONE"].next_check_at == NOW
    assert got["LATE"].fingerprint == "f" * 32  # queueing changes nothing else


def test_claim_due_takes_due_cases_earliest_first_up_to_the_limit(states: StateStore) -> None:
    _queued(states, ["A", "B", "C", "D"])
    with states.engine.begin() as conn:
        states.save_states(
            conn,
            [
                _row("A", due=NOW - timedelta(minutes=1), fingerprint="a"),
                _row("B", due=NOW - timedelta(minutes=3), fingerprint="b"),
                _row("C", due=NOW, fingerprint="c"),
                _row("D", due=NOW + timedelta(seconds=1), fingerprint="d"),
            ],
        )
    with states.engine.begin() as conn:
        assert list(states.claim_due(conn, NOW, 2).items()) == [("B", "b"), ("A", "a")]
    with states.engine.begin() as conn:
        assert states.claim_due(conn, NOW, 10) == {"B": "b", "A": "a", "C": "c"}
    with states.engine.begin() as conn:
        assert states.claim_due(conn, NOW, 10, only=["C", "D", "GHOST"]) == {"C": "c"}


def test_a_claimed_case_is_skipped_by_another_transaction(states: StateStore) -> None:
    if _backend(states) == "sqlite":
        pytest.skip("SQLite has one writer at a time: replicas do not share a SQLite queue")
    _queued(states, ["A", "B"])
    with states.engine.begin() as first:
        assert set(states.claim_due(first, NOW, 1)) <= {"A", "B"}
        held = next(iter(states.claim_due(first, NOW, 1)))
        with states.engine.begin() as second:
            other = states.claim_due(second, NOW, 10)
        assert held not in other and len(other) == 1


def test_due_at_least_counts_claimed_cases_too(states: StateStore) -> None:
    _queued(states, ["A", "B", "C"])
    with states.engine.begin() as conn:
        states.save_states(conn, [_row("C", due=NOW + timedelta(hours=1))])
    with states.engine.begin() as conn:
        states.claim_due(conn, NOW, 2)
        assert states.due_at_least(NOW, 2)
        assert not states.due_at_least(NOW, 3)
    assert states.due_at_least(NOW + timedelta(hours=1), 3)


def test_open_cases_of_items_are_the_open_ones_of_those_items(states: StateStore) -> None:
    _queued(states, ["A", "B", "C", "D"])
    with states.engine.begin() as conn:
        states.save_states(
            conn,
            [
                _row("A"),
                _row("B", open=False),
                _row("C", item_code="XK-2"),
                _row("D", item_code="XK-3"),
            ],
        )
    with states.engine.begin() as conn:
        assert states.open_cases_of_items(conn, ["XK-1", "XK-2", "XK-9"]) == {"A", "C"}
        assert states.open_cases_of_items(conn, []) == set()


def test_save_states_writes_every_field_and_touches_no_other_row(states: StateStore) -> None:
    _queued(states, ["A", "B", "C"])
    closed = _row(
        "A",
        open=False,
        due=None,
        closed_at=NOW - timedelta(hours=2, microseconds=7),
        outcome="overdue",
        limit_share=1.25,
        clock_until=None,
        item_type="penalty",
    )
    opened = _row("B", due=NOW + timedelta(days=1, microseconds=1), clock_from=None)
    with states.engine.begin() as conn:
        states.save_states(conn, [closed])
        states.save_states(conn, [opened])  # a second batch in the same transaction
        states.save_states(conn, [])
    got = _states(states.engine)
    assert got["A"] == closed
    assert got["B"] == opened
    assert got["C"].fingerprint == "" and got["C"].next_check_at == NOW  # still a placeholder


def test_requeue_makes_the_matching_cases_due_and_counts_them(
    states: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import monitor.state.stores.postgres as postgres

    monkeypatch.setattr(postgres, "REQUEUE_CHUNK", 2)  # several chunks on PostgreSQL
    ids = ["A", "B", "C", "D", "E"]
    _queued(states, ids)
    later = NOW + timedelta(days=3)
    with states.engine.begin() as conn:
        states.save_states(
            conn, [_row(c, due=later, item_type="penalty" if c != "E" else "licensing") for c in ids]
        )
    assert states.requeue(case_state.c.item_type == "penalty", NOW) == 4
    got = _states(states.engine)
    assert {c: r.next_check_at for c, r in got.items()} == {
        "A": NOW,
        "B": NOW,
        "C": NOW,
        "D": NOW,
        "E": later,
    }


def test_the_cursor_is_created_locked_and_round_trips(states: StateStore) -> None:
    with states.engine.begin() as conn:
        assert states.read_cursor(conn) == Cursor()
        assert states.lock_cursor(conn, NOW)
        stamp = NOW - timedelta(minutes=4, microseconds=3)
        cursor = Cursor(41, {17: stamp, 39: NOW}, stamp, NOW, {"C1": stamp}, {"XK-1": NOW})
        states.write_cursor(conn, cursor, NOW)
    with states.engine.begin() as conn:
        assert states.lock_cursor(conn, NOW)
        assert states.read_cursor(conn) == cursor


def test_a_held_cursor_is_refused_to_another_transaction(states: StateStore) -> None:
    if _backend(states) == "sqlite":
        pytest.skip("SQLite has one writer at a time: one process reads the source")
    with states.engine.begin() as conn:
        states.lock_cursor(conn, NOW)
    with states.engine.begin() as first:
        assert states.lock_cursor(first, NOW)
        with states.engine.begin() as second:
            assert not states.lock_cursor(second, NOW)


def test_analyze_is_a_statement_the_backend_takes(states: StateStore) -> None:
    _queued(states, ["A"])
    states.analyze()  # a statement the backend refused would raise here
    assert list(_states(states.engine)) == ["A"]
