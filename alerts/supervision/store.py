"""The 督办 table's reads and writes: the alert an action is about, the current 督办 of an
alert, a new 督办 under the next yearly document number, a conditional change of a round."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError

from alerts.supervision.model import doc_number
from monitor.access import Actor, StateConflictError
from monitor.errors import NotFoundError
from monitor.state.schema import alerts, supervisions

NUMBER_ATTEMPTS = 50  # writers racing for one year's next number: each retry takes the next


def visible_alert(conn: Connection, actor: Actor, alert_id: int) -> Any:
    """The alert row, or NotFoundError when it does not exist or `actor` may not see it."""
    row = conn.execute(select(alerts).where(alerts.c.id == alert_id)).first()
    if row is None:
        raise NotFoundError(f"alert {alert_id} not found")
    actor.check_sees(row.department, f"alert {alert_id}")
    return row


def current(conn: Connection, alert_id: int) -> Any | None:
    """The alert's newest 督办 row (an alert has at most one open, earlier ones are ruled)."""
    return conn.execute(
        select(supervisions)
        .where(supervisions.c.alert_id == alert_id)
        .order_by(supervisions.c.id.desc())
        .limit(1)
    ).first()


def of_alert(conn: Connection, alert_id: int) -> list[Any]:
    return list(
        conn.execute(
            select(supervisions).where(supervisions.c.alert_id == alert_id).order_by(supervisions.c.id)
        )
    )


def by_id(conn: Connection, supervision_id: int) -> Any | None:
    return conn.execute(select(supervisions).where(supervisions.c.id == supervision_id)).first()


def check_none_open(conn: Connection, alert_id: int) -> None:
    """StateConflictError naming the open 督办 of the alert, if it has one."""
    open_one = conn.execute(
        select(supervisions.c.doc_year, supervisions.c.doc_seq).where(
            supervisions.c.open_alert_id == alert_id
        )
    ).first()
    if open_one is not None:
        number = doc_number(open_one.doc_year, open_one.doc_seq)
        raise StateConflictError(f"该预警已有未办结的督办（{number}），不能重复督办")


def insert(conn: Connection, values: dict[str, Any], year: int) -> Any:
    """Insert a 督办 under the year's next document number and return its row.

    The number is the year's highest plus one; two writers may pick the same one, and the
    unique key (year, number) refuses the second, which takes the next in a savepoint. The
    alert's open 督办 is unique too (`open_alert_id`): that refusal is a 409."""
    # MariaDB reads a snapshot (repeatable read) unless the read locks; PostgreSQL reads what
    # has been committed at each statement, so the retry sees the winner's number there.
    locking = conn.dialect.name in ("mysql", "mariadb")
    last_error: IntegrityError | None = None
    for _ in range(NUMBER_ATTEMPTS):
        query = (
            select(supervisions.c.doc_seq)
            .where(supervisions.c.doc_year == year)
            .order_by(supervisions.c.doc_seq.desc())
            .limit(1)
        )
        if locking:
            query = query.with_for_update()
        seq = (conn.execute(query).scalar() or 0) + 1
        try:
            with conn.begin_nested():
                result = conn.execute(supervisions.insert().values(doc_year=year, doc_seq=seq, **values))
        except IntegrityError as exc:
            check_none_open(conn, values["open_alert_id"])  # the other writer supervised this alert
            last_error = exc
            continue
        key = result.inserted_primary_key
        assert key is not None
        new_id = key[0]
        return conn.execute(select(supervisions).where(supervisions.c.id == new_id)).one()
    raise StateConflictError("督办文号分配冲突，请稍后重试") from last_error


def change(
    conn: Connection, row: Any, state_was: str, values: dict[str, Any], now: datetime, busy: str
) -> Any:
    """Apply `values` to a 督办 still in the version and state read; 409 (`busy`) otherwise."""
    moved = conn.execute(
        update(supervisions)
        .where(
            supervisions.c.id == row.id,
            supervisions.c.version == row.version,
            supervisions.c.state == state_was,
        )
        .values(updated_at=now, version=row.version + 1, **values)
    )
    if moved.rowcount != 1:
        raise StateConflictError(busy)
    return conn.execute(select(supervisions).where(supervisions.c.id == row.id)).one()
