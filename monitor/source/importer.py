"""`sunlight import`: load exchange-format JSON lines into the canonical source tables.

Idempotent: an item, case or person whose content is unchanged is not touched (its
`updated_at` stays, so the daemon does not re-evaluate it), and an event already present (by
event id, or by its digest when it has none) is skipped. Nothing is ever deleted: a person
who left is a `person` record with `active: false`. Bad lines are reported with their line
number and reason; the good ones load.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, Table, select, update
from sqlalchemy.exc import DataError, IntegrityError

from monitor.errors import RecordError
from monitor.people.record import PersonRecord
from monitor.source.records import CaseRecord, EventRecord, ItemRecord, parse_line
from monitor.state.schema import case_events, cases, people, power_items

BATCH = 1000
SourceRecord = ItemRecord | CaseRecord | EventRecord | PersonRecord
# Bytes that are not UTF-8, as the "surrogateescape" error handler lets them through.
_UNDECODABLE = re.compile("[\udc80-\udcff]")


@dataclass
class ImportReport:
    items: int = 0
    cases: int = 0
    events: int = 0
    persons: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def loaded(self) -> int:
        return self.items + self.cases + self.events + self.persons

    def add(self, part: ImportReport) -> None:
        """Count what a committed write of one batch (or one record) loaded."""
        self.items += part.items
        self.cases += part.cases
        self.events += part.events
        self.persons += part.persons
        self.unchanged += part.unchanged


def read_lines(lines: Iterable[str], origin: str) -> Iterator[tuple[str, SourceRecord | str]]:
    """(where, record) for each non-blank line; a bad line yields (where, reason)."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{origin}:{number}"
        if _UNDECODABLE.search(line):
            yield where, "not UTF-8 text"
            continue
        try:
            yield where, parse_line(line)
        except RecordError as exc:
            yield where, str(exc)


def import_records(
    engine: Engine,
    records: Iterable[tuple[str, SourceRecord | str]],
    now: datetime,
) -> ImportReport:
    report = ImportReport()
    batch: list[tuple[str, SourceRecord]] = []
    for where, rec in records:
        if isinstance(rec, str):
            report.errors.append(f"{where}: {rec}")
            continue
        batch.append((where, rec))
        if len(batch) >= BATCH:
            _flush(engine, batch, now, report)
            batch = []
    if batch:
        _flush(engine, batch, now, report)
    return report


def _flush(
    engine: Engine,
    batch: list[tuple[str, SourceRecord]],
    now: datetime,
    report: ImportReport,
) -> None:
    """Write a batch in one transaction; if the database refuses it (a value validation did
    not foresee), write its records one by one, so that only the refused one is lost."""
    try:
        report.add(_write(engine, [rec for _, rec in batch], now))
        return
    except (DataError, IntegrityError):
        pass  # a value the database refuses; a connection or SQL failure fails the import whole
    for where, rec in batch:
        try:
            report.add(_write(engine, [rec], now))
        except (DataError, IntegrityError) as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            report.errors.append(f"{where}: the database refused the record: {reason}")


def _write(engine: Engine, batch: list[SourceRecord], now: datetime) -> ImportReport:
    part = ImportReport()
    with engine.begin() as conn:
        _upsert_items(conn, [r for r in batch if isinstance(r, ItemRecord)], now, part)
        _upsert_cases(conn, [r for r in batch if isinstance(r, CaseRecord)], now, part)
        _insert_events(conn, [r for r in batch if isinstance(r, EventRecord)], now, part)
        _upsert_people(conn, [r for r in batch if isinstance(r, PersonRecord)], now, part)
    return part


def _item_values(rec: ItemRecord) -> dict[str, Any]:
    return {
        "name": rec.name,
        "item_type": rec.item_type.value,
        "department": rec.department,
        "legal_limit": rec.legal_limit,
        "promised_limit": rec.promised_limit,
        "limit_unit": rec.limit_unit.value,
        "fee_standard": rec.fee_standard,
        "attributes": rec.attributes,
    }


