"""The same path on SQLite, PostgreSQL and MariaDB: schema, import, pass, alerts, history."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete, insert, select, update

from monitor.config import load_config
from monitor.source.reader import Cursor
from monitor.state.schema import alert_history, case_events, power_items
from tests.conftest import Harness, bj, case, event, item, write_config


def test_pipeline_on_each_backend(any_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import monitor.daemon.poll

    monkeypatch.setattr(monitor.daemon.poll, "ANALYZE_AFTER", 1)  # exercise the statistics refresh
    h = Harness(load_config(write_config(tmp_path, any_db_url), environ={}))
    try:
        h.app.upgrade()  # a second upgrade is a no-op
        h.load(
            item(),
            item("CF-1", item_type="penalty", promised=None, legal=90, unit="natural_days"),
            case("C1", attr="值"),
            case("C2"),
            case("C3", code="UNLISTED"),
            event("C1", "accepted", "2026-11-03 09:00"),
            event("C2", "received", "2026-11-16 09:00"),
            event("C2", "decided", "2026-11-17 09:00", result="approved"),
            event("C3", "received", "2026-11-20 09:00"),
        )
        h.load(case("C1", attr="值"))  # unchanged: idempotent
        # C2 was decided on 11-17: 7 working days end 11-26; yellow with 2 days left, on 11-25.
        h.poll(bj("2026-11-25 10:00"))
        h.poll(bj("2026-11-25 10:05"))
        got = sorted((a.case_id, a.rule_id, a.level) for a in h.alerts())
        assert got == [
            ("C1", "licensing.decide_within_promise", "red"),
            ("C2", "disclosure.decision_published", "yellow"),
            ("C2", "licensing.no_decision_without_acceptance", "red"),
            ("C3", "catalogue.unlisted_power", "red"),
        ]
        # Microseconds and time zones survive the round trip on every backend.
        red = next(a for a in h.alerts() if a.case_id == "C1")
        assert red.due == bj("2026-11-11 00:00")
        with h.app.state.connect() as conn:
            assert h.verify().ok
            # The four alerts were raised in one batch; each history row names its own alert.
            raised = conn.execute(
                select(alert_history.c.alert_id, alert_history.c.detail).where(
                    alert_history.c.action == "raised"
                )
            ).all()
        assert sorted((alert_id, detail["message"]) for alert_id, detail in raised) == [
            (a.id, a.message) for a in h.alerts()
        ]
    finally:
        h.app.dispose()


def _commit_event(h: Harness, seq: int, case_id: str) -> None:
    """An event with a chosen `seq`, committed on its own, as a platform's writer would."""
    with h.app.source.begin() as conn:
        conn.execute(
            insert(case_events).values(
                seq=seq,
                event_id=f"e{seq}",
                case_id=case_id,
                kind="accepted",
                at=bj("2026-11-03 09:00"),
                actors=[],
                attributes={},
                ingested_at=bj("2026-11-23 10:00"),
            )
        )


def test_an_event_that_commits_late_with_a_lower_seq_is_not_lost(any_db_url: str, tmp_path: Path) -> None:
    h = Harness(load_config(write_config(tmp_path, any_db_url), environ={}))
    try:
        h.load(item(), case("C1"), case("C2"))
        now = bj("2026-11-23 10:00")
        # seq 10 commits first; seq 5 (taken earlier by a slower transaction) commits later.
        _commit_event(h, 10, "C1")
        first, cursor = h.pipeline.reader.changes(Cursor(), now)
        assert first.case_ids == {"C1"}  # a first start queues cases by their events
        assert cursor.position == 10 and set(cursor.gaps) == set(range(1, 10))
        _commit_event(h, 5, "C2")
        second, cursor = h.pipeline.reader.changes(cursor, now)
        assert second.case_ids == {"C2"}
        assert 5 not in cursor.gaps
        with h.app.source.connect() as conn:
            assert conn.execute(select(case_events.c.seq).order_by(case_events.c.seq)).scalars().all() == [
                5,
                10,
            ]
    finally:
        h.app.dispose()


