"""The notice outbox: notices are rows written in the same transaction as the alert change
that causes them, so a change is never lost and never mailed twice. A sender drains them.
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from alerts import history, silences
from alerts.audit.keys import has_keys
from alerts.channels.address import parse
from alerts.digest import next_slot
from alerts.lifecycle import Transition
from alerts.render import case_link, console_link, mask_id, mask_name, mask_phone
from monitor.calendar import WorkCalendar
from monitor.config import NotifyConfig
from monitor.engine.messages import fmt_deadline
from monitor.model import Case
from monitor.state.schema import notices

NOTIFYING_ACTIONS = frozenset({"raised", "escalated", "reopened"})
ROUTE_GREETINGS = {"discipline_office": "纪检监察室（效能监察科）", "operators": "系统运维人员"}


@lru_cache(maxsize=4096)
def channel_of(recipient: str) -> str:
    """The channel a recipient is reached on (the routes' recipients are checked on load)."""
    return parse(recipient).channel


@dataclass(frozen=True, slots=True)
class NoticeRow:
    """A notice as queued: what it is about, to whom and how, and its template context (the
    sender renders it, and keeps the subject and bodies with the outcome)."""

    alert_id: int | None
    kind: str
    route: str
    recipient: str
    channel: str
    context: str | None
    message_id: str
    status: str  # pending, held (for a digest slot) or silenced
    created_at: datetime
    next_attempt_at: datetime
    subject: str = ""
    body_text: str = ""
    body_html: str = ""

    def values(self) -> dict[str, Any]:
        """The row for `sunlight_notices`, attempts not yet counted."""
        return {**{f.name: getattr(self, f.name) for f in fields(self)}, "attempts": 0}


def message_tag(recipient: str) -> str:
    return hashlib.sha256(recipient.encode()).hexdigest()[:10]


def message_id(alert_id: int, version: int, route: str, recipient: str) -> str:
    """Stable per notice, so mail systems can drop a rare duplicate sent after a crash."""
    return f"<sunlight.{alert_id}.{version}.{route}.{message_tag(recipient)}@sunlight.local>"


def enqueue(
    conn: Connection,
    transition: Transition,
    case: Case,
    explanation: str,
    party_label: str,
    cfg: NotifyConfig,
    calendar: WorkCalendar,
    now: datetime,
    tz: ZoneInfo,
    *,
    journal: history.Journal | None = None,
    active_silences: list[Any] | None = None,
    into: list[NoticeRow] | None = None,
    console_url: str | None = None,
) -> int:
    """Write the notices one transition causes; returns how many were written.

    A silenced alert's notices are written `silenced` (kept, never mailed); a digest
    route's are `held` until its next slot; a route for the office above hears only of
    reds left unacknowledged (see `alerts.reminders`). With `into`, the notices are added to
    that list instead of written. `console_url` (`web.base_url`): each notice links to the
    case's page in the console too."""
    f = transition.finding
    if transition.action not in NOTIFYING_ACTIONS or f is None:
        return 0
    if active_silences is None:
        silence = silences.matching(conn, case.case_id, f.rule_id, case.department, now)
    else:
        silence = silences.pick(active_silences, case.case_id, f.rule_id, case.department)
    if silence is not None:
        with history.gathering(conn, journal) as gathered:
            gathered.add(
                transition.alert_id,
                "silenced",
                now,
                level=f.level.value,
                actor=silence.created_by,
                detail=silences.detail(silence),
            )
    evidence = has_keys(conn)
    rows: dict[str, NoticeRow] = {}  # by Message-ID: a recipient listed twice gets one
    for route_name in f.notify:
        route = cfg.routes.get(route_name)
        if route is None or f.level not in route.levels or route.escalate_after_working_days:
            continue
        if route.categories and f.category not in route.categories:
            continue
        if silence is not None:
            status, at = "silenced", now
        elif route.mode != "immediate":
            status, at = "held", next_slot(route, now, calendar, tz)
        else:
            status, at = "pending", now
        for recipient in route.recipients_for(case.department):
            context = {
                "recipient_greeting": ROUTE_GREETINGS.get(route_name, case.department),
                "action": transition.action,
                "alert_id": transition.alert_id,
                "level": f.level.value,
                "category": f.category.value,
                "rule_id": f.rule_id,
                "title": f.title,
                "message": f.message,
                "basis": f.basis,
                "due": fmt_deadline(f.due, tz) if f.due else "",
                "case_id": case.case_id,
                "item_code": case.item_code,
                "item_name": case.item.name if case.item else "（不在职权目录中）",
                "department": case.department,
                "party_label": party_label,
                "applicant_name": mask_name(case.applicant.name),
                "applicant_id": mask_id(case.applicant.id_number),
                "applicant_phone": mask_phone(case.applicant.phone),
                "case_link": case_link(cfg.case_url, case.case_id),
                "console_link": console_link(console_url, case.case_id) if console_url else "",
                # For an SMS: the console's short address of the alert (monitor.web: /s/ID).
                "short_link": f"{console_url.rstrip('/')}/s/{transition.alert_id}" if console_url else "",
                "timeline": explanation,
                # True when the change this notice reports is written to the keyed chain
                # (the connection carries the key); the footer claims only what holds.
                "evidence": evidence,
            }
            mid = message_id(transition.alert_id, transition.version, route_name, recipient)
            if mid in rows:
                continue
            # Rendered by the sender (alerts.render.with_content), outside this transaction.
            rows[mid] = NoticeRow(
                alert_id=transition.alert_id,
                kind=transition.action,
                route=route_name,
                recipient=recipient,
                channel=channel_of(recipient),
                context=json.dumps(context, ensure_ascii=False),
                message_id=mid,
                status=status,
                created_at=now,
                next_attempt_at=at,
            )
    if into is not None:
        into.extend(rows.values())  # the caller writes a batch's notices at once (`write`)
    else:
        write(conn, list(rows.values()))
    return len(rows)


def write(conn: Connection, rows: Sequence[NoticeRow]) -> None:
    """Queue notices built by `enqueue`. One statement, no savepoint: a transition's version
    is new, so its Message-IDs cannot be queued already; the alert changes and their notices
    commit together."""
    if rows:
        conn.execute(notices.insert(), [r.values() for r in rows])


def insert_notice(conn: Connection, **values: Any) -> int:
    """Queue one notice; 0 when its Message-ID is already queued (a retried transition)."""
    try:
        with conn.begin_nested():
            conn.execute(notices.insert().values(attempts=0, **values))
    except IntegrityError:
        return 0
    return 1


def notify_operators(engine: Engine, cfg: NotifyConfig, title: str, lines: list[str], now: datetime) -> int:
    """Queue a notice to the `operators` route (if configured) about the daemon itself."""
    route = cfg.routes.get("operators")
    if route is None:
        return 0
    body = "\n".join(lines)
    tag = hashlib.sha256((title + body).encode()).hexdigest()[:16]
    queued = 0
    with engine.begin() as conn:
        for recipient in route.recipients:
            queued += insert_notice(
                conn,
                alert_id=None,
                kind="operations",
                route="operators",
                recipient=recipient,
                channel=channel_of(recipient),
                subject=f"【阳光监察·运维】{title}",
                body_text=f"{title}：\n\n{body}\n",
                body_html=f"<p>{html.escape(title)}：</p><pre>{html.escape(body)}</pre>",
                message_id=f"<sunlight.ops.{tag}.{message_tag(recipient)}@sunlight.local>",
                status="pending",
                created_at=now,
                next_attempt_at=now,
            )
    return queued
