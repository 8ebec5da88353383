"""The 督办's mail: the 工作督办函 to the department, the reply to the office, the ruling back
to the department, and the `supervision` alert to the office and the department head.

Each is an outbox row written in the verb's transaction with its template context; the
sender renders it (alerts.render, templates `supervision_*`). A 督办's notices go to the
route's addresses whatever the route's levels: the office asked for the reply, whatever the
card's colour.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from alerts.audit.keys import has_keys
from alerts.digest import next_slot
from alerts.outbox import message_tag
from alerts.render import LEVEL_NAMES, case_link, console_link
from alerts.supervision.model import (
    DECISION_NAMES,
    DEMAND_ACTIONS,
    DEMAND_NAMES,
    REPLY_NAMES,
    Settings,
    Supervision,
    fmt_due,
)
from monitor.engine.messages import fmt_instant
from monitor.state.schema import notices

OFFICE = "discipline_office"
DEPARTMENT = "department"
# The head of the handling department hears of an unanswered 督办; without a route of that
# name the department's own route is used.
DEPARTMENT_HEAD = "department_head"
GREETING_OFFICE = "纪检监察室（效能监察科）"


def context(s: Supervision, alert: Any, settings: Settings, conn: Connection) -> dict[str, Any]:
    """What every 督办 notice says of the 督办 and the alert it is about."""
    tz = settings.tz
    return {
        "number": s.number,
        "round": s.round,
        "alert_id": s.alert_id,
        "case_id": s.case_id,
        "item_code": alert.item_code,
        "department": s.department,
        "alert_title": alert.title,
        "alert_message": alert.message,
        "alert_basis": alert.basis or "",
        "alert_level_name": LEVEL_NAMES.get(alert.level, alert.level),
        "alert_raised_at": fmt_instant(alert.raised_at, tz),
        "demand": s.demand,
        "demand_name": DEMAND_NAMES[s.demand],
        "demand_action": DEMAND_ACTIONS[s.demand],
        "note": s.note,
        "issued_by": s.issued_by,
        "issued_at": fmt_instant(s.issued_at, tz),
        "reply_within_days": s.reply_within_days,
        "reply_due": fmt_due(s.reply_due, tz),
        "reply_due_provisional": s.reply_due_provisional,
        "reply_kind": s.reply_kind or "",
        "reply_kind_name": REPLY_NAMES.get(s.reply_kind or "", ""),
        "reply_text": s.reply_text or "",
        "replied_by": s.replied_by or "",
        "replied_at": fmt_instant(s.replied_at, tz) if s.replied_at else "",
        "decision": s.decision or "",
        "decision_name": DECISION_NAMES.get(s.decision or "", ""),
        "ruling_note": s.ruling_note or "",
        "ruled_by": s.ruled_by or "",
        "person": s.person or "",
        "measure": s.measure or "",
        "case_link": case_link(settings.notify.case_url, s.case_id),
        # Where the department answers and the office rules: the console's case page.
        "console_link": console_link(settings.console_url, s.case_id) if settings.console_url else "",
        "evidence": has_keys(conn),
    }


def queue(
    conn: Connection,
    *,
    kind: str,
    template: str,
    routes: tuple[str, ...],
    s: Supervision,
    ctx: dict[str, Any],
    settings: Settings,
    now: datetime,
    alert_id: int | None = None,
    tag: str = "",
    silenced: bool = False,
) -> int:
    """Write one notice per recipient of `routes` (a recipient listed twice gets one);
    `silenced`: kept with that status, never mailed."""
    cfg = settings.notify
    rows: dict[str, dict[str, Any]] = {}
    for name in routes:
        route = cfg.routes.get(name)
        if route is None:
            continue
        if silenced:
            status, at = "silenced", now
        elif route.mode != "immediate":
            status, at = "held", next_slot(route, now, settings.calendar, settings.tz)
        else:
            status, at = "pending", now
        greeting = GREETING_OFFICE if name == OFFICE else s.department
        for recipient in route.recipients_for(s.department):
            mid = f"<sunlight.sup{s.id}.{s.round}.{kind}{tag}.{name}.{message_tag(recipient)}@sunlight.local>"
            if mid in rows:
                continue
            body = {**ctx, "template": template, "recipient_greeting": greeting}
            rows[mid] = {
                "alert_id": s.alert_id if alert_id is None else alert_id,
                "kind": kind,
                "route": name,
                "recipient": recipient,
                "subject": "",
                "body_text": "",
                "body_html": "",
                "context": json.dumps(body, ensure_ascii=False),
                "message_id": mid,
                "status": status,
                "created_at": now,
                "next_attempt_at": at,
                "attempts": 0,
            }
    if rows:
        conn.execute(notices.insert(), list(rows.values()))
    return len(rows)


def head_routes(settings: Settings) -> tuple[str, ...]:
    """The office and the department head (or the department, without a head route)."""
    head = DEPARTMENT_HEAD if DEPARTMENT_HEAD in settings.notify.routes else DEPARTMENT
    return (OFFICE, head)
