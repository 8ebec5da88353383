"""The engine's side of the loop: an unanswered 督办 raises a red `supervision` alert at its
deadline instant, through the daemon's send unit, and an answer cures it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from alerts.dispatch import deliver
from alerts.notify.eml import EmlNotifier
from alerts.supervision import reply, rule, supervise
from monitor.config import load_config
from tests.conftest import BJ, Harness, bj, write_config
from tests.supervision_helpers import DEPT, OFFICE, alert, red_alert, settings_of

ROUTES = {
    "discipline_office": {"recipients": ["jjjc@example.gov.cn"], "levels": ["red"]},
    "department": {
        "recipients": ["dept@example.gov.cn"],
        "by_department": {"市市场监督管理局": ["scjg@example.gov.cn"]},
        "levels": ["yellow", "red"],
    },
    "department_head": {
        "recipients": ["head@example.gov.cn"],
        "by_department": {"市市场监督管理局": ["scjg-jz@example.gov.cn"]},
        "levels": ["red"],
        "categories": ["supervision"],
    },
}
ISSUED = bj("2026-11-13 11:00")  # a Friday: 3 working days end on Wednesday 11-18 at 24:00
DUE = bj("2026-11-19 00:00")


@pytest.fixture
def h(tmp_path: Path, sqlite_url: str) -> Iterator[Harness]:
    config = write_config(tmp_path, sqlite_url, notify={"eml_dir": "outbox", "routes": ROUTES})
    harness = Harness(load_config(config, environ={}))
    yield harness
    harness.app.dispose()


def _send(h: Harness, now: Any) -> None:
    cfg = h.config
    deliver(
        h.app.state, EmlNotifier(cfg.path(cfg.notify.eml_dir)), cfg.notify, settings_of(h).calendar, now, BJ
    )


def _issued(h: Harness) -> int:
    alert_id = red_alert(h)
    with h.app.state.begin() as conn:
        supervise(
            conn,
            OFFICE,
            alert_id,
            demand="explain",
            reply_within_days=3,
            note="",
            now=ISSUED,
            settings=settings_of(h),
        )
    return alert_id


def _overdue(h: Harness) -> list[Any]:
    return [a for a in h.alerts() if a.category == "supervision"]


def test_raised_exactly_at_the_deadline_instant_and_not_before(h: Harness) -> None:
    _issued(h)
    _send(h, DUE - timedelta(microseconds=1))
    assert _overdue(h) == []
    _send(h, DUE)
    [raised] = _overdue(h)
    assert (raised.level, raised.state, raised.case_id, raised.rule_id) == (
        "red",
        "open",
        "OPEN1",
        "supervision.reply_overdue.1",
    )
    assert raised.title == "督办〔2026〕1号逾期未答复"
    assert "〔2026〕1号" in raised.message and "2026年11月18日（星期三）24时" in raised.message
    assert "市市场监督管理局" in raised.message and raised.due == DUE
    _send(h, DUE + timedelta(minutes=5))
    assert len(_overdue(h)) == 1  # once per 督办


def test_routed_to_the_office_and_the_department_head(h: Harness) -> None:
    _issued(h)
    _send(h, DUE)
    overdue = [n for n in h.notices() if n.kind == "raised" and n.alert_id == _overdue(h)[0].id]
    assert {(n.route, n.recipient) for n in overdue} == {
        ("discipline_office", "jjjc@example.gov.cn"),
        ("department_head", "scjg-jz@example.gov.cn"),
    }
    text = overdue[0].body_text
    assert "工作督办函〔2026〕1号逾期未答复" in text and "答复期限：2026年11月18日（星期三）24时" in text
    assert "被督办单位：市市场监督管理局" in text and "类别：督办" in text
    assert all(n.status == "sent" for n in overdue)  # in the same send


def test_an_answer_cures_it_and_a_missed_second_round_reopens_it(h: Harness) -> None:
    alert_id = _issued(h)
    settings = settings_of(h)
    _send(h, DUE)
    [raised] = _overdue(h)
    late = bj("2026-11-19 09:30")
    with h.app.state.begin() as conn:
        answered = reply(
            conn, DEPT, alert_id, kind="explained", text="人员调整所致", now=late, settings=settings
        )
    assert answered.overdue_alert_id == raised.id
    cured = alert(h.app.state, raised.id)
    assert (cured.state, cured.resolved_at, cured.closed_by) == ("resolved", late, None)
    with h.app.state.begin() as conn:
        again = rule(
            conn,
            OFFICE,
            alert_id,
            decision="rejected",
            note="请整改",
            now=late + timedelta(hours=1),
            settings=settings,
        )
    _send(h, again.reply_due - timedelta(seconds=1))
    assert alert(h.app.state, raised.id).state == "resolved"
    _send(h, again.reply_due)
    reopened = alert(h.app.state, raised.id)
    assert reopened.state == "open" and "第2次答复期限" in reopened.message
    assert len(_overdue(h)) == 1
    assert h.verify().ok


def test_an_answer_before_the_deadline_raises_nothing(h: Harness) -> None:
    alert_id = _issued(h)
    with h.app.state.begin() as conn:
        reply(
            conn,
            DEPT,
            alert_id,
            kind="rectified",
            text="已整改",
            now=DUE - timedelta(hours=3),
            settings=settings_of(h),
        )
    _send(h, DUE + timedelta(days=3))
    assert _overdue(h) == []


def test_the_overdue_alert_is_reminded_like_any_red(h: Harness) -> None:
    _issued(h)
    _send(h, DUE)
    [raised] = _overdue(h)
    # Thursday 11-19 00:00 + 3 working days (notify.reminder_working_days) at 09:00.
    assert raised.next_reminder_at == bj("2026-11-24 09:00")
    _send(h, bj("2026-11-24 09:00"))
    reminders = [n for n in h.notices() if n.kind == "reminder" and n.alert_id == raised.id]
    assert {n.route for n in reminders} == {"discipline_office", "department_head"}
    assert all("工作督办函〔2026〕1号逾期未答复" in n.body_text for n in reminders)


def test_a_silence_holds_back_its_notices_and_is_on_record(h: Harness) -> None:
    from alerts import silences

    _issued(h)
    with h.app.state.begin() as conn:
        silences.add(
            conn, "department", "市市场监督管理局", bj("2026-11-30 00:00"), "机构改革过渡期", "王监察", ISSUED
        )
    _send(h, DUE)
    [raised] = _overdue(h)
    overdue = [n for n in h.notices() if n.alert_id == raised.id]
    assert overdue and {n.status for n in overdue} == {"silenced"}
    assert h.verify().ok


def test_the_open_supervisions_gauge_counts_the_overdue_ones(h: Harness) -> None:
    from prometheus_client import generate_latest

    _issued(h)
    h.app.metrics.state.refresh(h.app.state, DUE - timedelta(seconds=1))
    text = generate_latest(h.app.metrics.registry).decode()
    assert (
        'sunlight_supervisions_open{department="市市场监督管理局",overdue="false",state="issued"} 1.0' in text
    )
    h.app.metrics.state.refresh(h.app.state, DUE)
    text = generate_latest(h.app.metrics.registry).decode()
    assert (
        'sunlight_supervisions_open{department="市市场监督管理局",overdue="true",state="issued"} 1.0' in text
    )
    assert text.count("sunlight_supervisions_open{") == 1  # no longer counted as on time


def test_the_message_writes_dates_as_documents_do(h: Harness) -> None:
    from alerts.supervision import store
    from alerts.supervision.loop import finding
    from alerts.supervision.model import Supervision

    _issued(h)
    with h.app.state.connect() as conn:
        s = Supervision.of_row(store.by_id(conn, 1), DUE)
    f = finding(s, settings_of(h))
    assert f.message.startswith(
        "纪检监察室于2026年11月13日向市市场监督管理局发出工作督办函〔2026〕1号，要求作出书面说明，"
    )
    assert "答复期限为2026年11月18日（星期三）24时；市市场监督管理局至期限届满仍未答复。" in f.message