def test_states_saved_in_two_batches_of_one_transaction_all_land(any_db_url: str, tmp_path: Path) -> None:
    from datetime import timedelta

    from monitor.state.rows import StateRow
    from monitor.state.schema import case_state

    h = Harness(load_config(write_config(tmp_path, any_db_url), environ={}))
    try:
        h.load(
            item(),
            case("C1"),
            case("C2"),
            case("C3"),
            *(event(c, "accepted", "2026-11-03 09:00") for c in ("C1", "C2", "C3")),
        )
        h.poll(bj("2026-11-04 10:00"))
        later = bj("2026-11-05 10:30")
        rows = [
            StateRow(
                c,
                "XK-1",
                "市场监管局",
                "licensing",
                n != 2,
                later + timedelta(microseconds=n),
                later,
                "d" * 32,
                "f" * 32,
                None,
                out,
                share,
                None,
                None,
            )
            for n, (c, share, out) in enumerate(
                (("C1", 0.25, "early"), ("C2", None, None), ("C3", 1.5, "overdue"))
            )
        ]
        with h.app.state.begin() as conn:
            h.pipeline.store.save_states(conn, rows[:2])
            h.pipeline.store.save_states(conn, rows[2:])  # a second batch in the same transaction
        with h.app.state.connect() as conn:
            got = conn.execute(
                select(
                    case_state.c.case_id,
                    case_state.c.next_check_at,
                    case_state.c.limit_share,
                    case_state.c.outcome,
                    case_state.c.open,
                ).order_by(case_state.c.case_id)
            ).all()
        assert [tuple(r) for r in got] == [
            (r.case_id, r.next_check_at, r.limit_share, r.outcome, r.open) for r in rows
        ]
    finally:
        h.app.dispose()


def test_changes_to_alerts_made_meanwhile_fail_the_whole_batch(any_db_url: str, tmp_path: Path) -> None:
    from sqlalchemy import update

    from alerts.lifecycle import AlertConflictError, CaseFindings, alerts_of, reconcile
    from monitor.model import Category, Finding, Level
    from monitor.state.schema import alerts

    h = Harness(load_config(write_config(tmp_path, any_db_url), environ={}))
    now = bj("2026-11-24 10:00")
    yellow = Finding("r.one", "规则", Category.TIME_LIMIT, Level.YELLOW, "即将超期")
    try:
        with h.app.state.begin() as conn:
            raised = reconcile(conn, [CaseFindings(c, "X", "市局", [yellow], []) for c in ("C1", "C2")], now)
        assert [t.action for c in ("C1", "C2") for t in raised[c]] == ["raised", "raised"]
        with h.app.state.connect() as conn:
            stale = alerts_of(conn, ["C1", "C2"])
        with h.app.state.begin() as conn:  # someone acknowledges C2's alert meanwhile
            conn.execute(update(alerts).where(alerts.c.case_id == "C2").values(version=alerts.c.version + 1))
        cure = [CaseFindings(c, "X", "市局", [], stale[c]) for c in ("C1", "C2")]
        with pytest.raises(AlertConflictError), h.app.state.begin() as conn:
            reconcile(conn, cure, now)
        with h.app.state.connect() as conn:  # nothing of the failed batch was kept
            assert {r.case_id: r.state for r in conn.execute(select(alerts))} == {"C1": "open", "C2": "open"}
            fresh = alerts_of(conn, ["C1", "C2"])
        with h.app.state.begin() as conn:
            done = reconcile(conn, [CaseFindings(c, "X", "市局", [], fresh[c]) for c in ("C1", "C2")], now)
        assert [t.action for c in ("C1", "C2") for t in done[c]] == ["cured", "cured"]
        with h.app.state.connect() as conn:
            assert {r.case_id: r.state for r in conn.execute(select(alerts))} == {
                "C1": "resolved",
                "C2": "resolved",
            }
            assert h.verify().ok
    finally:
        h.app.dispose()


