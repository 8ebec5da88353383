"""Alerts as a person reads them: the filtered, sorted, paged list and acknowledging one.

The list is one indexed query with a count: newest first reads `ix_alerts_raised` (or
`ix_alerts_department_raised` for a department), so a page at 100,000 alerts costs the page,
not the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, Connection, false, func, select, true

from alerts.lifecycle import AlertConflictError, acknowledge
from monitor.access import Actor, ForbiddenError, InvalidRequestError, StateConflictError
from monitor.errors import NotFoundError, SunlightError
from monitor.state.schema import alerts

Sort = Literal["newest", "oldest", "due", "level"]
SORTS: dict[str, str] = {"newest": "最新", "oldest": "最早", "due": "期限", "level": "级别"}
STATE_NAMES = {"open": "未处理", "acknowledged": "已确认", "resolved": "已解除"}
MAX_LIMIT = 500


@dataclass(frozen=True, slots=True)
class AlertFilter:
    level: str | None = None
    state: str | None = None
    department: str | None = None
    item_code: str | None = None
    rule_id: str | None = None
    category: str | None = None
    min_age_days: int | None = None  # raised at least this many days ago
    sort: Sort = "newest"
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True, slots=True)
class AlertItem:
    id: int
    case_id: str
    level: str
    state: str
    category: str
    rule: str
    department: str
    message: str
    title: str
    item_code: str
    raised_at: datetime
    due: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "case_id": self.case_id,
            "level": self.level,
            "state": self.state,
            "category": self.category,
            "rule": self.rule,
            "department": self.department,
            "message": self.message,
            "title": self.title,
            "item_code": self.item_code,
            "raised_at": self.raised_at.isoformat(),
            "due": self.due.isoformat() if self.due else None,
        }


@dataclass(frozen=True, slots=True)
class AlertPage:
    total: int
    items: tuple[AlertItem, ...]
    limit: int
    offset: int


def item_of(row: Any) -> AlertItem:
    return AlertItem(
        int(row.id),
        row.case_id,
        row.level,
        row.state,
        row.category,
        row.rule_id,
        row.department,
        row.message,
        row.title,
        row.item_code,
        row.raised_at,
        row.due,
    )


def visible(actor: Actor) -> ColumnElement[bool]:
    """The rows of `alerts` this actor may see, as a condition every query carries."""
    if actor.role == "office":
        return true()
    if actor.role == "department" and actor.department:
        return alerts.c.department == actor.department
    return false()


def _conditions(actor: Actor, f: AlertFilter, now: datetime) -> list[ColumnElement[bool]]:
    a = alerts.c
    where = [visible(actor)]
    for column, value in (
        (a.level, f.level),
        (a.state, f.state),
        (a.department, f.department),
        (a.item_code, f.item_code),
        (a.rule_id, f.rule_id),
        (a.category, f.category),
    ):
        if value:
            where.append(column == value)
    if f.min_age_days:
        where.append(a.raised_at <= now - timedelta(days=f.min_age_days))
    return where


def list_alerts(conn: Connection, actor: Actor, f: AlertFilter, now: datetime) -> AlertPage:
    """One page of the alerts `actor` may see, and how many there are in all."""
    if not actor.sees_cases:
        raise ForbiddenError("运维人员不能查看预警和办件内容")
    a = alerts.c
    where = _conditions(actor, f, now)
    limit = max(1, min(f.limit, MAX_LIMIT))
    offset = max(0, f.offset)
    order = {
        "newest": (a.raised_at.desc(), a.id.desc()),
        "oldest": (a.raised_at.asc(), a.id.asc()),
        "due": (a.due.is_(None), a.due.asc(), a.id.asc()),
        "level": (a.level.asc(), a.raised_at.desc(), a.id.desc()),  # 'red' < 'yellow': reds first
    }[f.sort]
    total = int(conn.execute(select(func.count()).select_from(alerts).where(*where)).scalar_one())
    rows = conn.execute(select(alerts).where(*where).order_by(*order).limit(limit).offset(offset))
    return AlertPage(total, tuple(item_of(r) for r in rows), limit, offset)


def get_alert(conn: Connection, actor: Actor, alert_id: int) -> AlertItem:
    row = conn.execute(select(alerts).where(alerts.c.id == alert_id)).first()
    if row is None or not actor.may_see(row.department):
        raise NotFoundError(f"alert {alert_id} not found")
    return item_of(row)


def may_acknowledge(actor: Actor, department: str) -> bool:
    """The office acknowledges any alert, a department its own; an operator none."""
    return actor.role == "office" or (actor.role == "department" and actor.department == department)


def acknowledge_alert(conn: Connection, actor: Actor, alert_id: int, note: str, now: datetime) -> AlertItem:
    """The office or the alert's own department acknowledges an open alert; the history row
    names the person."""
    if actor.role == "operator":
        raise ForbiddenError("运维人员不能确认预警")
    current = get_alert(conn, actor, alert_id)
    if not may_acknowledge(actor, current.department):
        raise ForbiddenError("无权确认该预警")
    if current.state != "open":
        raise StateConflictError(f"该预警{STATE_NAMES.get(current.state, current.state)}，不能再确认")
    note = note.strip()
    if not note:
        raise InvalidRequestError("请填写处理说明：记录需要写明由谁、因何处理")
    try:
        acknowledge(conn, alert_id, actor.name, note, now)
    except (AlertConflictError, SunlightError) as exc:
        if isinstance(exc, NotFoundError):
            raise
        raise StateConflictError("该预警刚被他人处理，请刷新后再试") from exc
    return get_alert(conn, actor, alert_id)


def departments(conn: Connection, actor: Actor) -> list[str]:
    """The departments with alerts that `actor` may see (for the filter's choices)."""
    query = select(alerts.c.department).where(visible(actor)).distinct().order_by(alerts.c.department)
    return [str(d) for d in conn.execute(query).scalars()]
