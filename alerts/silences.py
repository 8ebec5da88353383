"""Silences: for a while, a case, a rule or a department's alerts are recorded but not mailed.

A silence never hides an alert: the alert and its changes are kept as always, and the
notices it would have caused are written with the status `silenced`, so the record shows
what was held back, by whom and why.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, and_, or_, select

from alerts import history
from monitor.errors import ConfigError
from monitor.state.schema import silences

Scope = Literal["case", "rule", "department"]
SYSTEM_ALERT = 0  # history rows about no single alert (a silence, an operator action)


def add(
    conn: Connection, scope: Scope, value: str, until: datetime, reason: str, by: str, now: datetime
) -> int:
    """Record a silence from now until `until`; the history chain keeps who and why."""
    if until <= now:
        raise ConfigError(f"--until {until.isoformat()} is not in the future")
    if not reason.strip() or not by.strip():
        raise ConfigError("a silence needs --reason and --by: the record keeps who and why")
    inserted = conn.execute(
        silences.insert().values(
            scope=scope,
            value=value,
            starts_at=now,
            ends_at=until,
            reason=reason.strip(),
            created_by=by.strip(),
        )
    ).inserted_primary_key
    assert inserted is not None
    silence_id = int(inserted[0])
    history.append(
        conn,
        SYSTEM_ALERT,
        "silence_added",
        now,
        actor=by.strip(),
        detail={
            "silence": silence_id,
            "scope": scope,
            "value": value,
            "until": until.isoformat(),
            "reason": reason,
        },
    )
    return silence_id


def matching(conn: Connection, case_id: str, rule_id: str, department: str, now: datetime) -> Any | None:
    """The active silence covering an alert, if any."""
    return conn.execute(
        select(silences)
        .where(silences.c.starts_at <= now, silences.c.ends_at > now)
        .where(
            or_(
                and_(silences.c.scope == "case", silences.c.value == case_id),
                and_(silences.c.scope == "rule", silences.c.value == rule_id),
                and_(silences.c.scope == "department", silences.c.value == department),
            )
        )
        .order_by(silences.c.ends_at.desc())
        .limit(1)
    ).first()


def active(conn: Connection, now: datetime) -> list[Any]:
    """Every silence in force now (usually none), read once for a whole batch of cases."""
    return list(conn.execute(select(silences).where(silences.c.starts_at <= now, silences.c.ends_at > now)))


def pick(rows: list[Any], case_id: str, rule_id: str, department: str) -> Any | None:
    """The silence among `rows` that covers an alert, the longest-running first."""
    wanted = {("case", case_id), ("rule", rule_id), ("department", department)}
    covering = [r for r in rows if (r.scope, r.value) in wanted]
    return max(covering, key=lambda r: r.ends_at) if covering else None


def detail(silence: Any) -> dict[str, Any]:
    """What the history row of a notice held back by `silence` records of it."""
    return {"silence": silence.id, "reason": silence.reason, "until": silence.ends_at.isoformat()}