def _case_values(rec: CaseRecord) -> dict[str, Any]:
    return {
        "item_code": rec.item_code,
        "department": rec.department,
        "applicant_name": rec.applicant.name,
        "applicant_id_number": rec.applicant.id_number,
        "applicant_phone": rec.applicant.phone,
        "attributes": rec.attributes,
    }


def _upsert(
    conn: Connection, table: Table, key: str, wanted: dict[str, dict[str, Any]], now: datetime
) -> tuple[int, int]:
    """Insert new rows, update changed ones (moving `updated_at`), leave equal ones alone:
    (written, unchanged). Unchanged rows keep their stamp, so the daemon does not read them."""
    if not wanted:
        return 0, 0
    column = table.c[key]
    existing = {
        row._mapping[key]: row._mapping for row in conn.execute(select(table).where(column.in_(list(wanted))))
    }
    written = unchanged = 0
    for ident, values in wanted.items():
        old = existing.get(ident)
        if old is None:
            conn.execute(table.insert().values({key: ident, "updated_at": now, **values}))
        elif _differs(old, values):
            conn.execute(update(table).where(column == ident).values(updated_at=now, **values))
        else:
            unchanged += 1
            continue
        written += 1
    return written, unchanged


def _upsert_items(conn: Connection, records: list[ItemRecord], now: datetime, report: ImportReport) -> None:
    written, same = _upsert(
        conn, power_items, "item_code", {r.item_code: _item_values(r) for r in records}, now
    )
    report.items += written
    report.unchanged += same


def _upsert_cases(conn: Connection, records: list[CaseRecord], now: datetime, report: ImportReport) -> None:
    written, same = _upsert(conn, cases, "case_id", {r.case_id: _case_values(r) for r in records}, now)
    report.cases += written
    report.unchanged += same


def _person_values(rec: PersonRecord) -> dict[str, Any]:
    return {
        "name": rec.name,
        "department": rec.department,
        "roles": list(rec.roles),
        "officer": rec.officer_name,
        "items": rec.items,
        "covers": rec.covers,
        "mobile": rec.mobile,
        "email": rec.email,
        "dingtalk": rec.dingtalk,
        "wecom": rec.wecom,
        "feishu": rec.feishu,
        "active": rec.active,
    }


def _upsert_people(
    conn: Connection, records: list[PersonRecord], now: datetime, report: ImportReport
) -> None:
    written, same = _upsert(conn, people, "person_id", {r.person_id: _person_values(r) for r in records}, now)
    report.persons += written
    report.unchanged += same


def _insert_events(conn: Connection, records: list[EventRecord], now: datetime, report: ImportReport) -> None:
    wanted = {r.identity(): r for r in records}
    if not wanted:
        return
    present = set(
        conn.execute(select(case_events.c.event_id).where(case_events.c.event_id.in_(list(wanted)))).scalars()
    )
    rows = [
        {
            "event_id": event_id,
            "case_id": rec.case_id,
            "kind": rec.kind,
            "at": rec.at,
            "actors": rec.actors,
            "attributes": rec.attributes,
            "ingested_at": now,
        }
        for event_id, rec in wanted.items()
        if event_id not in present
    ]
    report.unchanged += len(wanted) - len(rows)
    if rows:
        conn.execute(case_events.insert(), rows)
        report.events += len(rows)


def _differs(old: Any, new: dict[str, Any]) -> bool:
    for key, value in new.items():
        current = old[key]
        if isinstance(value, dict | list) and isinstance(current, str):
            current = json.loads(current)  # JSON columns come back as text on MariaDB
        if isinstance(value, Decimal) or isinstance(current, Decimal):
            if Decimal(str(current or 0)) != Decimal(str(value or 0)):
                return True
        elif current != value:
            return True
    return False
