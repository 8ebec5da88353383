"""The column types and metadata objects the table modules share.

Two metadata objects, because they may live in two databases: the source tables and the
state tables (see `monitor.state.schema`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect, Integer, MetaData
from sqlalchemy.dialects import mysql
from sqlalchemy.types import TypeDecorator

# SQLite only auto-increments an INTEGER PRIMARY KEY; elsewhere ids are 64-bit.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def stored(value: datetime) -> datetime:
    """An instant as the state and canonical tables hold it: naive UTC."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()} cannot be stored")
    return value.astimezone(UTC).replace(tzinfo=None)


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC on every backend; always read back as an aware UTC datetime."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))  # default drops microseconds
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else stored(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else aware(value)


def aware(value: datetime | str) -> datetime:
    """A stored instant (naive UTC, or text from a platform view) as an aware UTC datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def ts() -> UTCDateTime:
    return UTCDateTime()


source_metadata = MetaData()
state_metadata = MetaData()
