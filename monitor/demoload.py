"""`sunlight demo` into a database: an empty one, or with `reset` one an earlier demo filled.

The demo's case numbers and steps are a function of (now, cases, seed), so a run later the
same day writes other cases under the same numbers; importing it over the first would mix
the two (a penalty case given licensing steps, false reds, hundreds of notices). So the
demo loads only into a database without items, cases or events. `reset` first removes what
an earlier demo loaded, with everything Sunlight recorded about it (alerts, their history,
notices, case state, cursors), and only when the source holds exactly what that demo loaded
(the row of `sunlight_demo` counts it): never a platform's or an import's data.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from typing import Any

from sqlalchemy import Connection, Engine, Row, Table, func, insert, select, update

from alerts.history import GENESIS
from monitor.demo import demo_people, demo_records
from monitor.errors import RefusedError
from monitor.source.importer import ImportReport, SourceRecord, import_records
from monitor.source.records import parse_line
from monitor.state.schema import (
    case_events,
    cases,
    chain_head,
    demo_marks,
    power_items,
    source_metadata,
    state_metadata,
)


@dataclass(frozen=True, slots=True)
class Held:
    """How many rows the source tables hold."""

    items: int
    cases: int
    events: int

    @property
    def empty(self) -> bool:
        return not (self.items or self.cases or self.events)

    def __str__(self) -> str:
        return f"{self.cases} cases, {self.events} events and {self.items} catalogue items"


def held(conn: Connection) -> Held:
    def count(table: Table) -> int:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

    return Held(count(power_items), count(cases), count(case_events))


@dataclass(frozen=True, slots=True)
class DemoLoad:
    report: ImportReport
    replaced: Held | None  # what an earlier demo had loaded, when --reset removed it


def load_demo(
    source: Engine, state: Engine, now: datetime, cases_: int, seed: int, *, reset: bool
) -> DemoLoad:
    """Load the demo as of `now`; raise RefusedError, having written nothing, when the
    database holds data that is not to be replaced."""
    with source.connect() as conn:
        there = held(conn)
        mark = conn.execute(select(demo_marks)).first()
    if not there.empty:
        _may_replace(there, mark, reset)
        _remove(source, state)
    report = import_records(source, _records(now, cases_, seed), now)
    with source.begin() as conn:
        loaded = held(conn)
        conn.execute(
            insert(demo_marks).values(
                id=1,
                as_of=now,
                seed=seed,
                cases=cases_,
                item_rows=loaded.items,
                case_rows=loaded.cases,
                event_rows=loaded.events,
            )
        )
    return DemoLoad(report, None if there.empty else there)


def _may_replace(there: Held, mark: Row[Any] | None, reset: bool) -> None:
    if not reset:
        raise RefusedError(
            f"the database already holds {there}; nothing written "
            "(`sunlight demo --reset` replaces an earlier demo's data)"
        )
    if mark is None:
        raise RefusedError(
            f"--reset: the database holds {there} that `sunlight demo` did not load "
            "(imported, or loaded by a version that kept no record); nothing removed: "
            "give the demo an empty database"
        )
    loaded = Held(mark.item_rows, mark.case_rows, mark.event_rows)
    if loaded != there:
        raise RefusedError(
            f"--reset: the database holds {there}, the demo of {mark.as_of.isoformat(timespec='seconds')} "
            f"loaded {loaded}: other data was added since; nothing removed"
        )


def _remove(source: Engine, state: Engine) -> None:
    """Empty the state tables, then the source tables: a failure between the two leaves the
    demo's record in place, so a second `--reset` finishes the work. The hash chain starts
    again from its genesis, as in a new database."""
    for engine, metadata in ((state, state_metadata), (source, source_metadata)):
        with engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                if table is chain_head:
                    conn.execute(update(chain_head).values(seq=0, hash=GENESIS))
                else:
                    conn.execute(table.delete())


def _records(now: datetime, cases_: int, seed: int) -> Iterator[tuple[str, SourceRecord]]:
    records = chain(demo_records(now, cases_, seed), demo_people(now, seed))
    for i, rec in enumerate(records, start=1):
        yield f"demo:{i}", parse_line(json.dumps(rec, ensure_ascii=False, default=str))
