"""Notices beyond the first mail: silences, digests, reminders and the office above."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from alerts import silences
from alerts.digest import build_digests, next_slot
from alerts.lifecycle import act
from alerts.notify.eml import EmlNotifier
from alerts.reminders import send_reminders
from alerts.sender import drain
from monitor.calendar import WorkCalendar
from monitor.config import Route, load_config
from monitor.state.schema import alert_history
from tests.conftest import BJ, Harness, bj, case, event, item, write_config

ROUTES: dict[str, Any] = {
    "discipline_office": {"recipients": ["jjjc@example.gov.cn"], "levels": ["red"]},
    "department": {"recipients": ["dept@example.gov.cn"], "levels": ["yellow", "red"], "mode": "daily"},
    "office_above": {
        "recipients": ["shangji@example.gov.cn"],
        "levels": ["red"],
        "escalate_after_working_days": 5,
    },
}


@pytest.fixture
def h(tmp_path: Path, sqlite_url: str) -> Iterator[Harness]:
    config = write_config(tmp_path, sqlite_url, notify={"eml_dir": "outbox", "routes": ROUTES})
    harness = Harness(load_config(config, environ={}))
    yield harness
    harness.app.dispose()


def overdue(h: Harness, case_id: str = "C1") -> None:
    h.load(item(), case(case_id), event(case_id, "accepted", "2026-11-03 09:00"))


def by_status(h: Harness) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for n in h.notices():
        out.setdefault(n.status, []).append(n)
    return out


def test_silenced_alert_is_recorded_but_not_mailed(h: Harness) -> None:
    overdue(h)
    with h.app.state.begin() as conn:
        silences.add(
            conn,
            "department",
            "市市场监督管理局",
            bj("2026-11-30 00:00"),
            "集中整改期间",
            "李主任",
            bj("2026-11-23 08:00"),
        )
    h.poll(bj("2026-11-23 10:00"))
    [alert] = h.alerts()
    assert alert.level == "red"
    statuses = by_status(h)
    assert set(statuses) == {"silenced"} and len(statuses["silenced"]) == 2
    with h.app.state.connect() as conn:
        actions = conn.execute(select(alert_history.c.action, alert_history.c.actor)).all()
        assert h.verify().ok
    assert ("silence_added", "李主任") in actions and ("silenced", "李主任") in actions


def test_silence_that_has_ended_does_not_hold_back(h: Harness) -> None:
    overdue(h)
    with h.app.state.begin() as conn:
        silences.add(conn, "case", "C1", bj("2026-11-20 00:00"), "已过期", "李主任", bj("2026-11-19 08:00"))
    h.poll(bj("2026-11-23 10:00"))
    assert "silenced" not in by_status(h)


def test_a_held_notice_that_cannot_be_rendered_is_set_aside_and_the_digest_goes_out(
    tmp_path: Path, sqlite_url: str
) -> None:
    from sqlalchemy import update

    from monitor.state.schema import notices

    routes = {**ROUTES, "operators": {"recipients": ["ops@example.gov.cn"]}}
    config = write_config(tmp_path, sqlite_url, notify={"eml_dir": "outbox", "routes": routes})
    h = Harness(load_config(config, environ={}))
    try:
        overdue(h, "C1")
        overdue(h, "C2")
        h.poll(bj("2026-11-23 10:00"))
        with h.app.state.begin() as conn:
            held = conn.execute(
                select(notices.c.id, notices.c.context)
                .where(notices.c.status == "held")
                .order_by(notices.c.id)
            ).all()
            assert len(held) == 2
            conn.execute(update(notices).where(notices.c.id == held[0].id).values(context='{"level": "red"}'))
        assert build_digests(h.app.state, h.config.notify, bj("2026-11-24 09:00"), BJ) == 1
        with h.app.state.connect() as conn:
            rows = {r.id: r for r in conn.execute(select(notices))}
        assert rows[held[0].id].status == "failed"
        assert "cannot build the message" in rows[held[0].id].last_error
        assert rows[held[1].id].status == "digested"
        [digest] = [r for r in rows.values() if r.kind == "digest"]
        assert "1条预警" in digest.subject and rows[held[1].id].digest_id == digest.id
        [ops] = [r for r in rows.values() if r.kind == "operations"]
        assert ops.recipient == "ops@example.gov.cn" and "无法生成" in ops.subject
        assert f"通知编号：{held[0].id}" in ops.body_text
        assert build_digests(h.app.state, h.config.notify, bj("2026-11-24 10:00"), BJ) == 0
    finally:
        h.app.dispose()


def test_daily_route_is_held_and_sent_as_one_digest_per_recipient(h: Harness) -> None:
    overdue(h, "C1")
    overdue(h, "C2")
    h.poll(bj("2026-11-23 10:00"))  # Monday after 09:00: the next daily slot is Tuesday 09:00
    held = by_status(h)["held"]
    assert len(held) == 2 and all(n.route == "department" for n in held)
    assert {n.next_attempt_at for n in held} == {bj("2026-11-24 09:00")}
    assert build_digests(h.app.state, h.config.notify, bj("2026-11-24 08:59"), BJ) == 0
    assert build_digests(h.app.state, h.config.notify, bj("2026-11-24 09:00"), BJ) == 1
    statuses = by_status(h)
    [digest] = [n for n in statuses["pending"] if n.kind == "digest"]
    assert digest.recipient == "dept@example.gov.cn"
    assert "2条预警" in digest.subject and "C1" in digest.body_text and "C2" in digest.body_text
    assert {n.digest_id for n in statuses["digested"]} == {digest.id}
    assert build_digests(h.app.state, h.config.notify, bj("2026-11-24 10:00"), BJ) == 0
    folder = h.config.path(h.config.notify.eml_dir)
    drain(h.app.state, EmlNotifier(folder), h.config.notify, bj("2026-11-24 10:00"), limit=1000)
    with h.app.state.connect() as conn:
        sent = conn.execute(
            select(alert_history.c.alert_id, alert_history.c.detail).where(
                alert_history.c.action == "notice_sent"
            )
        ).all()
    # The digest's delivery is recorded on both alerts it carried, with the digest's Message-ID.
    by_digest = {a for a, d in sent if d["kind"] == "digest"}
    assert by_digest == {a.id for a in h.alerts()}


def test_digest_slots_skip_nights_weekends_and_holidays() -> None:
    cal = WorkCalendar.default()
    daily = Route(recipients=("x@example.gov.cn",), mode="daily")
    hourly = Route(recipients=("x@example.gov.cn",), mode="hourly")
    assert next_slot(daily, bj("2026-11-20 18:00"), cal, BJ) == bj("2026-11-23 09:00")  # Friday evening
    assert next_slot(daily, bj("2026-09-30 18:00"), cal, BJ) == bj("2026-10-08 09:00")  # National Day
    assert next_slot(daily, bj("2026-10-09 18:00"), cal, BJ) == bj(
        "2026-10-10 09:00"
    )  # Saturday, 调休 workday
    assert next_slot(hourly, bj("2026-11-23 10:20"), cal, BJ) == bj("2026-11-23 11:00")
    assert next_slot(hourly, bj("2026-11-23 23:10"), cal, BJ) == bj("2026-11-24 09:00")
    assert next_slot(hourly, bj("2026-11-24 07:00"), cal, BJ) == bj("2026-11-24 09:00")
    night_owl = Route(recipients=("x@example.gov.cn",), mode="daily", digest_on_rest_days=True)
    assert next_slot(night_owl, bj("2026-11-20 18:00"), cal, BJ) == bj("2026-11-21 09:00")


def test_unacknowledged_red_is_reminded_every_three_working_days_until_acknowledged(h: Harness) -> None:
    overdue(h)
    h.poll(bj("2026-11-23 10:00"))
    [alert] = h.alerts()
    assert alert.next_reminder_at == bj("2026-11-26 09:00")
    cfg, cal = h.config.notify, h.holder.calendar()
    assert send_reminders(h.app.state, cfg, cal, bj("2026-11-26 08:59"), BJ) == 0
    assert send_reminders(h.app.state, cfg, cal, bj("2026-11-26 09:00"), BJ) == 2  # office and department
    reminders = [n for n in h.notices() if n.kind == "reminder"]
    assert all("已3个工作日未处理" in n.subject for n in reminders)
    assert send_reminders(h.app.state, cfg, cal, bj("2026-11-26 09:05"), BJ) == 0
    [alert] = h.alerts()
    assert alert.next_reminder_at == bj("2026-12-01 09:00")
    with h.app.state.begin() as conn:
        act(
            conn,
            alert.id,
            "acknowledged",
            "王科长",
            "已督办",
            bj("2026-11-27 10:00"),
            "acknowledged",
            ("open",),
        )
    assert h.alerts()[0].next_reminder_at is None
    assert send_reminders(h.app.state, cfg, cal, bj("2026-12-01 09:00"), BJ) == 0


def test_red_left_open_reaches_the_office_above_once(h: Harness) -> None:
    overdue(h)
    h.poll(bj("2026-11-23 10:00"))
    cfg, cal = h.config.notify, h.holder.calendar()
    send_reminders(h.app.state, cfg, cal, bj("2026-11-27 10:00"), BJ)  # 4 working days: not yet
    assert not [n for n in h.notices() if n.route == "office_above"]
    send_reminders(h.app.state, cfg, cal, bj("2026-11-30 10:00"), BJ)  # 5 working days
    send_reminders(h.app.state, cfg, cal, bj("2026-12-01 10:00"), BJ)
    above = [n for n in h.notices() if n.route == "office_above"]
    assert len(above) == 1 and above[0].recipient == "shangji@example.gov.cn"
    assert "已5个工作日未处理" in above[0].subject


def test_a_recipient_listed_twice_gets_one_notice(tmp_path: Path, sqlite_url: str) -> None:
    twice = ["jjjc@example.gov.cn", "jjjc@example.gov.cn"]
    routes = {**ROUTES, "discipline_office": {"recipients": twice, "levels": ["red"]}}
    config = write_config(tmp_path, sqlite_url, notify={"eml_dir": "outbox", "routes": routes})
    h = Harness(load_config(config, environ={}))
    try:
        overdue(h)
        h.poll(bj("2026-11-23 10:00"))
        [alert] = h.alerts()
        assert alert.level == "red"
        office = [n.recipient for n in h.notices() if n.route == "discipline_office"]
        assert office == ["jjjc@example.gov.cn"]
    finally:
        h.app.dispose()


def _stored(h: Harness) -> list[Any]:
    """The notice rows as stored, not rendered for reading."""
    from monitor.state.schema import notices

    with h.app.state.connect() as conn:
        return list(conn.execute(select(notices).order_by(notices.c.id)))


def test_a_pass_queues_what_a_notice_says_and_the_sender_renders_it_outside_the_pass(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pass's transaction records the notice request (its context); no template runs in
    it. The sender renders after its claim and keeps the text it sent with the notice."""
    import json

    import alerts.render

    overdue(h, "C1")

    def no_rendering(context: dict[str, Any]) -> Any:
        raise AssertionError("rendered inside the pass")

    monkeypatch.setattr(alerts.render, "render_notice", no_rendering)
    h.poll(bj("2026-11-23 10:00"))
    monkeypatch.undo()
    [queued] = [n for n in _stored(h) if n.status == "pending"]
    assert queued.route == "discipline_office" and queued.subject == queued.body_text == ""
    context = json.loads(queued.context)
    assert context["case_id"] == "C1" and context["level"] == "red"
    folder = h.config.path(h.config.notify.eml_dir)
    result = drain(h.app.state, EmlNotifier(folder), h.config.notify, bj("2026-11-23 10:01"), limit=10)
    assert result.sent == 1
    [sent] = [n for n in _stored(h) if n.id == queued.id]
    expected = alerts.render.render_notice(context)
    assert sent.status == "sent"
    assert (sent.subject, sent.body_text, sent.body_html) == (expected.subject, expected.text, expected.html)
    assert "C1" in sent.body_text and "红牌" in sent.subject
    [eml] = list(folder.glob("*.eml"))
    assert queued.message_id in eml.read_text(encoding="utf-8", errors="replace")


def test_a_notice_that_cannot_be_rendered_is_set_aside_at_send_and_the_others_go(h: Harness) -> None:
    from sqlalchemy import update

    from monitor.state.schema import notices

    overdue(h, "C1")
    overdue(h, "C2")
    h.poll(bj("2026-11-23 10:00"))
    pending = [n for n in _stored(h) if n.status == "pending"]
    assert len(pending) == 2
    broken = pending[0]
    with h.app.state.begin() as conn:  # a context a template cannot take (a missing key)
        conn.execute(update(notices).where(notices.c.id == broken.id).values(context='{"case_id": "C1"}'))
    folder = h.config.path(h.config.notify.eml_dir)
    result = drain(h.app.state, EmlNotifier(folder), h.config.notify, bj("2026-11-23 10:01"), limit=10)
    assert result.sent == 1 and result.set_aside == 1
    statuses = {n.id: n.status for n in _stored(h)}
    assert statuses[broken.id] == "failed" and statuses[pending[1].id] == "sent"
