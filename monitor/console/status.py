"""The 运行状态 page for operations staff: the daemon's bookkeeping, the rules, the outbox and
the source's health; no case content."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from monitor.access import Actor, ForbiddenError
from monitor.calendar import WorkCalendar
from monitor.console.context import Services
from monitor.engine.messages import fmt_instant
from monitor.engine.ruleset import RuleSet
from monitor.state.schema import case_state, chain_head, cursors, notices, source_tables


@dataclass(frozen=True, slots=True)
class Status:
    rules_loaded: int
    rule_files: tuple[str, ...]
    rule_errors: tuple[str, ...]
    calendar_known_until: str
    open_cases: int
    due_cases: int
    last_read: str
    notices: tuple[tuple[str, int], ...]  # status, count
    source_faults: tuple[str, ...]
    chain_rows: int


def status(services: Services, actor: Actor, now: datetime) -> Status:
    if actor.role not in ("operator", "office"):
        raise ForbiddenError("运行状态页面仅供运维人员和纪检监察室查看")
    rules, calendar = services.holder.rules(), services.holder.calendar()
    tz = services.tz
    with services.state.connect() as conn:
        return _read(conn, now, tz, rules, calendar, tuple(services.holder.errors))


def _read(
    conn: Connection,
    now: datetime,
    tz: ZoneInfo,
    rules: RuleSet,
    calendar: WorkCalendar,
    errors: tuple[str, ...],
) -> Status:
    cs = case_state.c
    open_cases = int(conn.execute(select(func.count()).where(cs.open.is_(True))).scalar_one())
    due = int(conn.execute(select(func.count()).where(cs.next_check_at <= now)).scalar_one())
    cursor = conn.execute(select(cursors.c.updated_at).order_by(cursors.c.updated_at.desc())).first()
    counts = tuple(
        (str(s), int(n))
        for s, n in conn.execute(select(notices.c.status, func.count()).group_by(notices.c.status))
    )
    faults = tuple(
        f"{r.name}：{r.fault}"
        for r in conn.execute(select(source_tables).where(source_tables.c.fault.is_not(None)))
    )
    head = conn.execute(select(chain_head.c.seq).where(chain_head.c.id == 1)).scalar_one_or_none()
    return Status(
        rules_loaded=rules.rule_count,
        rule_files=tuple(sorted(str(f.path.name) for f in rules.files)),
        rule_errors=errors,
        calendar_known_until=str(calendar.known_until),
        open_cases=open_cases,
        due_cases=due,
        last_read=fmt_instant(cursor.updated_at, tz) if cursor else "尚未运行",
        notices=counts,
        source_faults=faults,
        chain_rows=int(head or 0),
    )
