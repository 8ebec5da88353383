"""Reading alerts for people: the listing and one alert with its history (`sunlight alerts`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from monitor.errors import NotFoundError
from monitor.state.schema import alert_history, alerts


def list_alerts(conn: Connection, *, level: str | None = None, state: str | None = None) -> list[Any]:
    """Alert rows, newest first (the id breaks ties of one pass), of one level or state if given."""
    query = select(alerts).order_by(alerts.c.raised_at.desc(), alerts.c.id.desc())
    if level:
        query = query.where(alerts.c.level == level)
    if state:
        query = query.where(alerts.c.state == state)
    return list(conn.execute(query))


def alert_with_history(conn: Connection, alert_id: int) -> tuple[Any, Sequence[Any]]:
    """One alert row and its history rows in chain order; NotFoundError if there is none."""
    row = conn.execute(select(alerts).where(alerts.c.id == alert_id)).first()
    if row is None:
        raise NotFoundError(f"no alert with the id {alert_id}")
    history = conn.execute(
        select(alert_history).where(alert_history.c.alert_id == alert_id).order_by(alert_history.c.chain_seq)
    ).all()
    return row, history
