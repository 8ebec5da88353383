"""Digests: recipients who asked for them get one mail per slot instead of one per notice.

Notices for a digest route are written `held` with the slot as their time; when the slot
comes, each recipient's held notices become one digest notice (queued like any other) and
are marked `digested`. Slots fall in working hours on working days unless the route says
otherwise, so nobody gets a digest at night or on a holiday.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select, update

from alerts.audit.anchors import read_head
from alerts.render import WithContent, mask_address, mask_addresses, one_line, render_digest, with_content
from monitor.calendar import WorkCalendar
from monitor.config import NotifyConfig, Route
from monitor.engine.messages import fmt_instant
from monitor.state.schema import notices


def _open_day(route: Route, cal: WorkCalendar, day: dt.date) -> bool:
    return route.digest_on_rest_days or cal.is_workday(day)


def next_slot(route: Route, now: dt.datetime, cal: WorkCalendar, tz: ZoneInfo) -> dt.datetime:
    """The first digest slot at or after `now` for this route."""
    local = now.astimezone(tz)
    day = local.date()
    if route.mode == "daily":
        if local.time() > route.daily_at:
            day += dt.timedelta(days=1)
        while not _open_day(route, cal, day):
            day += dt.timedelta(days=1)
        return dt.datetime.combine(day, route.daily_at, tzinfo=tz)
    start, end = route.work_hours
    top = local.replace(minute=0, second=0, microsecond=0)
    slot = top if top == local else top + dt.timedelta(hours=1)
    first = _ceil_hour(start)
    if slot.date() == day and _open_day(route, cal, day) and first <= slot.time() <= end:
        return slot
    if slot.date() == day and _open_day(route, cal, day) and slot.time() < first:
        return dt.datetime.combine(day, first, tzinfo=tz)
    day += dt.timedelta(days=1)
    while not _open_day(route, cal, day):
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, first, tzinfo=tz)


def _ceil_hour(t: dt.time) -> dt.time:
    if t.minute == 0 and t.second == 0:
        return t.replace(microsecond=0)
    return dt.time(min(t.hour + 1, 23), 0)


def build_digests(engine: Engine, cfg: NotifyConfig, now: dt.datetime, tz: ZoneInfo) -> int:
    """Turn each recipient's due held notices into one digest notice; returns how many.

    A held notice that cannot be rendered (its context broken) is set aside alone, failed
    with the reason, and the operators told; the rest of its recipient's digest goes out."""
    made = 0
    broken: list[tuple[Any, Exception]] = []
    with engine.begin() as conn:
        query = (
            select(notices)
            .where(notices.c.status == "held", notices.c.next_attempt_at <= now)
            .order_by(notices.c.route, notices.c.recipient, notices.c.id)
        )
        if engine.dialect.name != "sqlite":
            query = query.with_for_update(skip_locked=True)
        groups: dict[tuple[str, str], list[WithContent]] = defaultdict(list)
        for row in conn.execute(query):
            try:
                groups[(row.route, row.recipient)].append(with_content(row))
            except Exception as exc:  # noqa: BLE001 - whatever it is, it is this notice's alone
                broken.append((row, exc))
        for row, error in broken:
            conn.execute(
                update(notices)
                .where(notices.c.id == row.id, notices.c.status == "held")
                .values(status="failed", last_error=_reason(error), next_attempt_at=now)
            )
        # The office keeps each digest: its line with the head of the history is an anchor
        # outside the database that `audit verify --anchor SEQ:HMAC` can be given.
        head = read_head(conn) if groups else None
        keyed = head is not None and head.key_id is not None
        for (route, recipient), rows in groups.items():
            slot = max(r.next_attempt_at for r in rows)
            content = render_digest(
                {
                    "recipient": recipient,
                    "count": len(rows),
                    "slot": fmt_instant(slot, tz),
                    "items": [{"subject": c.subject, "text": c.body_text} for c in rows],
                    "anchor_line": head.digest_line() if head is not None and keyed else "",
                    "evidence": keyed,
                }
            )
            tag = hashlib.sha256(f"{route}|{recipient}|{rows[0].id}".encode()).hexdigest()[:16]
            inserted = conn.execute(
                notices.insert().values(
                    alert_id=None,
                    kind="digest",
                    route=route,
                    recipient=recipient,
                    subject=one_line(content.subject),
                    body_text=content.text,
                    body_html=content.html,
                    message_id=f"<sunlight.digest.{tag}@sunlight.local>",
                    status="pending",
                    attempts=0,
                    created_at=now,
                    next_attempt_at=now,
                )
            ).inserted_primary_key
            assert inserted is not None
            conn.execute(
                update(notices)
                .where(notices.c.id.in_([r.id for r in rows]), notices.c.status == "held")
                .values(status="digested", digest_id=int(inserted[0]))
            )
            made += 1
    from alerts.outbox import notify_operators  # outbox imports this module for its slots

    for row, error in broken:  # after the commit: the operators' notice is its own transaction
        notify_operators(
            engine,
            cfg,
            "一条待汇总通知无法生成，已单独搁置",
            [
                f"通知编号：{row.id}（{row.kind}，路由 {row.route}）",
                f"收件人：{mask_address(row.recipient)}",
                f"原因：{mask_addresses(str(error))}",
                "该通知已标记为失败（failed），同一收件人的其余通知照常汇总发送。",
                "请修正来源数据后，按需人工补发。",
            ],
            now,
        )
    return made


def _reason(exc: Exception) -> str:
    return f"set aside: cannot build the message: {type(exc).__name__}: {exc}"
