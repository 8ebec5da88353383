"""The engine's side of the loop: a 督办 whose reply deadline passes unanswered raises a red
alert of category `supervision` on its case, to the office and the department head.

One alert per 督办 (rule id `supervision.reply_overdue.<督办 id>`, so the (case, rule) key
holds it however many 督办 a case has); a later round that is missed again reopens it. Each
督办 is its own transaction: the 督办 row moves (`overdue_round`, conditional on its version),
the alert is raised or reopened through `alerts.lifecycle.reconcile`, the history row and the
notices are written, all together; a second daemon that got there first makes the change
fail and this one skips it, so the work is idempotent and safe with several daemons.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from alerts import history, lifecycle, silences
from alerts.history import ChainConflictError
from alerts.lifecycle import AlertConflictError, CaseFindings
from alerts.reminders import next_reminder
from alerts.supervision import notices
from alerts.supervision.model import DEMAND_NAMES, Settings, Supervision, fmt_due
from monitor.engine.messages import fmt_date
from monitor.model import Category, Finding, Level
from monitor.state.schema import alerts, supervisions

log = logging.getLogger(__name__)
RULE_PREFIX = "supervision.reply_overdue"
BASIS = "工作督办函规定的答复期限（红黄牌督办制度）"


class _LostRaceError(Exception):
    """Another writer moved the 督办 first."""


RACES = (_LostRaceError, AlertConflictError, ChainConflictError, IntegrityError, OperationalError)


def rule_id(supervision_id: int) -> str:
    return f"{RULE_PREFIX}.{supervision_id}"


def finding(s: Supervision, settings: Settings) -> Finding:
    due = fmt_due(s.reply_due, settings.tz)
    title = f"督办{s.number}逾期未答复"
    message = (
        f"纪检监察室于{fmt_date(s.issued_at.astimezone(settings.tz).date())}向{s.department}"
        f"发出工作督办函{s.number}，"
        f"要求{DEMAND_NAMES[s.demand]}，答复期限为{due}"
        + (f"（第{s.round}次答复期限）" if s.round > 1 else "")
        + f"；{s.department}至期限届满仍未答复。"
    )
    return Finding(
        rule_id=rule_id(s.id),
        title=title,
        category=Category.SUPERVISION,
        level=Level.RED,
        message=message,
        basis=BASIS,
        due=s.reply_due,
        notify=notices.head_routes(settings),
    )


def raise_overdue(engine: Engine, settings: Settings, now: datetime) -> int:
    """Raise (or reopen) the `supervision` alert of every 督办 whose round's deadline has
    come unanswered and has none yet for that round; returns how many were raised."""
    with engine.connect() as conn:
        due = (
            conn.execute(
                select(supervisions.c.id).where(
                    supervisions.c.state == "issued",
                    supervisions.c.reply_due <= now,
                    or_(
                        supervisions.c.overdue_round.is_(None),
                        supervisions.c.overdue_round < supervisions.c.round,
                    ),
                )
            )
            .scalars()
            .all()
        )
    raised = 0
    for sid in due:
        try:
            raised += _raise_one(engine, int(sid), settings, now)
        except RACES as exc:
            log.info("supervision %s: another writer raised its overdue alert first (%s)", sid, exc)
    return raised


def _raise_one(engine: Engine, sid: int, settings: Settings, now: datetime) -> int:
    with engine.begin() as conn:
        query = select(supervisions).where(supervisions.c.id == sid)
        if engine.dialect.name != "sqlite":
            query = query.with_for_update(skip_locked=True)
        row = conn.execute(query).first()
        if (
            row is None
            or row.state != "issued"
            or row.reply_due > now
            or (row.overdue_round or 0) >= row.round
        ):
            return 0  # answered meanwhile, or another daemon holds or did it
        s = Supervision.of_row(row, now)
        f = finding(s, settings)
        source = conn.execute(select(alerts).where(alerts.c.id == row.alert_id)).one()
        existing = conn.execute(
            select(alerts).where(alerts.c.case_id == row.case_id, alerts.c.rule_id == f.rule_id)
        ).all()
        journal = history.Journal()
        # Reminded like every red while nobody acknowledges it (alerts.reminders).
        remind = next_reminder(settings.notify, settings.calendar, now, settings.tz)
        done = lifecycle.reconcile(
            conn,
            [CaseFindings(row.case_id, source.item_code, row.department, [f], existing)],
            now,
            remind,
            journal=journal,
        )[row.case_id]
        # Nothing to change when a person closed an earlier round's overdue alert (it is on
        # record and never reopened) or it is still open: the round is marked all the same.
        transition = done[0] if done else None
        moved = conn.execute(
            update(supervisions)
            .where(supervisions.c.id == sid, supervisions.c.version == row.version)
            .values(
                overdue_round=row.round,
                overdue_alert_id=transition.alert_id if transition else row.overdue_alert_id,
                version=row.version + 1,
                updated_at=now,
            )
        )
        if moved.rowcount != 1:
            raise _LostRaceError(f"supervision {sid} changed meanwhile")
        if transition is None:
            return 0
        journal.add(
            int(row.alert_id),
            "supervision_overdue",
            now,
            level=source.level,
            detail={
                "supervision": sid,
                "number": s.number,
                "round": s.round,
                "overdue_alert": transition.alert_id,
            },
        )
        silence = silences.matching(conn, row.case_id, f.rule_id, row.department, now)
        if silence is not None:  # recorded, never mailed, as for any other alert
            journal.add(
                transition.alert_id,
                "silenced",
                now,
                level=f.level.value,
                actor=silence.created_by,
                detail=silences.detail(silence),
            )
        journal.flush(conn)
        ctx = _context(s, source, f, transition, settings, conn)
        notices.queue(
            conn, kind=transition.action, template="supervision_overdue", routes=f.notify,
            s=s, ctx=ctx, settings=settings, now=now, alert_id=transition.alert_id, tag=f"o{s.round}",
            silenced=silence is not None,
        )  # fmt: skip
        return 1


def _context(
    s: Supervision, source: Any, f: Finding, t: lifecycle.Transition, settings: Settings, conn: Any
) -> dict[str, Any]:
    return notices.context(s, source, settings, conn) | {
        "overdue_alert_id": t.alert_id,
        "action": t.action,
        "title": f.title,
        "message": f.message,
        "basis": f.basis,
        "rule_id": f.rule_id,
    }
