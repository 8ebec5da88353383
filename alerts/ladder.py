"""The escalation ladder (`notify.ladder`): who hears of an alert, and when, beyond its routes.

Each rung names levels, categories, roles from the people directory (承办人, 部门负责人,
分管领导, 联络员) and fixed recipients, and a number of working days. When an alert reaches
a level, every rung for that level and category becomes a scheduled step of the alert
(`sunlight_ladder_steps`): due once `after_working_days` whole working days have passed
since the alert reached the level (the day it began not counted), at `notify.reminder_at`
of the next working day, on the same working calendar as the time limits (0: at once).
The sender's every run (`alerts.dispatch.deliver`) schedules the new steps and fires the
due ones: a step fires if the alert still waits — open and
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

from sqlalchemy import Connection, Engine, and_, bindparam, exists, insert, or_, select, true, update
from sqlalchemy.exc import IntegrityError

from alerts import history
from alerts.channels.address import parse
from alerts.outbox import NoticeRow, message_id, write
from alerts.render import LEVEL_NAMES
from monitor.calendar import WorkCalendar
from monitor.engine.messages import fmt_date, fmt_deadline
from monitor.notifyconfig import NotifyConfig, Rung
from monitor.people.person import ROLE_NAMES
from monitor.state.schema import alerts, ladder_steps, notices, supervisions

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
    """When a rung of an alert that reached its level at `since` comes due: at once, or once
    N whole working days have passed without an answer — `reminder_at` of the working day
    after the Nth (the day it began not counted), never on a rest day."""
    if rung.after_working_days == 0:
        return since
    day = cal.add_working_days(since.astimezone(tz).date(), rung.after_working_days + 1)
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
    rungs = {r.name: r for r in cfg.ladder}
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
            batch = _Batch.read(conn, due, console_url, tz)
            prefetch = getattr(reach, "prefetch", None)
            if prefetch is not None:  # one read of the cases' steps for the whole batch
                prefetch(sorted({a.case_id for a in batch.alerts.values()}))
            journal = history.Journal()
            rows: list[NoticeRow] = []
            for step in due:
                rows += _settle(conn, journal, batch, rungs.get(step.rung), step, cal, now, tz, reach)
            write(conn, rows)
            if batch.done:
                conn.execute(_DONE, [{**d, "b_at": now} for d in batch.done])
            journal.flush(conn)
            queued += len(rows)
        if len(due) < BATCH:
            return queued


def schedule(engine: Engine, cfg: NotifyConfig, cal: WorkCalendar, tz: ZoneInfo) -> int:
    """A step per applicable rung for every open alert at a level that has none yet. A rung
    added to the configuration later applies to the alerts that reach a level from then on;
    a rung taken out stops the steps still scheduled for it, in the history."""
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
                since = _since(a)
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
                try:
                    with conn.begin_nested():
                        conn.execute(insert(ladder_steps), values)
                    made += len(values)
                except IntegrityError:
                    return made  # another sender (a second replica) is scheduling: the rest is its

        if len(rows) < BATCH:
            return made


class _Batch:
    """What a batch of due steps reads once: their alerts, the 督办 awaiting a reply, and
    each alert's newest notice context (the evidence as it was sent)."""

    def __init__(
        self, alerts_: dict[int, Any], unanswered: dict[int, Any], contexts: dict[int, dict[str, Any]]
    ) -> None:
        self.alerts, self.unanswered, self.contexts = alerts_, unanswered, contexts
        self.done: list[dict[str, Any]] = []  # the steps settled, written together

    @classmethod
    def read(cls, conn: Connection, due: Sequence[Any], console_url: str | None, tz: ZoneInfo) -> _Batch:
        ids = sorted({int(s.alert_id) for s in due})
        if not ids:
            return cls({}, {}, {})
        found = {int(a.id): a for a in conn.execute(select(alerts).where(alerts.c.id.in_(ids)))}
        unanswered = {
            int(v.alert_id): v
            for v in conn.execute(
                select(supervisions.c.alert_id, supervisions.c.issued_at).where(
                    supervisions.c.alert_id.in_(ids), supervisions.c.state == "issued"
                )
            )
        }
        contexts: dict[int, dict[str, Any]] = {}
        for n in conn.execute(
            select(notices.c.alert_id, notices.c.context)
            .where(
                notices.c.alert_id.in_(ids),
                notices.c.kind.in_(("raised", "escalated", "reopened")),
                notices.c.context.is_not(None),
            )
            .order_by(notices.c.id)
        ):
            contexts[int(n.alert_id)] = dict(json.loads(n.context))  # the newest wins
        for alert_id, alert in found.items():
            if alert_id not in contexts:
                contexts[alert_id] = _bare_context(alert, console_url, tz)
        return cls(found, unanswered, contexts)


