"""The alert lifecycle: findings in, alert transitions and their notices out.

One alert per (case, rule), kept forever. A finding with no alert raises one; a yellow whose
finding turns red escalates (the same alert, its level history in the chain); a yellow whose
finding disappears is cured (resolved); a red stays until a person acknowledges or closes
it; a resolved alert whose finding returns is reopened. Every change is a conditional update
(`WHERE version = seen`) or an insert guarded by the (case, rule) unique key, appended to the
hash chain and written with its notices in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.exc import IntegrityError

from alerts import history
from monitor.errors import NotFoundError, SunlightError
from monitor.model import Finding, Level
from monitor.state.schema import alerts

OPEN_STATES = ("open", "acknowledged")


class AlertConflictError(Exception):
    """Another writer changed the alert first; retry the case."""


@dataclass(frozen=True, slots=True)
class Transition:
    alert_id: int
    action: str  # raised, escalated, cured, reopened, or a person's action
    level: Level
    category: str
    finding: Finding | None
    version: int


def _strongest(findings: Sequence[Finding]) -> dict[str, Finding]:
    out: dict[str, Finding] = {}
    for f in findings:
        if f.rule_id not in out or f.level.rank > out[f.rule_id].level.rank:
            out[f.rule_id] = f
    return out


@dataclass(frozen=True, slots=True)
class CaseFindings:
    """One case's findings, with its alert rows as the caller read them."""

    case_id: str
    item_code: str
    department: str
    findings: Sequence[Finding]
    existing_rows: Sequence[Any]


@dataclass(frozen=True, slots=True)
class _Step:
    """One change decided for a case: a new alert (row is None) or a change of one."""

    action: str
    finding: Finding | None
    row: Any = None
    values: dict[str, Any] | None = None


def reconcile(
    conn: Connection,
    cases: Sequence[CaseFindings],
    now: datetime,
    reminder_at: datetime | None = None,
    journal: history.Journal | None = None,
) -> dict[str, list[Transition]]:
    """Bring a batch of cases' alerts in line with their findings; each case's changes.

    `reminder_at` is when an alert that becomes red should first be mailed again if nobody
    acknowledges it. `journal` gathers the history rows for the caller to chain at the end of
    its transaction (without one, they are chained before returning). Every new alert of the
    batch goes in one INSERT (a first start raises thousands), a change to an existing alert
    is one conditional UPDATE; transitions and history rows come out case by case, in the
    order they were decided."""
    with history.gathering(conn, journal) as journal:
        plans = [(c, _plan(c, now, reminder_at)) for c in cases]
        new = [(c, step) for c, steps in plans for step in steps if step.row is None]
        ids = iter(_insert_alerts(conn, new, now))
        _update_alerts(conn, [step for _, steps in plans for step in steps if step.row is not None], now)
        out: dict[str, list[Transition]] = {}
        for c, steps in plans:
            done = out.setdefault(c.case_id, [])
            for step in steps:
                if step.row is None:
                    f = step.finding
                    assert f is not None  # a new alert always has its finding
                    alert_id = next(ids)
                    journal.add(alert_id, "raised", now, level=f.level.value, detail={"message": f.message})
                    done.append(Transition(alert_id, "raised", f.level, f.category.value, f, 1))
                else:
                    done.append(_record(journal, step.row, step.action, step.finding, now))
        return out


def _plan(c: CaseFindings, now: datetime, reminder_at: datetime | None) -> list[_Step]:
    existing = {r.rule_id: r for r in c.existing_rows}
    wanted = _strongest(c.findings)
    if not wanted and not any(r.state in OPEN_STATES for r in c.existing_rows):
        return []  # the common case: nothing found, nothing open
    steps: list[_Step] = []
    for rule_id, f in wanted.items():
        row = existing.get(rule_id)
        if row is None:
            steps.append(_Step("raised", f, values={"next_reminder_at": _remind(f, reminder_at)}))
        elif row.state == "resolved":
            if row.closed_by:
                continue  # closed by a person: the finding is on record, nothing to reopen
            values = {"state": "open", "resolved_at": None, "next_reminder_at": _remind(f, reminder_at)}
            steps.append(_Step("reopened", f, row, values))
        elif f.level.rank > Level(row.level).rank:
            values = {"escalated_at": now, "next_reminder_at": _remind(f, reminder_at)}
            steps.append(_Step("escalated", f, row, values))
    for rule_id, row in existing.items():
        if rule_id in wanted or row.state not in OPEN_STATES:
            continue
        if row.level == Level.YELLOW.value:
            steps.append(_Step("cured", None, row, {"state": "resolved", "resolved_at": now}))
        # A red alert is a recorded breach: it stays until a person acknowledges or closes it.
    return steps


def _content(f: Finding) -> dict[str, Any]:
    return {
        "category": f.category.value,
        "level": f.level.value,
        "title": f.title[:255],
        "message": f.message,
        "basis": f.basis,
        "due": f.due,
        "breached_at": f.since,
    }


def _remind(f: Finding, reminder_at: datetime | None) -> datetime | None:
    return reminder_at if f.level is Level.RED else None


