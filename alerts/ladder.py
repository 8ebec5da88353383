"""The escalation ladder (`notify.ladder`): who hears of an alert, and when, beyond its routes.

Each rung names levels, categories, roles from the people directory (承办人, 部门负责人,
分管领导, 联络员) and fixed recipients, and a number of working days. When an alert reaches
a level, every rung for that level and category becomes a scheduled step of the alert
(`sunlight_ladder_steps`): due `after_working_days` working days after the alert reached
the level, at `notify.reminder_at`, counted on the same working calendar as the time
limits (0: due at once). The sender's every run (`alerts.dispatch.deliver`) schedules the
new steps and fires the due ones: a step fires if the alert still waits — open and
unacknowledged, or with `unless: answered` also while a 督办 of it awaits its reply — and is
stopped otherwise. Firing queues one notice per recipient (kind `ladder`, over the
recipient's channel) and writes `ladder_rung` to the alert's history with the rung, the
roles, how many recipients and how long the alert had waited; a stop writes `ladder_stopped`.
Acknowledging therefore stops the ladder: the steps still ahead are stopped as they come due.

Who a role is comes from a `Reach` the caller gives (monitor.people: the directory, and the
case's own handling officer from its steps). Contact data stays in the notices' recipients;
the history names the rung and counts people, never their numbers or addresses.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, and_, exists, insert, or_, select, true, update

from alerts import history
from alerts.channels.address import parse
from alerts.outbox import insert_notice, message_id
from alerts.render import LEVEL_NAMES
from monitor.calendar import WorkCalendar
from monitor.engine.messages import fmt_date, fmt_deadline
from monitor.notifyconfig import NotifyConfig, Rung
from monitor.state.schema import alerts, ladder_steps, notices, supervisions

ROLE_NAMES = {"handler": "承办人", "department_head": "部门负责人", "leader": "分管领导", "liaison": "联络员"}
BATCH = 500  # steps scheduled or fired per transaction


class Reach(Protocol):
    """Who holds `role` for a case, as (recipient URL, greeting) pairs on `channels`."""

    def __call__(
        self, role: str, department: str, case_id: str, item_code: str, channels: Sequence[str]
    ) -> Sequence[tuple[str, str]]: ...


def nobody(
    role: str, department: str, case_id: str, item_code: str, channels: Sequence[str]
) -> Sequence[tuple[str, str]]:
    """The `Reach` without a people directory: rungs reach only their fixed recipients."""
    return ()


def due_at(rung: Rung, since: dt.datetime, cfg: NotifyConfig, cal: WorkCalendar, tz: ZoneInfo) -> dt.datetime:
    """When a rung of an alert that reached its level at `since` comes due."""
    if rung.after_working_days == 0:
        return since
    day = cal.add_working_days(since.astimezone(tz).date(), rung.after_working_days)
    return dt.datetime.combine(day, cfg.reminder_at, tzinfo=tz)


def _rungs_for(cfg: NotifyConfig, level: str, category: str) -> list[Rung]:
    return [
        r
        for r in cfg.ladder
        if level in r.levels and (not r.categories or category in {c.value for c in r.categories})
    ]


def climb(
    engine: Engine,
    cfg: NotifyConfig,
    cal: WorkCalendar,
    now: dt.datetime,
    tz: ZoneInfo,
    reach: Reach = nobody,
    *,
    console_url: str | None = None,
) -> int:
    """Schedule the steps of alerts that reached a level, then fire or stop the due ones;
    returns the notices queued."""
    if not cfg.ladder:
        return 0
    schedule(engine, cfg, cal, tz)
    queued = 0
    while True:
        with engine.begin() as conn:
            query = (
                select(ladder_steps)
                .where(ladder_steps.c.state == "scheduled", ladder_steps.c.due_at <= now)
                .order_by(ladder_steps.c.due_at, ladder_steps.c.id)
                .limit(BATCH)
            )
            if engine.dialect.name != "sqlite":
                query = query.with_for_update(skip_locked=True)
            due = conn.execute(query).all()
            journal = history.Journal()
            for step in due:
                queued += _settle(conn, journal, cfg, cal, step, now, tz, reach, console_url)
            journal.flush(conn)
        if len(due) < BATCH:
            return queued


def schedule(engine: Engine, cfg: NotifyConfig, cal: WorkCalendar, tz: ZoneInfo) -> int:
    """A step per applicable rung for every open alert at a level that has none yet."""
    wanted = or_(
        *(
            and_(
                alerts.c.level.in_([lv.value for lv in r.levels]),
                alerts.c.category.in_([c.value for c in r.categories]) if r.categories else true(),
            )
            for r in cfg.ladder
        )
    )
    has_steps = exists().where(ladder_steps.c.alert_id == alerts.c.id, ladder_steps.c.level == alerts.c.level)
    made = 0
    while True:
        with engine.begin() as conn:
            rows = conn.execute(
                select(
                    alerts.c.id, alerts.c.level, alerts.c.category, alerts.c.raised_at, alerts.c.escalated_at
                )
                .where(alerts.c.state.in_(("open", "acknowledged")), wanted, ~has_steps)
                .order_by(alerts.c.id)
                .limit(BATCH)
            ).all()
            values = []
            for a in rows:
                # A red reached by escalation counts from then; other alerts from their raising.
                since = a.escalated_at if a.level == "red" and a.escalated_at is not None else a.raised_at
                for rung in _rungs_for(cfg, a.level, a.category):
                    values.append(
                        {
                            "alert_id": a.id,
                            "level": a.level,
                            "rung": rung.name,
                            "due_at": due_at(rung, since, cfg, cal, tz),
                            "state": "scheduled",
                            "recipients": 0,
                        }
                    )
            if values:
                conn.execute(insert(ladder_steps), values)
                made += len(values)
        if len(rows) < BATCH:
            return made


def _waiting(conn: Connection, alert: Any, rung: Rung) -> bool:
    """Whether the alert still waits for what the rung is about."""
    if alert.state == "open":
        return True
    if rung.unless != "answered" or alert.state != "acknowledged":
        return False
    unanswered = conn.execute(
        select(supervisions.c.id).where(supervisions.c.alert_id == alert.id, supervisions.c.state == "issued")
    ).first()
    return unanswered is not None


def _settle(
    conn: Connection,
    journal: history.Journal,
    cfg: NotifyConfig,
    cal: WorkCalendar,
    step: Any,
    now: dt.datetime,
    tz: ZoneInfo,
    reach: Reach,
    console_url: str | None,
) -> int:
    rung = next((r for r in cfg.ladder if r.name == step.rung), None)
    alert = conn.execute(select(alerts).where(alerts.c.id == step.alert_id)).first()
    if rung is None or alert is None or alert.level != step.level or not _waiting(conn, alert, rung):
        why = (
            "rung no longer configured"
            if rung is None
            else "alert gone"
            if alert is None
            else "level changed"
            if alert.level != step.level
            else str(alert.state)
        )
        _done(conn, step, "stopped", now, 0)
        if alert is not None:
            journal.add(
                int(alert.id),
                "ladder_stopped",
                now,
                level=step.level,
                detail={"rung": step.rung, "reason": why},
            )
        return 0
    since = alert.escalated_at if alert.level == "red" and alert.escalated_at is not None else alert.raised_at
    waited = cal.working_days_between(since.astimezone(tz).date(), now.astimezone(tz).date())
    targets: dict[str, str] = {}
    for role in rung.roles:
        for url, greeting in reach(role, alert.department, alert.case_id, alert.item_code, rung.channels):
            targets.setdefault(url, greeting or ROLE_NAMES[role])
    for url in rung.recipients:
        targets.setdefault(url, alert.department)
    context = _context(conn, alert, console_url, tz)
    roles = "、".join(ROLE_NAMES[r] for r in rung.roles) or "有关人员"
    note = (
        f"本预警自{fmt_date(since.astimezone(tz).date())}起已{waited}个工作日未确认处理，按预警分级报送规定报送{roles}"
        if rung.after_working_days
        else f"按预警分级报送规定告知{roles}"
    )
    queued = 0
    for url, greeting in targets.items():
        queued += insert_notice(
            conn,
            alert_id=alert.id,
            kind="ladder",
            route=f"ladder-{rung.name}",
            recipient=url,
            channel=parse(url).channel,
            subject="",
            body_text="",
            body_html="",
            context=json.dumps(
                {
                    **context,
                    "action": "ladder",
                    "recipient_greeting": greeting,
                    "ladder_note": note,
                    "waited": waited,
                },
                ensure_ascii=False,
            ),
            message_id=message_id(alert.id, int(step.id), f"ladder-{rung.name}", url),
            status="pending",
            created_at=now,
            next_attempt_at=now,
        )
    _done(conn, step, "fired", now, queued)
    journal.add(
        int(alert.id),
        "ladder_rung",
        now,
        level=step.level,
        detail={
            "rung": rung.name,
            "roles": list(rung.roles),
            "recipients": queued,
            "working_days_open": waited,
        },
    )
    return queued


def _done(conn: Connection, step: Any, state: str, now: dt.datetime, recipients: int) -> None:
    conn.execute(
        update(ladder_steps)
        .where(ladder_steps.c.id == step.id, ladder_steps.c.state == "scheduled")
        .values(state=state, done_at=now, recipients=recipients)
    )


def _context(conn: Connection, alert: Any, console_url: str | None, tz: ZoneInfo) -> dict[str, Any]:
    """What the alert's newest notice said (the evidence as sent), else the alert itself."""
    row = conn.execute(
        select(notices.c.context)
        .where(
            notices.c.alert_id == alert.id,
            notices.c.kind.in_(("raised", "escalated", "reopened")),
            notices.c.context.is_not(None),
        )
        .order_by(notices.c.id.desc())
        .limit(1)
    ).first()
    if row is not None:
        return dict(json.loads(row.context))
    base = console_url.rstrip("/") if console_url else ""
    return {
        "recipient_greeting": alert.department,
        "alert_id": alert.id,
        "level": alert.level,
        "level_name": LEVEL_NAMES.get(alert.level, alert.level),
        "category": alert.category,
        "rule_id": alert.rule_id,
        "title": alert.title,
        "message": alert.message,
        "basis": alert.basis or "",
        "due": fmt_deadline(alert.due, tz) if alert.due else "",
        "case_id": alert.case_id,
        "item_code": alert.item_code,
        "item_name": alert.item_code,
        "department": alert.department,
        "party_label": "申请人",
        "applicant_name": "—",
        "applicant_id": "—",
        "applicant_phone": "—",
        "case_link": "",
        "console_link": f"{base}/cases/{alert.case_id}" if base else "",
        "short_link": f"{base}/s/{alert.id}" if base else "",
        "timeline": "",
        "evidence": False,
    }
