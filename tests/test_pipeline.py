"""The whole path on the embedded default: import, pass, alerts, notices, history."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from alerts.notify.eml import EmlNotifier
from alerts.sender import drain
from monitor.state.schema import alert_history, case_state
from tests.conftest import Harness, bj, case, event, item


def test_overdue_licence_raises_one_red_alert_and_notices(harness: Harness) -> None:
    harness.load(
        item(),
        case("C1"),
        event("C1", "received", "2026-11-02 09:00"),
        event("C1", "accepted", "2026-11-03 09:00"),
    )
    result = harness.poll(bj("2026-11-23 10:00"))
    assert result.cases_evaluated == 1
    [alert] = harness.alerts()
    assert (alert.rule_id, alert.level, alert.state, alert.category) == (
        "licensing.decide_within_promise",
        "red",
        "open",
        "time_limit",
    )
    # 5 working days from 2026-11-03 (not counted) end on 2026-11-10 at 24:00 Beijing time.
    assert alert.due == bj("2026-11-11 00:00")
    assert "已超过期限9个工作日" in alert.message
    recipients = sorted(n.recipient for n in harness.notices())
    assert recipients == ["jjjc@example.gov.cn", "scjg@example.gov.cn"]


def test_repeated_passes_and_a_restart_add_no_alert_and_no_notice(harness: Harness) -> None:
    harness.load(item(), case("C1"), event("C1", "accepted", "2026-11-03 09:00"))
    harness.poll(bj("2026-11-23 10:00"))
    harness.poll(bj("2026-11-23 10:01"))
    # A restart: a new pipeline over the same database.
    restarted = Harness(harness.config)
    restarted.poll(bj("2026-11-23 10:02"))
    assert len(harness.alerts()) == 1
    assert len(harness.notices()) == 2


def test_time_alone_turns_yellow_then_red_via_stored_next_check(harness: Harness) -> None:
    harness.load(item(), case("C1"), event("C1", "accepted", "2026-11-16 09:00"))
    first = harness.poll(bj("2026-11-17 10:00"))
    assert first.cases_evaluated == 1 and harness.alerts() == []
    with harness.app.state.connect() as conn:
        next_check = conn.execute(select(case_state.c.next_check_at)).scalar_one()
    # 5 working days from 11-16: due 11-23; yellow at 80% = the 4th working day, 11-20 00:00.
    assert next_check == bj("2026-11-20 00:00")
    quiet = harness.poll(bj("2026-11-19 23:59"))
    assert quiet.cases_evaluated == 0  # nothing changed and no threshold came: not re-read
    harness.poll(bj("2026-11-20 08:00"))
    [alert] = harness.alerts()
    assert alert.level == "yellow"
    harness.poll(bj("2026-11-24 00:00"))
    [alert] = harness.alerts()
    assert (alert.level, alert.state) == ("red", "open")
    assert alert.escalated_at == bj("2026-11-24 00:00")
    kinds = [n.kind for n in harness.notices()]
    assert kinds.count("raised") == 1  # yellow to the department only
    assert kinds.count("escalated") == 2  # red to the department and the discipline office


def test_yellow_is_cured_when_the_case_is_put_right(harness: Harness) -> None:
    harness.load(item(), case("C1"), event("C1", "accepted", "2026-11-16 09:00"))
    harness.poll(bj("2026-11-20 10:00"))
    assert [a.level for a in harness.alerts()] == ["yellow"]
    harness.load(event("C1", "decided", "2026-11-20 11:00", result="approved"))
    harness.poll(bj("2026-11-20 11:05"))
    [alert] = harness.alerts()
    assert (alert.state, alert.level) == ("resolved", "yellow")
    with harness.app.state.connect() as conn:
        actions = list(
            conn.execute(select(alert_history.c.action).order_by(alert_history.c.chain_seq)).scalars()
        )
    assert actions == ["raised", "cured"]


def test_red_stays_open_after_the_late_decision(harness: Harness) -> None:
    harness.load(item(), case("C1"), event("C1", "accepted", "2026-11-03 09:00"))
    harness.poll(bj("2026-11-23 10:00"))
    harness.load(event("C1", "decided", "2026-11-23 11:00", result="approved"))
    harness.poll(bj("2026-11-23 11:05"))
    reds = [a for a in harness.alerts() if a.rule_id == "licensing.decide_within_promise"]
    assert [(a.level, a.state) for a in reds] == [("red", "open")]


def test_bad_record_is_a_data_quality_finding_and_the_pass_goes_on(harness: Harness) -> None:
    harness.load(item(), case("C1"), case("C2"), event("C1", "accepted", "2026-11-03 09:00"))
    harness.load(event("C2", "received", "2026-11-20 09:00"))
    # Corrupt C2's attributes behind the importer's back, as a platform view might.
    from monitor.state.schema import cases

    with harness.app.source.begin() as conn:
        conn.execute(update(cases).where(cases.c.case_id == "C2").values(attributes=[1, 2]))
    result = harness.poll(bj("2026-11-23 10:00"))
    assert result.cases_evaluated == 2
    rules = {(a.case_id, a.rule_id) for a in harness.alerts()}
    assert ("C2", "data_quality.bad_record") in rules
    assert ("C1", "licensing.decide_within_promise") in rules


def test_events_of_an_unknown_case_become_a_data_quality_finding(harness: Harness) -> None:
    harness.load(item(), event("GHOST", "received", "2026-11-20 09:00"))
    harness.poll(bj("2026-11-23 10:00"))
    [alert] = harness.alerts()
    assert (alert.case_id, alert.rule_id, alert.category) == (
        "GHOST",
        "data_quality.bad_record",
        "data_quality",
    )


def test_notices_are_written_as_eml_and_marked_sent(harness: Harness, tmp_path: object) -> None:
    harness.load(item(), case("C1"), event("C1", "accepted", "2026-11-03 09:00"))
    harness.poll(bj("2026-11-23 10:00"))
    folder = harness.config.path(harness.config.notify.eml_dir)
    result = drain(harness.app.state, EmlNotifier(folder), harness.config.notify, bj("2026-11-23 10:01"))
    assert (result.sent, result.failed) == (2, 0)
    files = sorted(folder.glob("*.eml"))
    assert len(files) == 2
    body = files[0].read_bytes().decode("utf-8", "replace")
    assert "Message-ID: <sunlight.1.1." in body
    assert all(n.status == "sent" for n in harness.notices())
    again = drain(harness.app.state, EmlNotifier(folder), harness.config.notify, bj("2026-11-23 10:02"))
    assert again.sent == 0


def test_history_chain_verifies_and_detects_an_edit(harness: Harness) -> None:
    harness.load(item(), case("C1"), case("C2"), event("C1", "accepted", "2026-11-03 09:00"))
    harness.load(event("C2", "accepted", "2026-11-16 09:00"))
    harness.poll(bj("2026-11-20 10:00"))
    harness.poll(bj("2026-11-24 10:00"))
    verdict = harness.verify()
    assert verdict.ok and verdict.rows == 3
    with harness.app.state.begin() as conn:
        conn.execute(update(alert_history).where(alert_history.c.chain_seq == 2).values(actor="someone"))
    verdict = harness.verify()
    assert not verdict.ok
    assert [str(f) for f in verdict.findings] == [
        "row_edited: rows 2 were edited after they were written (hash mismatch under key "
        + harness.key_id()
        + ")"
    ]


def test_catalogue_change_reevaluates_the_items_open_cases(harness: Harness) -> None:
    harness.load(
        item(promised=20), case("C1"), event("C1", "accepted", "2026-11-03 09:00"), now=bj("2026-11-20 09:00")
    )
    harness.poll(bj("2026-11-20 10:00"))
    assert harness.alerts() == []
    harness.load(item(promised=5), now=bj("2026-11-20 10:30"))
    result = harness.poll(bj("2026-11-20 11:00"))
    assert result.cases_evaluated == 1
    assert [a.level for a in harness.alerts()] == ["red"]


def test_rule_change_requeues_only_the_item_types_it_can_affect(harness: Harness, tmp_path: object) -> None:
    import shutil
    from pathlib import Path

    from monitor.daemon.reload import RuleHolder

    rules = Path(str(tmp_path)) / "rules"
    shutil.copytree(harness.config.path(harness.config.rules.path), rules)
    holder = RuleHolder(rules, rules / "calendar", frozenset(harness.config.notify.routes))
    harness.pipeline.rules, harness.pipeline.calendar = holder.rules, holder.calendar
    harness.load(
        item(),
        item("CF-1", item_type="penalty", promised=None, legal=90, unit="natural_days"),
        case("L1"),
        case("P1", code="CF-1"),
        event("L1", "accepted", "2026-11-16 09:00"),
        event("P1", "filed", "2026-11-16 09:00"),
    )
    assert harness.poll(bj("2026-11-17 10:00")).cases_evaluated == 2
    assert harness.poll(bj("2026-11-17 10:01")).cases_evaluated == 0
    text = (rules / "licensing.yaml").read_text(encoding="utf-8")
    (rules / "licensing.yaml").write_text(
        text.replace("yellow_share: 0.8", "yellow_share: 0.5"), encoding="utf-8"
    )
    assert holder.reload()
    from monitor.daemon.poll import poll_once

    # An extra evaluation process that sees the change first leaves the queue to the process
    # that reads the source: two processes re-queueing the same rows would wait on each other.
    worker = harness.app.pipeline(holder)
    worker.last = harness.pipeline.last
    assert poll_once(worker, bj("2026-11-17 10:02"), ingest=False).cases_evaluated == 0
    assert worker.last is not None and worker.last.rules is holder.rules()
    again = harness.poll(bj("2026-11-17 10:02"))
    assert again.cases_evaluated == 1  # the licensing case only; the penalty case is untouched
    with harness.app.state.connect() as conn:
        stamps = set(conn.execute(select(case_state.c.ruleset_digest)).scalars())
    assert len(stamps) == 1  # both now carry the new set's digest


def test_a_pass_without_ingest_only_takes_from_the_queue(harness: Harness) -> None:
    """Extra evaluation processes (daemon.workers) evaluate queued cases and never read the source."""
    from monitor.daemon.poll import _ingest, poll_once

    harness.load(item(), case("C1"), event("C1", "accepted", "2026-11-03 09:00"))
    now = bj("2026-11-23 10:00")
    idle = poll_once(harness.pipeline, now, ingest=False)
    assert (idle.events_read, idle.cases_evaluated) == (0, 0)  # nothing queued yet
    assert harness.alerts() == []
    # The main process reads the event and queues the case; a worker's pass then evaluates it.
    assert _ingest(harness.pipeline, now)[0] == 1
    done = poll_once(harness.pipeline, now, ingest=False)
    assert (done.events_read, done.cases_evaluated) == (0, 1)
    assert [a.level for a in harness.alerts()] == ["red"]


def test_calendar_change_requeues_only_the_cases_whose_days_it_touches(
    harness: Harness, tmp_path: object
) -> None:
    import shutil
    from pathlib import Path

    from monitor.daemon.reload import RuleHolder

    rules = Path(str(tmp_path)) / "rules"
    shutil.copytree(harness.config.path(harness.config.rules.path), rules)
    (rules / "calendar").mkdir(exist_ok=True)
    holder = RuleHolder(rules, rules / "calendar", frozenset(harness.config.notify.routes))
    harness.pipeline.rules, harness.pipeline.calendar = holder.rules, holder.calendar
    harness.load(
        item(),  # 20 working days: the licensing case counts days up to mid-December 2026
        item("CF-1", item_type="penalty", promised=None, legal=90, unit="natural_days"),  # into 2027
        case("L1"),
        case("P1", code="CF-1"),
        event("L1", "accepted", "2026-11-16 09:00"),
        event("P1", "filed", "2026-11-16 09:00"),
    )
    assert harness.poll(bj("2026-11-17 10:00")).cases_evaluated == 2

    def change(name: str, text: str, at: str) -> int:
        (rules / "calendar" / name).write_text(text, encoding="utf-8")
        assert holder.reload()
        return harness.poll(bj(at)).cases_evaluated

    # Next year's notice: only the penalty case counts days in 2027.
    notice_2027 = (
        "notice: 国务院办公厅关于2027年部分节假日安排的通知\ncovers: 2027\n"
        "rest_days:\n  - {date: 2027-01-01, name: 元旦}\n"
    )
    assert change("2027.yaml", notice_2027, "2026-11-17 10:01") == 1
    # A change in days no open case counts queues none.
    assert (
        change(
            "2030.yaml", "notice: 测试\nrest_days:\n  - {date: 2030-05-06, name: 测试}\n", "2026-11-17 10:02"
        )
        == 0
    )
    # A regional rest day inside both cases' periods queues both.
    assert (
        change(
            "local.yaml",
            "notice: 自治县通知\nrest_days:\n  - {date: 2026-11-20, name: 县庆}\n",
            "2026-11-17 10:03",
        )
        == 2
    )
    with harness.app.state.connect() as conn:
        stamps = set(conn.execute(select(case_state.c.ruleset_digest)).scalars())
    assert len(stamps) == 1  # every case carries the current digest


def test_the_planner_statistics_are_refreshed_at_most_once_a_minute(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    import monitor.daemon.poll as poll

    refreshed: list[object] = []
    monkeypatch.setattr(poll, "ANALYZE_AFTER", 1)
    monkeypatch.setattr(harness.pipeline.store, "analyze", lambda: refreshed.append(None))
    now = bj("2026-11-23 10:00")
    harness.load(item(), case("C1"), event("C1", "received", "2026-11-23 09:00"))
    harness.poll(now)
    harness.load(case("C2"), event("C2", "received", "2026-11-23 09:10"))
    harness.poll(now + timedelta(minutes=1))
    assert len(refreshed) == 1  # the second ingest came within the minute
    assert harness.pipeline.analyzed_at is not None
    harness.pipeline.analyzed_at -= poll.ANALYZE_EVERY
    harness.load(case("C3"), event("C3", "received", "2026-11-23 09:20"))
    harness.poll(now + timedelta(minutes=2))
    assert len(refreshed) == 2


def _pass_over_a_backlog(h: Harness) -> None:
    """A first start of thirty cases, in pages of ten events: one pass gets through it."""
    h.pipeline.reader.max_events = 10
    h.load(
        item(),
        *(
            r
            for n in range(30)
            for r in (case(f"C{n:02d}"), event(f"C{n:02d}", "received", "2026-11-23 09:00"))
        ),
    )
    result = h.poll(bj("2026-11-23 10:00"))
    assert result.events_read == 30 and result.cases_evaluated == 30


def test_a_backlog_is_queued_page_by_page_while_the_queue_still_holds_work(tmp_path: Path) -> None:
    """A first start of more events than one page: the pass queues the next page whenever
    the queue runs low, so a worker sharing the queue never finds it empty while events are
    waiting, and one pass gets through the whole backlog."""
    from monitor.config import load_config
    from tests.conftest import write_config

    h = Harness(
        load_config(
            write_config(tmp_path, f"sqlite:///{tmp_path / 's.db'}", daemon={"batch_size": 2}), environ={}
        )
    )
    try:
        _pass_over_a_backlog(h)
        with h.app.state.connect() as conn:
            assert (
                conn.execute(
                    select(case_state.c.evaluated_at).where(case_state.c.evaluated_at.is_(None))
                ).all()
                == []
            )
    finally:
        h.app.dispose()


def test_the_next_page_is_read_while_the_other_processes_may_still_hold_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The count of due cases includes those other processes have claimed; with three
    processes the next page is read while fewer than five batches are due (two the others
    may hold, three left), so that a worker never finds the queue empty while events wait."""
    from monitor.config import load_config
    from tests.conftest import write_config

    config = write_config(tmp_path, f"sqlite:///{tmp_path / 's.db'}", daemon={"batch_size": 2, "workers": 3})
    h = Harness(load_config(config, environ={}))
    asked: list[int] = []
    real = h.pipeline.store.due_at_least

    def counting(now: Any, count: int) -> bool:
        asked.append(count)
        return real(now, count)

    monkeypatch.setattr(h.pipeline.store, "due_at_least", counting)
    try:
        _pass_over_a_backlog(h)
        assert asked and set(asked) == {(3 + 2) * 2}
    finally:
        h.app.dispose()


def test_the_collector_is_paused_for_a_batch_and_restored_after() -> None:
    import gc

    from monitor.daemon.poll import gc_paused

    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("a failed batch")
    assert gc.isenabled()  # restored after a failure too
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()