def _insert_alerts(conn: Connection, new: list[tuple[CaseFindings, _Step]], now: datetime) -> list[int]:
    """Insert the batch's new alerts in one statement; their ids in the same order."""
    if not new:
        return []
    rows = []
    for c, step in new:
        f = step.finding
        assert f is not None and step.values is not None
        rows.append(
            {
                "case_id": c.case_id,
                "rule_id": f.rule_id,
                "item_code": c.item_code,
                "department": c.department,
                "state": "open",
                "raised_at": now,
                "updated_at": now,
                "version": 1,
                **step.values,
                **_content(f),
            }
        )
    # No savepoint: the claim on the cases keeps other workers away from their alerts, and if
    # one got there anyway the whole batch is retried, so the failed transaction is simply
    # rolled back.
    try:
        conn.execute(alerts.insert(), rows)
    except IntegrityError as exc:
        raise AlertConflictError(
            f"an alert of cases {new[0][0].case_id}… was raised by another worker"
        ) from exc
    # The ids are read back by (case, rule), which is unique, rather than returned by the
    # INSERT: returning them in the rows' order made the statement three times as costly
    # (on PostgreSQL, 64 µs a row against 22), and a first start raises alerts by the
    # hundred thousand.
    stored = alerts_of(conn, sorted({row["case_id"] for row in rows}))
    ids = {(a.case_id, a.rule_id): int(a.id) for found in stored.values() for a in found}
    return [ids[(row["case_id"], row["rule_id"])] for row in rows]


def _update_alerts(conn: Connection, steps: list[_Step], now: datetime) -> None:
    """Apply changes to existing alerts, each conditional on the version read (`WHERE
    version = seen`); one executemany per kind of change. Any change that finds its alert
    moved on fails the whole batch (AlertConflictError), which the caller retries."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for step in steps:
        row = step.row
        values = {
            "updated_at": now,
            "version": row.version + 1,
            **(_content(step.finding) if step.finding is not None else {}),
            **(step.values or {}),
        }
        groups.setdefault(tuple(values), []).append({"b_id": row.id, "b_seen": row.version, **values})
    for columns, params in groups.items():
        statement = (
            update(alerts)
            .where(alerts.c.id == bindparam("b_id"), alerts.c.version == bindparam("b_seen"))
            .values({c: bindparam(c) for c in columns})
        )
        # A driver that cannot count the rows of an executemany gets one statement a change.
        batches = [params] if conn.dialect.supports_sane_multi_rowcount else [[p] for p in params]
        for batch in batches:
            if conn.execute(statement, batch).rowcount != len(batch):
                raise AlertConflictError(f"an alert among {[p['b_id'] for p in batch]} changed meanwhile")


def _record(
    journal: history.Journal,
    row: Any,
    action: str,
    f: Finding | None,
    now: datetime,
    *,
    actor: str = "sunlight",
    note: str | None = None,
) -> Transition:
    """The history row and the transition of a change `_update_alerts` made."""
    level = f.level if f is not None else Level(row.level)
    detail = {"message": f.message} if f is not None else {}
    if note is not None:
        detail["note"] = note
    journal.add(int(row.id), action, now, level=level.value, actor=actor, detail=detail)
    return Transition(int(row.id), action, level, row.category, f, row.version + 1)


def act(
    conn: Connection,
    alert_id: int,
    action: str,
    actor: str,
    note: str,
    now: datetime,
    state: str,
    allowed_from: tuple[str, ...],
) -> None:
    """A person's action on an alert (acknowledge, close), recorded with who and why."""
    row = conn.execute(select(alerts).where(alerts.c.id == alert_id)).first()
    if row is None:
        raise NotFoundError(f"no alert with the id {alert_id}")
    if row.state not in allowed_from:
        raise SunlightError(f"alert {alert_id} is {row.state}; cannot {action} it")
    journal = history.Journal()
    _update_alerts(conn, [_Step(action, None, row, {"state": state, "next_reminder_at": None})], now)
    _record(journal, row, action, None, now, actor=actor, note=note)
    journal.flush(conn)


def acknowledge(conn: Connection, alert_id: int, actor: str, note: str, now: datetime) -> None:
    """A person acknowledges an open alert: it stays until it is closed or cured."""
    act(conn, alert_id, "acknowledged", actor, note, now, "acknowledged", ("open",))


def close(conn: Connection, alert_id: int, actor: str, note: str, now: datetime) -> None:
    """A person closes an alert after handling: resolved now, with who closed it, and never
    reopened."""
    act(conn, alert_id, "closed", actor, note, now, "resolved", OPEN_STATES)
    conn.execute(update(alerts).where(alerts.c.id == alert_id).values(closed_by=actor, resolved_at=now))


def cure(
    conn: Connection, row: Any, now: datetime, journal: history.Journal, *, actor: str, note: str
) -> Transition:
    """Resolve an open alert because what it reports was put right (an answered 督办 cures
    its `supervision` alert); unlike a person's close, a later breach may reopen it."""
    _update_alerts(
        conn,
        [_Step("cured", None, row, {"state": "resolved", "resolved_at": now, "next_reminder_at": None})],
        now,
    )
    return _record(journal, row, "cured", None, now, actor=actor, note=note)


def alerts_of(conn: Connection, case_ids: Sequence[str]) -> dict[str, list[Any]]:
    """The alert rows of many cases in one query."""
    out: dict[str, list[Any]] = {cid: [] for cid in case_ids}
    for i in range(0, len(case_ids), 500):
        for row in conn.execute(select(alerts).where(alerts.c.case_id.in_(case_ids[i : i + 500]))):
            out[row.case_id].append(row)
    return out
