"""Flood control: a first start, or a rule change that raises many alerts at once, must not
send a person hundreds of SMS or robot messages.

Before each claim, the notices due now on each of `notify.flood_channels` (SMS and the
robots: people read them, not machines) are counted per recipient; a recipient with more
than `notify.flood_after` of them gets one digest instead (kind `digest`, its context the
count and one line per notice, the most severe level first).
The notices it stands for become `digested` with the digest's id, as a digest route's held
notices do, so each stays in the outbox, in its alert's history once the digest is sent, and
none is sent twice. E-mail keeps its own digests (routes with `mode: hourly` or `daily`).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.exc import IntegrityError

from alerts.outbox import NoticeRow, message_tag
from monitor.config import NotifyConfig
from monitor.state.schema import notices

LINES = 10  # of a digest; the rest are counted ("等N条")
_LEVEL_ORDER = {"red": 0, "yellow": 1}


def collapse_floods(engine: Engine, cfg: NotifyConfig, now: datetime) -> int:
    """Replace each flood of due channel notices to one recipient by one digest; returns the
    digests queued."""
    if not cfg.flood_channels:
        return 0
    due = (
        notices.c.status == "pending",
        notices.c.next_attempt_at <= now,
        notices.c.channel.in_(cfg.flood_channels),
    )
    count = (
        select(notices.c.channel, notices.c.recipient, func.count())
        .where(*due, notices.c.kind != "digest")
        .group_by(notices.c.channel, notices.c.recipient)
        .having(func.count() > cfg.flood_after)
    )
    with engine.connect() as conn:  # read first: most sends find no flood and write nothing
        if not conn.execute(count.limit(1)).first():
            return 0
    with engine.begin() as conn:
        flooded = {(c, r) for c, r, _ in conn.execute(count)}
        # One read of every due notice on the flood channels, grouped here: a query per
        # recipient would scan the outbox once each (recipient is not indexed).
        by_recipient: dict[tuple[str, str], list[Any]] = {}
        for row in conn.execute(
            select(
                notices.c.id, notices.c.channel, notices.c.recipient, notices.c.context, notices.c.subject,
                notices.c.route,
            )
            .where(*due, notices.c.kind != "digest")
            .order_by(notices.c.id)
        ):  # fmt: skip
            key = (row.channel, row.recipient)
            if key in flooded:
                by_recipient.setdefault(key, []).append(row)
        made = 0
        for (channel, recipient), rows in sorted(by_recipient.items()):
            facts = [_fact(r) for r in rows]
            facts.sort(key=lambda f: (_LEVEL_ORDER.get(f["level"], 2), f["id"]))
            departments = {f["department"] for f in facts}
            ids = [r.id for r in rows]
            tag = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:16]
            context = {
                "kind": "digest",
                "action": "digest",
                "level": facts[0]["level"] if facts else "",
                "count": len(facts),
                "reds": sum(1 for f in facts if f["level"] == "red"),
                "lines": [f["line"] for f in facts[:LINES]],
                "more": max(len(facts) - LINES, 0),
                # One department's notices name it; a leader's, across departments, do not.
                "department": departments.pop() if len(departments) == 1 else "",
                "short_link": _alert_list(facts),
            }
            if _digest(conn, rows, ids, channel, recipient, context, tag, now):
                made += 1
    return made


class _RacedError(Exception):
    """Another sender took some of these notices first: this digest is undone."""


def _digest(
    conn: Connection,
    rows: list[Any],
    ids: list[int],
    channel: str,
    recipient: str,
    context: dict[str, Any],
    tag: str,
    now: datetime,
) -> bool:
    """Queue one digest for `ids` in a savepoint, undone if another sender (a second
    replica) digested or claimed any of them meanwhile: no notice in two digests, no empty one."""
    try:
        with conn.begin_nested():
            digest = NoticeRow(
                alert_id=None,
                kind="digest",
                route=rows[0].route,
                recipient=recipient,
                channel=channel,
                context=json.dumps(context, ensure_ascii=False),
                message_id=f"<sunlight.flood.{tag}.{message_tag(recipient)}@sunlight.local>",
                status="pending",
                created_at=now,
                next_attempt_at=now,
                subject=f"【阳光监察】{len(ids)}条预警汇总",
            )
            inserted = conn.execute(notices.insert().values(**digest.values())).inserted_primary_key
            assert inserted is not None
            moved = conn.execute(
                update(notices)
                .where(notices.c.id.in_(ids), notices.c.status == "pending")
                .values(status="digested", digest_id=inserted[0])
            ).rowcount
            if moved != len(ids):
                raise _RacedError
    except (_RacedError, IntegrityError):  # the same digest's Message-ID queued by the other
        return False
    return True


def _fact(row: Any) -> dict[str, Any]:
    ctx = json.loads(row.context) if row.context else {}
    level = str(ctx.get("level", ""))
    mark = {"red": "红牌", "yellow": "黄牌"}.get(level, "")
    what = ctx.get("title") or row.subject
    case = ctx.get("case_id", "")
    line = "｜".join(x for x in (mark, str(case), str(what)) if x)
    return {
        "id": row.id,
        "level": level,
        "line": line,
        "short_link": ctx.get("short_link", ""),
        "department": ctx.get("department", ""),
    }


def _alert_list(facts: list[dict[str, Any]]) -> str:
    """The console's alert list, from a notice's short link (…/s/ID): where a digest points."""
    link = next((str(f["short_link"]) for f in facts if f["short_link"]), "")
    return link.rsplit("/s/", 1)[0] + "/alerts" if "/s/" in link else ""
