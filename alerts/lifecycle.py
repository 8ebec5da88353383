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

from sqlalchemy import Connection, select, update
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


def reconcile(
    conn: Connection,
    case_id: str,
    item_code: str,
    department: str,
    findings: Sequence[Finding],
    now: datetime,
    reminder_at: datetime | None = None,
    existing_rows: Sequence[Any] | None = None,
    journal: history.Journal | None = None,
) -> list[Transition]:
    """Bring the case's alerts in line with its findings; returns what changed.

    `reminder_at` is when an alert that becomes red should first be mailed again if nobody
    acknowledges it. `existing_rows` are the case's alert rows when the caller has already
    read them (a batch reads them for all its cases at once); `journal` gathers the history
    rows for the caller to chain at the end of its transaction (without one, they are
    chained before returning)."""
    with history.gathering(conn, journal) as journal:
        if existing_rows is None:
            existing_rows = conn.execute(select(alerts).where(alerts.c.case_id == case_id)).all()
        existing = {r.rule_id: r for r in existing_rows}
        wanted = _strongest(findings)
        if not wanted and not any(r.state in OPEN_STATES for r in existing_rows):
            return []  # the common case: nothing found, nothing open
        out: list[Transition] = []
        for rule_id, f in wanted.items():
            row = existing.get(rule_id)
            if row is None:
                out.append(
                    _raise(conn, journal, case_id, item_code, department, f, now, _remind(f, reminder_at))
                )
            elif row.state == "resolved":
                if row.closed_by:
                    continue  # closed by a person: the finding is on record, nothing to reopen
                out.append(
                    _change(
                        conn,
                        journal,
                        row,
                        "reopened",
                        f,
                        now,
                        state="open",
                        resolved_at=None,
                        next_reminder_at=_remind(f, reminder_at),
                    )
                )
            elif f.level.rank > Level(row.level).rank:
                out.append(
                    _change(
                        conn,
                        journal,
                        row,
                        "escalated",
                        f,
                        now,
                        escalated_at=now,
                        next_reminder_at=_remind(f, reminder_at),
                    )
                )
        for rule_id, row in existing.items():
            if rule_id in wanted or row.state not in OPEN_STATES:
                continue
            if row.level == Level.YELLOW.value:
                out.append(_change(conn, journal, row, "cured", None, now, state="resolved", resolved_at=now))
            # A red alert is a recorded breach: it stays until a person acknowledges or closes it.
        return out


def _content(f: Finding) -> dict[str, Any]:
    return {
        "category": f.category.value,
        "level": f.level.value,
        "title": f.title[:255],
        "message": f.message,
        "basis": f.basis,
        "due": f.due,
    }


def _remind(f: Finding, reminder_at: datetime | None) -> datetime | None:
    return reminder_at if f.level is Level.RED else None


def _raise(
    conn: Connection,
    journal: history.Journal,
    case_id: str,
    item_code: str,
    department: str,
    f: Finding,
    now: datetime,
    reminder_at: datetime | None,
) -> Transition:
    # No savepoint: the claim on the case keeps other workers away from its alerts, and if
    # one got there anyway the whole batch is retried, so the failed transaction is simply
    # rolled back (a savepoint would cost two more round trips per alert).
    try:
        inserted = conn.execute(
            alerts.insert().values(
                case_id=case_id,
                rule_id=f.rule_id,
                item_code=item_code,
                department=department,
                state="open",
                raised_at=now,
                updated_at=now,
                version=1,
                next_reminder_at=reminder_at,
                **_content(f),
            )
        ).inserted_primary_key
        assert inserted is not None
        alert_id = inserted[0]
    except IntegrityError as exc:
        raise AlertConflictError(
            f"alert for case {case_id} rule {f.rule_id} was raised by another worker"
        ) from exc
    journal.add(int(alert_id), "raised", now, level=f.level.value, detail={"message": f.message})
    return Transition(int(alert_id), "raised", f.level, f.category.value, f, 1)


def _change(
    conn: Connection,
    journal: history.Journal,
    row: Any,
    action: str,
    f: Finding | None,
    now: datetime,
    *,
    actor: str = "sunlight",
    note: str | None = None,
    **values: Any,
) -> Transition:
    content = _content(f) if f is not None else {}
    moved = conn.execute(
        update(alerts)
        .where(alerts.c.id == row.id, alerts.c.version == row.version)
        .values(updated_at=now, version=row.version + 1, **content, **values)
    )
    if moved.rowcount != 1:
        raise AlertConflictError(f"alert {row.id} changed while {action}")
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
    _change(conn, journal, row, action, None, now, actor=actor, note=note, state=state, next_reminder_at=None)
    journal.flush(conn)


def alerts_of(conn: Connection, case_ids: Sequence[str]) -> dict[str, list[Any]]:
    """The alert rows of many cases in one query."""
    out: dict[str, list[Any]] = {cid: [] for cid in case_ids}
    for i in range(0, len(case_ids), 500):
        for row in conn.execute(select(alerts).where(alerts.c.case_id.in_(case_ids[i : i + 500]))):
            out[row.case_id].append(row)
    return out