def test_whole_cases_read_the_same_on_every_backend(any_db_url: str, tmp_path: Path) -> None:
    """`load_cases` (on PostgreSQL one row a case with its events in arrays): every event in
    (time, seq) order with its actors and attributes, a case without events, events whose
    case has no record, and an id that exists nowhere."""
    h = Harness(load_config(write_config(tmp_path, any_db_url), environ={}))
    try:
        h.load(item(), case("C1", party_type="person"), case("C2"))
        with h.app.source.begin() as conn:
            rows = [
                (7, "C1", "accepted", bj("2026-11-03 09:00"), ["甲", "乙"], {"note": "核准"}),
                (3, "C1", "received", bj("2026-11-02 09:00"), [], {}),
                (9, "C1", "reviewed", bj("2026-11-03 09:00"), [], {"n": 1}),  # same time: by seq
                (4, "GHOST", "received", bj("2026-11-02 09:00"), [], {}),
            ]
            for seq, cid, kind, at, actors, attributes in rows:
                conn.execute(
                    insert(case_events).values(
                        seq=seq,
                        event_id=f"e{seq}",
                        case_id=cid,
                        kind=kind,
                        at=at,
                        actors=actors,
                        attributes=attributes,
                        ingested_at=at,
                    )
                )
        got = {c.case_id: c for c in h.pipeline.reader.load_cases(["C1", "C2", "GHOST", "NOWHERE"])}
        assert list(got) == ["C1", "C2", "GHOST", "NOWHERE"]
        c1 = got["C1"]
        assert c1.attributes == {"party_type": "person"} and c1.item is not None and not c1.problems
        assert c1.applicant.name == "张三"
        assert [(e.seq, e.kind, e.at, e.actors, dict(e.attributes)) for e in c1.events] == [
            (3, "received", bj("2026-11-02 09:00"), (), {}),
            (7, "accepted", bj("2026-11-03 09:00"), ("甲", "乙"), {"note": "核准"}),
            (9, "reviewed", bj("2026-11-03 09:00"), (), {"n": 1}),
        ]
        assert all(e.at.utcoffset() is not None and e.case_id == "C1" for e in c1.events)
        assert got["C2"].events == () and not got["C2"].problems
        ghost = got["GHOST"]
        assert [e.event_id for e in ghost.events] == ["e4"] and ghost.item is None
        assert any("GHOST" in p for p in ghost.problems)
        assert got["NOWHERE"].events == () and got["NOWHERE"].problems
        # The catalogue is read again when an item's row changes, and an item removed is gone.
        with h.app.source.begin() as conn:
            conn.execute(
                update(power_items)
                .where(power_items.c.item_code == "XK-1")
                .values(promised_limit=3, updated_at=bj("2026-11-24 09:00"))
            )
        [c1] = h.pipeline.reader.load_cases(["C1"])
        assert c1.item is not None and c1.item.promised_limit == 3
        with h.app.source.begin() as conn:
            conn.execute(delete(power_items).where(power_items.c.item_code == "XK-1"))
        [c1] = h.pipeline.reader.load_cases(["C1"])
        assert c1.item is None
    finally:
        h.app.dispose()


def test_a_rule_change_queues_every_affected_case_in_chunks(
    any_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL the cases a changed rule set affects are queued a chunk per transaction
    (here a chunk of one), so other processes start on them early; none is left behind."""
    import monitor.state.stores.postgres as postgres
    from monitor.daemon.requeue import Generation, queue_affected
    from monitor.state.schema import case_state

    monkeypatch.setattr(postgres, "REQUEUE_CHUNK", 1)
    h = Harness(load_config(write_config(tmp_path, any_db_url), environ={}))
    try:
        h.load(
            item(),
            *(r for c in ("C1", "C2", "C3") for r in (case(c), event(c, "accepted", "2026-11-16 09:00"))),
        )
        h.poll(bj("2026-11-17 10:00"))
        old = h.pipeline.last
        assert old is not None
        changed = Generation("f" * 32, old.rules, old.calendar)  # another digest, same item types
        now = bj("2026-11-17 10:05")
        assert queue_affected(h.pipeline.store, changed, None, now, h.config.tz) == 3
        with h.app.state.connect() as conn:
            due = conn.execute(
                select(case_state.c.case_id).where(case_state.c.next_check_at <= now)
            ).scalars()
            assert sorted(due) == ["C1", "C2", "C3"]
    finally:
        h.app.dispose()