def _why_not(alert: Any, step: Any, rung: Rung | None, batch: _Batch) -> str | None:
    """None when the alert still waits for what the rung is about; else why it does not."""
    if rung is None:
        return "rung no longer configured"
    if alert is None:
        return "alert gone"
    if alert.level != step.level:
        return "level changed"
    if alert.state == "open":
        return None
    if rung.unless == "answered" and alert.state == "acknowledged" and int(alert.id) in batch.unanswered:
        return None
    return str(alert.state)


def _settle(
    conn: Connection,
    journal: history.Journal,
    batch: _Batch,
    rung: Rung | None,
    step: Any,
    cal: WorkCalendar,
    now: dt.datetime,
    tz: ZoneInfo,
    reach: Reach,
) -> list[NoticeRow]:
    """Fire or stop one due step; the notice rows it queues."""
    alert = batch.alerts.get(int(step.alert_id))
    why = _why_not(alert, step, rung, batch)
    if why is not None or rung is None or alert is None:
        batch.done.append({"b_id": step.id, "b_state": "stopped", "b_n": 0})
        if alert is not None:
            journal.add(
                int(alert.id),
                "ladder_stopped",
                now,
                level=step.level,
                detail={"rung": step.rung, "reason": why},
            )
        return []
    targets: dict[str, str] = {}
    for role in rung.roles:
        for url, greeting in reach(role, alert.department, alert.case_id, alert.item_code, rung.channels):
            targets.setdefault(url, greeting or ROLE_NAMES[role])
    for url in rung.recipients:
        targets.setdefault(url, alert.department)
    since = _since(alert)
    waited = full_working_days(cal, since, now, tz)
    note = _note(rung, alert, batch, since, waited, tz)
    context = batch.contexts[int(alert.id)]
    route = f"ladder-{rung.name}"
    rows = [
        NoticeRow(
            alert_id=int(alert.id),
            kind="ladder",
            route=route,
            recipient=url,
            channel=parse(url).channel,
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
            # Unique per step and recipient: a step fires once (its row moves from `scheduled`).
            message_id=message_id(alert.id, int(step.id), route, url),
            status="pending",
            created_at=now,
            next_attempt_at=now,
        )
        for url, greeting in targets.items()
    ]
    batch.done.append({"b_id": step.id, "b_state": "fired", "b_n": len(rows)})
    journal.add(
        int(alert.id),
        "ladder_rung",
        now,
        level=step.level,
        detail={
            "rung": rung.name,
            "roles": list(rung.roles),
            "recipients": len(rows),
            "working_days_open": waited,
        },
    )
    return rows


def _since(alert: Any) -> dt.datetime:
    """When the alert reached its level: a red reached by escalation counts from then."""
    if alert.level == "red" and alert.escalated_at is not None:
        return alert.escalated_at  # type: ignore[no-any-return]
    return alert.raised_at  # type: ignore[no-any-return]


def full_working_days(cal: WorkCalendar, since: dt.datetime, now: dt.datetime, tz: ZoneInfo) -> int:
    """Working days wholly past between `since` and `now`: the day it began is not counted
    (期间开始之日不计算在内), nor today, which is not over."""
    start = since.astimezone(tz).date()
    yesterday = now.astimezone(tz).date() - dt.timedelta(days=1)
    return max(cal.working_days_between(start, yesterday), 0) if yesterday > start else 0


def _note(rung: Rung, alert: Any, batch: _Batch, since: dt.datetime, waited: int, tz: ZoneInfo) -> str:
    """Why this person hears of the alert, in words that hold on the day they are read."""
    roles = "、".join(ROLE_NAMES[r] for r in rung.roles) or "有关人员"
    if not rung.after_working_days:
        return f"按预警分级报送规定告知{roles}"
    card = LEVEL_NAMES[alert.level]
    if alert.state == "acknowledged":  # fired for the 督办 still awaiting its reply
        issued = batch.unanswered[int(alert.id)].issued_at.astimezone(tz).date()
        return f"本{card}的督办函于{fmt_date(issued)}发出，至今未收到答复，按预警分级报送规定报送{roles}"
    day = fmt_date(since.astimezone(tz).date())
    return f"本{card}自{day}发出，已满{waited}个工作日未确认处理，按预警分级报送规定报送{roles}"


# A batch's settled steps in one executemany: built once, with parameters.
_DONE = (
    update(ladder_steps)
    .where(ladder_steps.c.id == bindparam("b_id"), ladder_steps.c.state == "scheduled")
    .values(state=bindparam("b_state"), done_at=bindparam("b_at"), recipients=bindparam("b_n"))
)


def _bare_context(alert: Any, console_url: str | None, tz: ZoneInfo) -> dict[str, Any]:
    """The notice context of an alert that had no notice of its own (no route took it)."""
    base = console_url.rstrip("/") if console_url else ""
    return {
        "recipient_greeting": alert.department,
        "alert_id": alert.id,
        "level": alert.level,
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
