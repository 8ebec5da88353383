"""Reminders and escalation above: a red alert nobody acknowledges keeps coming back.

Every `notify.reminder_working_days` working days (at `notify.reminder_at`) an open red
alert is mailed again to the routes that heard of it; a route with
`escalate_after_working_days: N` (the office above) hears of it once it has stayed open N
working days. Both copy the alert's first notice, which is the evidence as it was sent, under
a subject that says how long it has waited.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, and_, select, update

from alerts import history
from alerts.outbox import channel_of, insert_notice, message_id
from alerts.render import one_line, with_content
from monitor.calendar import WorkCalendar
from monitor.config import NotifyConfig
from monitor.engine.messages import fmt_date
from monitor.state.schema import alerts, notices


def next_reminder(cfg: NotifyConfig, cal: WorkCalendar, since: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """`reminder_at` on the working day `reminder_working_days` after `since`."""
    day = cal.add_working_days(since.astimezone(tz).date(), cfg.reminder_working_days)
    return dt.datetime.combine(day, cfg.reminder_at, tzinfo=tz)


def _originals(alert_id: int) -> Any:
    """The notices an alert's own changes caused (not reminders, not digests)."""
    return select(notices).where(
        notices.c.alert_id == alert_id, notices.c.kind.in_(("raised", "escalated", "reopened"))
    )


def _first_notice(conn: Connection, alert_id: int) -> Any | None:
    return conn.execute(_originals(alert_id).order_by(notices.c.id.desc()).limit(1)).first()


def send_reminders(
    engine: Engine, cfg: NotifyConfig, cal: WorkCalendar, now: dt.datetime, tz: ZoneInfo
) -> int:
    """Queue reminders for every open red alert whose reminder time has come."""
    queued = 0
    with engine.begin() as conn:
        query = select(alerts).where(
            alerts.c.next_reminder_at <= now, alerts.c.state == "open", alerts.c.level == "red"
        )
        if engine.dialect.name != "sqlite":
            query = query.with_for_update(skip_locked=True)
        for alert in conn.execute(query).all():
            waited = cal.working_days_between(
                alert.raised_at.astimezone(tz).date(), now.astimezone(tz).date()
            )
            latest: dict[tuple[str, str], Any] = {}
            for n in conn.execute(_originals(alert.id).order_by(notices.c.id)):
                latest[(n.route, n.recipient)] = n  # the newest notice per route and recipient
            for original in latest.values():
                queued += _reminder(conn, original, alert, waited, now)
            moved = conn.execute(
                update(alerts)
                .where(alerts.c.id == alert.id, alerts.c.version == alert.version)
                .values(
                    next_reminder_at=next_reminder(cfg, cal, now, tz),
                    version=alert.version + 1,
                    updated_at=now,
                )
            )
            if moved.rowcount == 1:
                history.append(
                    conn, alert.id, "reminded", now, level="red", detail={"working_days_open": waited}
                )
        queued += _escalate_above(conn, engine, cfg, cal, now, tz)
    return queued


def _for_channel(original: Any, channel: str, **extra: Any) -> str | None:
    """A channel message is rendered from its context by the sender: the original's, saying
    what this copy is; an e-mail copy carries its own subject and bodies instead."""
    if channel == "email" or not original.context:
        return None
    return json.dumps({**json.loads(original.context), **extra}, ensure_ascii=False)


def _reminder(conn: Connection, original: Any, alert: Any, waited: int, now: dt.datetime) -> int:
    original = with_content(original)
    return insert_notice(
        conn,
        alert_id=alert.id,
        kind="reminder",
        route=original.route,
        recipient=original.recipient,
        channel=original.channel,
        context=_for_channel(original, original.channel, action="reminder", waited=waited),
        subject=one_line(f"【再次提醒·已{waited}个工作日未处理】{original.subject}")[:500],
        body_text=f"本预警自 {alert.raised_at:%Y-%m-%d} 起已{waited}个工作日未确认处理，再次提醒。\n\n"
        + original.body_text,
        body_html=f"<p><strong>本预警已{waited}个工作日未确认处理，再次提醒。</strong></p>"
        + original.body_html,
        message_id=message_id(alert.id, waited, f"{original.route}.reminder", original.recipient),
        status="pending",
        created_at=now,
        next_attempt_at=now,
    )


def _escalate_above(
    conn: Connection, engine: Engine, cfg: NotifyConfig, cal: WorkCalendar, now: dt.datetime, tz: ZoneInfo
) -> int:
    """Tell the office above of red alerts left open its number of working days, once."""
    queued = 0
    for name, route in cfg.routes.items():
        n = route.escalate_after_working_days
        if not n:
            continue
        # Working days are at least as long as natural ones: a cheap superset, filtered below.
        horizon = now - dt.timedelta(days=n)
        already = select(notices.c.alert_id).where(notices.c.route == name, notices.c.kind == "above")
        candidates = conn.execute(
            select(alerts).where(
                and_(alerts.c.state == "open", alerts.c.level == "red", alerts.c.raised_at <= horizon),
                alerts.c.id.not_in(already),
            )
        ).all()
        for alert in candidates:
            waited = cal.working_days_between(
                alert.raised_at.astimezone(tz).date(), now.astimezone(tz).date()
            )
            if waited < n or (route.categories and alert.category not in route.categories):
                continue
            first = _first_notice(conn, alert.id)
            if first is None:
                continue
            original = with_content(first)
            for recipient in route.recipients_for(alert.department):
                queued += insert_notice(
                    conn,
                    alert_id=alert.id,
                    kind="above",
                    route=name,
                    recipient=recipient,
                    channel=channel_of(recipient),
                    context=_for_channel(first, channel_of(recipient), action="above", waited=waited),
                    subject=one_line(f"【提请督办·红牌已{waited}个工作日未处理】{original.subject}")[:500],
                    body_text=f"以下红牌预警自{fmt_date(alert.raised_at.astimezone(tz).date())}起已{waited}个工作日未确认处理，"
                    f"按规定报送上级督办。\n\n{original.body_text}",
                    body_html=f"<p><strong>以下红牌预警已{waited}个工作日未确认处理，报送上级督办。</strong></p>"
                    + original.body_html,
                    message_id=message_id(alert.id, 0, f"{name}.above", recipient),
                    status="pending",
                    created_at=now,
                    next_attempt_at=now,
                )
            history.append(
                conn,
                alert.id,
                "escalated_above",
                now,
                level="red",
                detail={"route": name, "working_days_open": waited},
            )
    return queued
