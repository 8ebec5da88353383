"""The 督办 loop's verbs: the office supervises (督办), the department replies, the office rules.

Every verb takes the caller's connection (its transaction), the `Actor`, `now` and the
`Settings`; it checks the role first (ForbiddenError: this role never takes this action),
then loads the alert as the actor may see it (NotFoundError: absent or another department's),
then the state (StateConflictError). Each action is a conditional change of the 督办 row, a
row of the alert's hash-chained history (who, when, what and the text) and its notices, all
in the caller's transaction.

A rejected reply (不予采纳) reopens the 督办: the department must answer again, within a new
period counted from the ruling, until the office accepts, transfers the matter to 责任追究,
or (on an appeal) revokes the card. docs/supervision.md gives the office's reading.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from alerts import history, lifecycle
from alerts.supervision import notices, store
from alerts.supervision.model import (
    DECISION_NAMES,
    DEMAND_NAMES,
    MAX_TEXT,
    MEASURES,
    OPEN_STATES,
    REPLY_NAMES,
    InvalidInputError,
    Settings,
    Supervision,
)
from monitor.access import Actor, ForbiddenError, StateConflictError
from monitor.errors import NotFoundError
from monitor.state.schema import alerts, supervisions
from monitor.timeutil import end_of_day

NOT_OFFICE = {
    "department": "只有纪检监察室可以{what}，承办单位不能{what}",
    "operator": "运维人员不能{what}，该操作由纪检监察室办理",
}


def _office_only(actor: Actor, what: str) -> None:
    if actor.role != "office":
        raise ForbiddenError(NOT_OFFICE[actor.role].format(what=what))


def _text(value: str | None, what: str, *, required: bool) -> str:
    text = (value or "").strip()
    if required and not text:
        raise InvalidInputError(f"{what}不能为空")
    if len(text) > MAX_TEXT:
        raise InvalidInputError(f"{what}不能超过{MAX_TEXT}字")
    return text


def due_of(settings: Settings, start: datetime, days: int) -> tuple[datetime, bool]:
    """24:00 of the `days`-th working day after `start`'s day, on the engine's calendar (the
    start day is not counted), and whether a holiday notice not yet published may move it."""
    first = start.astimezone(settings.tz).date()
    last = settings.calendar.add_working_days(first, days)
    return end_of_day(last, settings.tz), settings.calendar.provisional_between(first, last)


def _days(settings: Settings, value: int) -> int:
    if not 1 <= value <= settings.max_reply_days:
        raise InvalidInputError(f"答复期限应为1至{settings.max_reply_days}个工作日")
    return value


def supervise(
    conn: Connection,
    actor: Actor,
    alert_id: int,
    *,
    demand: str,
    reply_within_days: int,
    note: str,
    now: datetime,
    settings: Settings,
) -> Supervision:
    """Issue a 工作督办函 on an open red or yellow alert; the department is mailed."""
    _office_only(actor, "发出督办")
    if demand not in DEMAND_NAMES:
        raise InvalidInputError("督办要求应为“限期整改”（rectify）或“作出书面说明”（explain）")
    days = _days(settings, reply_within_days)
    text = _text(note, "督办意见", required=False)
    alert = store.visible_alert(conn, actor, alert_id)
    if alert.state not in lifecycle.OPEN_STATES or alert.level not in ("red", "yellow"):
        raise StateConflictError("该预警已解除或已办结，不能督办")
    store.check_none_open(conn, alert_id)
    due, provisional = due_of(settings, now, days)
    row = store.insert(
        conn,
        {
            "alert_id": alert_id,
            "open_alert_id": alert_id,
            "case_id": alert.case_id,
            "department": alert.department,
            "demand": demand,
            "note": text,
            "issued_by": actor.name,
            "issued_at": now,
            "reply_within_days": days,
            "reply_due": due,
            "reply_due_provisional": provisional,
            "round": 1,
            "round_started_at": now,
            "state": "issued",
            "updated_at": now,
            "version": 1,
        },
        now.astimezone(settings.tz).year,
    )
    s = Supervision.of_row(row, now)
    history.append(
        conn,
        alert_id,
        "supervised",
        now,
        level=alert.level,
        actor=actor.name,
        detail={
            "supervision": s.id,
            "number": s.number,
            "demand": demand,
            "reply_within_days": days,
            "reply_due": due.isoformat(),
            "note": text,
        },
    )
    ctx = notices.context(s, alert, settings, conn)
    notices.queue(
        conn, kind="supervision", template="supervision_issued", routes=(notices.DEPARTMENT,),
        s=s, ctx=ctx, settings=settings, now=now,
    )  # fmt: skip
    return s


def _current(conn: Connection, alert_id: int) -> Any:
    row = store.current(conn, alert_id)
    if row is None:
        raise StateConflictError("该预警尚未督办，没有可答复或审核的督办")
    return row


def reply(
    conn: Connection, actor: Actor, alert_id: int, *, kind: str, text: str, now: datetime, settings: Settings
) -> Supervision:
    """The alert's department answers its open 督办 (整改, 书面说明 or 申诉); the office is
    mailed, and a `supervision` alert raised for a missed deadline is cured."""
    if actor.role == "office":
        raise ForbiddenError("纪检监察室不能代替承办单位答复督办，答复须由被督办单位提交")
    if actor.role != "department":
        raise ForbiddenError("运维人员不能答复督办，答复须由被督办单位提交")
    if kind not in REPLY_NAMES:
        raise InvalidInputError(
            "答复类型应为“已整改”（rectified）、“书面说明”（explained）或“申诉”（appeal）"
        )
    body = _text(text, "答复内容", required=True)
    alert = store.visible_alert(conn, actor, alert_id)
    row = _current(conn, alert_id)
    if row.state == "replied":
        raise StateConflictError("该督办已答复，正在等待纪检监察室审核，不能重复答复")
    if row.state != "issued":
        raise StateConflictError("该督办已办结，不能再答复")
    late = now >= row.reply_due
    busy = "该督办刚刚已被答复，请刷新后查看"
    values = {
        "state": "replied",
        "reply_kind": kind,
        "reply_text": body,
        "replied_by": actor.name,
        "replied_at": now,
    }
    row = store.change(conn, row, "issued", values, now, busy)
    s = Supervision.of_row(row, now)
    journal = history.Journal()
    journal.add(
        alert_id,
        "replied",
        now,
        level=alert.level,
        actor=actor.name,
        detail={
            "supervision": s.id,
            "number": s.number,
            "round": s.round,
            "kind": kind,
            "text": body,
            "late": late,
        },
    )
    if row.overdue_alert_id is not None:
        overdue = conn.execute(select(alerts).where(alerts.c.id == row.overdue_alert_id)).first()
        if overdue is not None and overdue.state in lifecycle.OPEN_STATES:
            note = f"督办{s.number}已于{now.astimezone(settings.tz):%Y-%m-%d %H:%M}答复"
            lifecycle.cure(conn, overdue, now, journal, actor=actor.name, note=note)
    journal.flush(conn)
    ctx = notices.context(s, alert, settings, conn) | {"late": late}
    notices.queue(
        conn, kind="reply", template="supervision_replied", routes=(notices.OFFICE,),
        s=s, ctx=ctx, settings=settings, now=now,
    )  # fmt: skip
    return s


def rule(
    conn: Connection,
    actor: Actor,
    alert_id: int,
    *,
    decision: str,
    note: str,
    person: str | None = None,
    measure: str | None = None,
    now: datetime,
    settings: Settings,
    reply_within_days: int | None = None,
) -> Supervision:
    """The office rules on a reply. `rejected` reopens the 督办 for another reply within
    `reply_within_days` (the first period when not given) working days; the other decisions
    end it and close the alert (kept as evidence; `revoked` also leaves the monthly report)."""
    _office_only(actor, "审核督办答复")
    if decision not in DECISION_NAMES:
        raise InvalidInputError("审核结论应为采纳、不予采纳、转责任追究或撤销预警")
    ruling = _text(note, "审核意见", required=decision != "accepted")
    who = (person or "").strip()
    how = (measure or "").strip()
    if decision == "accountability":
        if not who:
            raise InvalidInputError("转责任追究须写明责任人")
        if how not in MEASURES:
            raise InvalidInputError(f"追责方式应为以下之一：{'、'.join(MEASURES)}")
    elif who or how:
        raise InvalidInputError("只有转责任追究时才填写责任人和追责方式")
    alert = store.visible_alert(conn, actor, alert_id)
    row = _current(conn, alert_id)
    if row.state == "issued":
        raise StateConflictError("尚未收到承办单位的答复，不能审核")
    if row.state != "replied":
        raise StateConflictError("该督办已办结，不能再次审核")
    if decision == "revoked" and row.reply_kind != "appeal":
        raise StateConflictError("只有承办单位提出申诉时，才能作出撤销预警的决定")
    if decision == "accepted" and row.reply_kind == "appeal":
        raise StateConflictError("对申诉应作出“申诉成立，撤销预警”或“不予采纳”的决定")
    values: dict[str, Any] = {
        "decision": decision,
        "ruling_note": ruling,
        "ruled_by": actor.name,
        "ruled_at": now,
        "person": who or None,
        "measure": how or None,
    }
    if decision == "rejected":
        days = _days(settings, reply_within_days if reply_within_days is not None else row.reply_within_days)
        due, provisional = due_of(settings, now, days)
        values |= {
            "state": "issued",
            "round": row.round + 1,
            "round_started_at": now,
            "reply_within_days": days,
            "reply_due": due,
            "reply_due_provisional": provisional,
            "reply_kind": None,
            "reply_text": None,
            "replied_by": None,
            "replied_at": None,
        }
    else:
        values |= {"state": "ruled", "open_alert_id": None}
    before = Supervision.of_row(row, now)  # the reply ruled on, for the record and the notice
    row = store.change(conn, row, "replied", values, now, "该督办刚刚已被审核，请刷新后查看")
    s = Supervision.of_row(row, now)
    detail: dict[str, Any] = {
        "supervision": s.id,
        "number": s.number,
        "round": before.round,
        "decision": decision,
        "note": ruling,
        "reply_kind": before.reply_kind,
    }
    if decision == "accountability":
        detail |= {"person": who, "measure": how}
    if decision == "rejected":
        detail |= {"reply_due": s.reply_due.isoformat(), "reply_within_days": s.reply_within_days}
    history.append(conn, alert_id, "ruled", now, level=alert.level, actor=actor.name, detail=detail)
    if decision != "rejected" and alert.state in lifecycle.OPEN_STATES:
        lifecycle.close(conn, alert_id, actor.name, f"督办{s.number}：{DECISION_NAMES[decision]}", now)
    ctx = notices.context(s, alert, settings, conn) | {
        "ruled_reply_kind_name": REPLY_NAMES.get(before.reply_kind or "", ""),
        "ruled_reply_text": before.reply_text or "",
    }
    notices.queue(
        conn, kind="ruling", template="supervision_ruled", routes=(notices.DEPARTMENT,),
        s=s, ctx=ctx, settings=settings, now=now, tag=str(before.round),
    )  # fmt: skip
    return s


def _reader(actor: Actor) -> None:
    if not actor.sees_cases:
        raise ForbiddenError("运维人员不能查看督办")


def open_supervisions(conn: Connection, actor: Actor, *, now: datetime) -> list[Supervision]:
    """The open 督办 the actor may see (a department: its own), soonest deadline first."""
    _reader(actor)
    query = select(supervisions).where(supervisions.c.state.in_(OPEN_STATES))
    if actor.role == "department":
        query = query.where(supervisions.c.department == actor.department)
    rows = conn.execute(query.order_by(supervisions.c.reply_due, supervisions.c.id))
    return [Supervision.of_row(r, now) for r in rows]


def of_alert(conn: Connection, actor: Actor, alert_id: int, *, now: datetime) -> list[Supervision]:
    """Every 督办 of one alert, oldest first; NotFoundError where the actor may not see it."""
    _reader(actor)
    store.visible_alert(conn, actor, alert_id)
    return [Supervision.of_row(r, now) for r in store.of_alert(conn, alert_id)]


def get(conn: Connection, actor: Actor, supervision_id: int, *, now: datetime) -> Supervision:
    """One 督办 by its id (the letter's page); NotFoundError where the actor may not see it."""
    _reader(actor)
    row = store.by_id(conn, supervision_id)
    if row is None:
        raise NotFoundError(f"supervision {supervision_id} not found")
    actor.check_sees(row.department, f"supervision {supervision_id}")
    return Supervision.of_row(row, now)
