"""The escalation ladder: rungs scheduled on the working calendar, fired to the persons of
the people directory over their channels, recorded in the history, stopped by acknowledging."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from alerts.ladder import climb
from alerts.lifecycle import act
from monitor.people.reach import DirectoryReach
from monitor.state.schema import alert_history, ladder_steps
from tests.conftest import BJ, Harness, bj, case, event, item, write_config

LADDER: list[dict[str, Any]] = [
    {"name": "handler_sms", "levels": ["yellow", "red"], "roles": ["handler"], "channels": ["sms"]},
    {"name": "head", "levels": ["red"], "roles": ["department_head"], "channels": ["email"]},
    {
        "name": "leader",
        "after_working_days": 3,
        "levels": ["red"],
        "roles": ["leader"],
        "channels": ["email", "sms"],
        "unless": "answered",
    },
]
DEPT = "市市场监督管理局"


def person(pid: str, name: str, roles: list[str], **extra: Any) -> dict[str, Any]:
    return {"type": "person", "person_id": pid, "name": name, "department": DEPT, "roles": roles, **extra}


PEOPLE = [
    person("P1", "李四", ["handler"], mobile="+8613800000001", email="lisi@scjg.example.gov.cn"),
    person("P2", "王五", ["handler"], mobile="+8613800000002"),
    person("P3", "赵六", ["department_head"], email="zhaoliu@scjg.example.gov.cn", mobile="+8613800000003"),
    {
        **person("P4", "钱七", ["leader"], email="qianqi@example.gov.cn", mobile="+8613800000004"),
        "department": "市人民政府",
        "covers": [DEPT],
    },
]


def ladder_harness(tmp_path: Path, url: str, ladder: list[dict[str, Any]] = LADDER) -> Harness:
    config = write_config(tmp_path, url, notify={"eml_dir": "outbox", "ladder": ladder})
    from monitor.config import load_config

    return Harness(load_config(config, environ={}))


@pytest.fixture
def h(tmp_path: Path, sqlite_url: str) -> Iterator[Harness]:
    harness = ladder_harness(tmp_path, sqlite_url)
    yield harness
    harness.app.dispose()


def overdue(h: Harness) -> None:
    """A red on Monday 2026-11-23: accepted 11-03 by 李四, five working days promised."""
    h.load(item(), case("C1"), event("C1", "accepted", "2026-11-03 09:00", "李四"), *PEOPLE)
    h.poll(bj("2026-11-23 10:00"))


def run(h: Harness, at: str) -> int:
    return climb(h.app.state, h.config.notify, h.holder.calendar(), bj(at), BJ, DirectoryReach(h.app.source))


def ladder_notices(h: Harness, rung: str | None = None) -> list[Any]:
    return [n for n in h.notices() if n.kind == "ladder" and (rung is None or n.route == f"ladder-{rung}")]


def history(h: Harness, action: str) -> list[Any]:
    with h.app.state.connect() as conn:
        return list(conn.execute(select(alert_history).where(alert_history.c.action == action)))


def test_a_red_reaches_its_handler_by_sms_and_the_head_by_mail_at_once(h: Harness) -> None:
    overdue(h)
    [alert] = h.alerts()
    assert alert.level == "red"
    queued = run(h, "2026-11-23 10:00")
    sms = ladder_notices(h, "handler_sms")
    # The case's own handling officer (the actor of its steps), not every handler.
    assert [(n.channel, n.recipient) for n in sms] == [("sms", "sms:+8613800000001")]
    head = ladder_notices(h, "head")
    assert [(n.channel, n.recipient) for n in head] == [("email", "zhaoliu@scjg.example.gov.cn")]
    assert queued == 2
    # The e-mail says why the head hears of it, and to whom it speaks.
    assert head[0].subject.startswith("【逐级报送】")
    assert "按预警分级报送规定告知部门负责人" in head[0].body_text
    assert "赵六同志" in head[0].body_text
    rungs = history(h, "ladder_rung")
    assert sorted(r.detail["rung"] for r in rungs) == ["handler_sms", "head"]
    # The history counts recipients; it never holds a number or an address.
    assert all("138" not in json.dumps(r.detail) and "@" not in json.dumps(r.detail) for r in rungs)
    assert h.verify().ok
    assert run(h, "2026-11-23 10:05") == 0  # each rung fires once


def test_the_leader_hears_after_three_working_days_counted_on_the_calendar(h: Harness) -> None:
    overdue(h)
    run(h, "2026-11-23 10:00")
    with h.app.state.connect() as conn:
        step = conn.execute(select(ladder_steps).where(ladder_steps.c.rung == "leader")).one()
    # Raised Monday: Tuesday, Wednesday and Thursday must pass whole; due Friday morning.
    assert step.due_at == bj("2026-11-27 09:00")
    assert run(h, "2026-11-27 08:59") == 0
    assert run(h, "2026-11-27 09:00") == 2
    leader = ladder_notices(h, "leader")
    assert sorted((n.channel, n.recipient) for n in leader) == [
        ("email", "qianqi@example.gov.cn"),
        ("sms", "sms:+8613800000004"),
    ]
    mail = next(n for n in leader if n.channel == "email")
    assert (
        "本红牌自2026年11月23日发出，已满3个工作日未确认处理，按预警分级报送规定报送分管领导"
        in mail.body_text
    )
    [rung] = [r for r in history(h, "ladder_rung") if r.detail["rung"] == "leader"]
    assert rung.detail["working_days_open"] == 3 and rung.detail["recipients"] == 2


def test_acknowledging_stops_the_ladder(tmp_path: Path, sqlite_url: str) -> None:
    h = ladder_harness(tmp_path, sqlite_url, [{**r, "unless": "acknowledged"} for r in LADDER])
    try:
        overdue(h)
        run(h, "2026-11-23 10:00")
        [alert] = h.alerts()
        with h.app.state.begin() as conn:
            act(
                conn,
                alert.id,
                "acknowledged",
                "王科长",
                "已督办整改",
                bj("2026-11-24 10:00"),
                "acknowledged",
                ("open",),
            )
        assert run(h, "2026-11-27 09:00") == 0
        assert not ladder_notices(h, "leader")
        [stopped] = history(h, "ladder_stopped")
        assert stopped.detail == {"rung": "leader", "reason": "acknowledged"}
        with h.app.state.connect() as conn:
            states = dict(conn.execute(select(ladder_steps.c.rung, ladder_steps.c.state)).all())
        assert states == {"handler_sms": "fired", "head": "fired", "leader": "stopped"}
    finally:
        h.app.dispose()


def test_an_acknowledged_red_whose_supervision_waits_for_its_reply_still_climbs(h: Harness) -> None:
    from alerts.supervision.service import supervise
    from tests.supervision_helpers import OFFICE, settings_of

    overdue(h)
    run(h, "2026-11-23 10:00")
    [alert] = h.alerts()
    with h.app.state.begin() as conn:
        supervise(
            conn, OFFICE, alert.id, demand="rectify", reply_within_days=5, note="请于五个工作日内整改",
            now=bj("2026-11-24 09:00"), settings=settings_of(h),
        )  # fmt: skip
    with h.app.state.begin() as conn:
        act(
            conn,
            alert.id,
            "acknowledged",
            "王科长",
            "已收到督办",
            bj("2026-11-24 10:00"),
            "acknowledged",
            ("open",),
        )
    assert run(h, "2026-11-27 09:00") == 2  # unless: answered — the 督办 has no reply yet
    mail = next(n for n in ladder_notices(h, "leader") if n.channel == "email")
    # Acknowledged: the notice must not say it was not; it says what is still missing.
    assert "未确认处理" not in mail.body_text
    assert (
        "本红牌的督办函于2026年11月24日发出，至今未收到答复，按预警分级报送规定报送分管领导" in mail.body_text
    )


def test_a_yellow_that_turns_red_gets_the_red_rungs_from_its_escalation(
    tmp_path: Path, sqlite_url: str
) -> None:
    h = ladder_harness(tmp_path, sqlite_url)
    try:
        # Accepted Tuesday 11-17: yellow before the promised five working days run out.
        h.load(item(), case("C1"), event("C1", "accepted", "2026-11-17 09:00", "王五"), *PEOPLE)
        h.poll(bj("2026-11-23 10:00"))
        [alert] = h.alerts()
        assert alert.level == "yellow"
        run(h, "2026-11-23 10:00")
        assert [n.recipient for n in ladder_notices(h)] == ["sms:+8613800000002"]  # 王五 handles it
        h.poll(bj("2026-11-25 10:00"))
        [alert] = h.alerts()
        assert alert.level == "red"
        run(h, "2026-11-25 10:00")
        with h.app.state.connect() as conn:
            steps = {(s.level, s.rung): s for s in conn.execute(select(ladder_steps))}
        assert set(steps) == {
            ("yellow", "handler_sms"),
            ("red", "handler_sms"),
            ("red", "head"),
            ("red", "leader"),
        }
        # Three whole working days from the day it turned red (Wednesday), not from its first yellow.
        assert steps[("red", "leader")].due_at == bj("2026-12-01 09:00")
    finally:
        h.app.dispose()


def test_the_ladder_runs_on_each_database(tmp_path: Path, any_db_url: str) -> None:
    h = ladder_harness(tmp_path, any_db_url)
    try:
        overdue(h)
        assert run(h, "2026-11-23 10:00") == 2
        assert run(h, "2026-11-27 09:00") == 2
        assert run(h, "2026-11-30 09:00") == 0
        assert len(history(h, "ladder_rung")) == 3
    finally:
        h.app.dispose()


def test_the_case_page_shows_the_ladder_ahead_and_behind(h: Harness) -> None:
    from monitor.access import Actor
    from monitor.console.cases import case_view
    from monitor.console.context import Services

    overdue(h)
    run(h, "2026-11-23 10:00")
    services = Services(h.app.state, h.app.source, h.holder, BJ, h.config.notify)
    view = case_view(services, Actor("王监察", "office"), "C1", bj("2026-11-23 11:00"))
    [alert] = view.alerts
    steps = {(s.rung, s.state_name, s.due) for s in alert.ladder}
    assert steps == {
        ("承办人", "已报送", "2026年11月23日10时"),
        ("部门负责人", "已报送", "2026年11月23日10时"),
        ("分管领导（3个工作日未确认或督办未答复）", "待报送", "2026年11月27日9时"),
    }
    notes = {e.action_name: e.note for e in alert.history}
    assert notes["逐级报送"] in {"承办人（1条通知）", "部门负责人（1条通知）"}
