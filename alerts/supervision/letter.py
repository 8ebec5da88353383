"""The printable 工作督办函: a whole HTML page (A4, a print stylesheet) for one 督办.

The web console serves it at `/supervisions/{id}/letter`; `sunlight supervision letter ID`
writes it to standard output. The facts are the alert's as recorded when it was raised (its
title, the finding's sentence with its evidence, the basis), not a new evaluation.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import Connection

from alerts.render import LEVEL_NAMES, TEMPLATES, case_link
from alerts.supervision import service, store
from alerts.supervision.model import DEMAND_ACTIONS, DEMAND_NAMES, Settings, fmt_due
from monitor.access import Actor
from monitor.engine.messages import fmt_date, fmt_deadline, fmt_instant


@cache
def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        autoescape=True,
        auto_reload=False,
    )


def render_letter(
    conn: Connection,
    actor: Actor,
    supervision_id: int,
    *,
    now: datetime,
    settings: Settings,
    issuer: str = "纪检监察室",
) -> str:
    """The letter of one 督办 as the actor may see it (NotFoundError otherwise)."""
    s = service.get(conn, actor, supervision_id, now=now)
    alert = store.visible_alert(conn, actor, s.alert_id)
    tz = settings.tz
    # A reopened 督办's letter shows the round's period: the one the department must meet.
    return (
        _env()
        .get_template("supervision_letter.html.j2")
        .render(
            number=s.number,
            round=s.round,
            department=s.department,
            case_id=s.case_id,
            item_code=alert.item_code,
            level_name=LEVEL_NAMES.get(alert.level, alert.level),
            alert_id=s.alert_id,
            alert_title=alert.title,
            alert_message=alert.message,
            alert_basis=alert.basis or "",
            alert_raised_at=fmt_instant(alert.raised_at, tz),
            alert_due=fmt_deadline(alert.due, tz) if alert.due else "",
            demand_name=DEMAND_NAMES[s.demand],
            demand_action=DEMAND_ACTIONS[s.demand],
            note=s.note,
            reply_within_days=s.reply_within_days,
            reply_due=fmt_due(s.reply_due, tz),
            reply_due_provisional=s.reply_due_provisional,
            issuer=issuer,
            issued_by=s.issued_by,
            issued_on=fmt_date(s.issued_at.astimezone(tz).date()),
            case_link=case_link(settings.notify.case_url, s.case_id),
        )
    )
