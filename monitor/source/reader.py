"""Incremental reading of the source: what changed since the last pass, and whole cases.

Events are read by their increasing `seq`. A transaction that took a lower seq may commit
after a higher one was read, so every seq skipped over is remembered as a gap and looked for
again on later passes until `gap_timeout` has passed (a rolled-back insert leaves a gap that
never fills). Case and catalogue rows are read by `updated_at` with an overlap window, since
clocks of writing hosts differ; reading a case twice is harmless because evaluation looks at
the whole case each time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    DateTime,
    Engine,
    Text,
    cast,
    func,
    select,
    type_coerce,
)

from monitor.errors import RecordError
from monitor.model import Case, PowerItem
from monitor.source.pgsql import CASE_NAMES, MAX_CATALOGUE, NONE, PG_WHOLE_CASES, pg_page
from monitor.source.records import EVENT_FIELDS, CaseRows, in_step_order, item_from_row
from monitor.state.schema import aware, case_events, cases, power_items

# The JSON columns come back as text: nearly all are `{}` or `[]`, which records.py turns
# into empty values without a JSON parser (the driver would parse each). The event time is
# read as a plain (naive UTC) timestamp and made aware here, in one loop, rather than by the
# column type's result processor value by value. Columns in the order of records.EVENT_FIELDS.
_READ_AS: dict[str, ColumnElement[Any]] = {
    "at": type_coerce(case_events.c.at, DateTime()).label("at"),
    "actors": cast(case_events.c.actors, Text).label("actors"),
    "attributes": cast(case_events.c.attributes, Text).label("attributes"),
}
EVENT_COLUMNS: tuple[ColumnElement[Any], ...] = tuple(
    _READ_AS.get(name, case_events.c[name]) for name in EVENT_FIELDS
)
CASE_COLUMNS = (
    *(c for c in cases.c if c.name != "attributes"),
    cast(cases.c.attributes, Text).label("attributes"),
)
MAX_GAPS = 100_000  # beyond this a burst of rolled-back inserts is not worth tracking
STREAM_BATCH = 10_000  # rows fetched at a time from a server-side cursor
MAX_SEEN = 20_000  # rows remembered from the overlap window (kept in the cursor row)


@dataclass(frozen=True, slots=True)
class Cursor:
    position: int = 0
    gaps: dict[int, datetime] = field(default_factory=dict)  # seq -> when first missed
    case_watermark: datetime | None = None
    item_watermark: datetime | None = None
    # Rows already handled inside the overlap window, so re-reading the window costs nothing.
    case_seen: dict[str, datetime] = field(default_factory=dict)
    item_seen: dict[str, datetime] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Changes:
    case_ids: frozenset[str]
    item_codes: frozenset[str]
    events_read: int
    newest_event_at: datetime | None


def _chunks(values: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


class SourceReader:
    def __init__(
        self,
        engine: Engine,
        *,
        gap_timeout: timedelta = timedelta(minutes=10),
        overlap: timedelta = timedelta(minutes=5),
        max_events: int = 200_000,
        chunk: int = 500,
    ) -> None:
        self.engine = engine
        self.gap_timeout = gap_timeout
        self.overlap = overlap
        self.max_events = max_events
        self.chunk = chunk
        # item_code -> (its row's updated_at, the item or what is wrong with its row)
        self._catalogue: dict[str, tuple[Any, PowerItem | str]] = {}
        # The backend's own way of reading cases, chosen once: on PostgreSQL one row a case,
        # its events in arrays; elsewhere portable queries.
        postgres = engine.dialect.name == "postgresql"
        self._load: Callable[[Connection, list[str]], Iterator[CaseRows]] = (
            self._load_pg if postgres else self._load_generic
        )
        self._page: Callable[[Connection, int, set[int], set[str]], tuple[int, Any, int]] = (
            self._page_pg if postgres else self._page_streamed
        )

    def changes(self, cursor: Cursor, now: datetime) -> tuple[Changes, Cursor]:
        """The cases touched since `cursor`, and the cursor to store once they are handled."""
        case_ids: set[str] = set()
        newest: datetime | None = None
        read = 0
        seen: set[int] = set()
        position = cursor.position
        with self.engine.connect() as conn:
            read, latest, position = self._page(conn, cursor.position, seen, case_ids)
            newest = aware(latest) if latest is not None else None
            in_order = read
            gap_list = sorted(cursor.gaps)
            found_gaps: list[Any] = []
            for part in range(0, len(gap_list), self.chunk):
                found_gaps += conn.execute(
                    select(case_events.c.seq, case_events.c.case_id, case_events.c.at).where(
                        case_events.c.seq.in_(gap_list[part : part + self.chunk])
                    )
                ).all()
            for seq, case_id, at in found_gaps:
                seen.add(seq)
                case_ids.add(case_id)
                read += 1
                if newest is None or at > newest:
                    newest = at
            case_ids_by_row, case_wm, case_seen = self._updated(
                conn, cases.c.case_id, cases.c.updated_at, cursor.case_watermark, cursor.case_seen
            )
            item_codes, item_wm, item_seen = self._updated(
                conn,
                power_items.c.item_code,
                power_items.c.updated_at,
                cursor.item_watermark,
                cursor.item_seen,
            )
        case_ids |= case_ids_by_row
        gaps = {s: t for s, t in cursor.gaps.items() if s not in seen and now - t < self.gap_timeout}
        expected = range(cursor.position + 1, position)
        if len(gaps) < MAX_GAPS and len(expected) - in_order > 0:
            for s in set(expected) - seen:
                if len(gaps) >= MAX_GAPS:
                    break
                gaps.setdefault(s, now)
        changes = Changes(frozenset(case_ids), frozenset(item_codes), read, newest)
        return changes, Cursor(position, gaps, case_wm, item_wm, case_seen, item_seen)

    def _page_pg(
        self, conn: Connection, after: int, seen: set[int], case_ids: set[str]
    ) -> tuple[int, Any, int]:
        """A page of events after seq `after` into `seen` and `case_ids`: how many, the newest
        time (naive UTC, as stored) and the last seq. One row, its arrays decoded in C."""
        page = pg_page(conn, after, self.max_events)
        if page is None or not page[0]:  # NULLs: nothing new
            return 0, None, after
        seqs: list[int] = page[0]
        seen.update(seqs)
        case_ids.update(page[1])
        return len(seqs), page[2], int(page[3])

    def _page_streamed(
        self, conn: Connection, after: int, seen: set[int], case_ids: set[str]
    ) -> tuple[int, Any, int]:
        """`_page_pg` through a server-side cursor: a backlog of events (a first start reads
        up to `max_events` of them per pass) streams through in batches, never held whole.
        Times as stored (naive UTC): only the newest is made aware, not ten million."""
        stream = conn.execution_options(stream_results=True, yield_per=STREAM_BATCH).execute(
            select(case_events.c.seq, case_events.c.case_id, type_coerce(case_events.c.at, DateTime()))
            .where(case_events.c.seq > after)
            .order_by(case_events.c.seq)
            .limit(self.max_events)
        )
        read, latest, position = 0, None, after
        for seq, case_id, at in stream:
            seen.add(seq)
            case_ids.add(case_id)
            read += 1
            position = seq  # ordered by seq
            if latest is None or at > latest:
                latest = at
        return read, latest, position

    def _updated(
        self, conn: Any, key: Any, stamp: Any, watermark: datetime | None, seen: dict[str, datetime]
    ) -> tuple[set[str], datetime | None, dict[str, datetime]]:
        """Rows changed since the watermark, re-reading an overlap window for late commits
        but returning only rows (key and stamp) not handled before."""
        if watermark is None:
            # First start: the rows already there are the starting point. Their cases are
            # queued by their events (read by seq, in bounded pages), so there is no need to
            # hold millions of ids at once; the watermark is set past the overlap so the next
            # pass reads only rows that change from now on.
            newest = conn.execute(select(func.max(stamp))).scalar()
            start = newest + self.overlap + timedelta(microseconds=1) if newest is not None else None
            return set(), start, {}
        query = select(key, stamp).where(stamp >= watermark - self.overlap)
        rows = [(str(k), at) for k, at in conn.execute(query)]
        found = {k for k, at in rows if seen.get(k) != at}
        newest = max([*(at for _, at in rows), watermark])
        floor = newest - self.overlap
        window = {k: at for k, at in rows if at >= floor}
        if len(window) > MAX_SEEN:
            # A bulk load put too many rows in the window to remember them all in the cursor;
            # they will be read again until the window has passed, which is harmless.
            window = {}
        return found, newest, window

    def newest_event_time(self) -> datetime | None:
        """The time of the last event written (by seq: one index step, not a scan of `at`)."""
        with self.engine.connect() as conn:
            value: datetime | None = conn.execute(
                select(case_events.c.at).order_by(case_events.c.seq.desc()).limit(1)
            ).scalar()
            return value

    def load_cases(self, case_ids: Iterable[str]) -> Iterator[Case]:
        """Whole cases (record, catalogue item, every event), a chunk of ids per query."""
        for rows in self.load_rows(case_ids):
            yield rows.case()

    def load_rows(self, case_ids: Iterable[str]) -> Iterator[CaseRows]:
        """The cases as rows, before any `Case` is built (the screen reads their shape off
        the rows, and builds a `Case` only for a case a rule has to look at)."""
        ids = sorted(case_ids)
        with self.engine.connect() as conn:
            yield from self._load(conn, ids)

    def _load_generic(self, conn: Connection, ids: list[str]) -> Iterator[CaseRows]:
        """`load_rows` in portable SQL: the case rows, their items and their events, a chunk
        of ids per query each."""
        # Catalogue items repeat across chunks; each is read once per call.
        items: dict[str, PowerItem] = {}
        item_problems: dict[str, str] = {}
        for part in _chunks(ids, self.chunk):
            result = conn.execute(select(*CASE_COLUMNS).where(cases.c.case_id.in_(part)))
            names = tuple(result.keys())
            case_rows = {row.case_id: dict(zip(names, row, strict=True)) for row in result.all()}
            codes = sorted(
                {str(r["item_code"]) for r in case_rows.values()} - items.keys() - item_problems.keys()
            )
            if codes:
                for row in conn.execute(select(power_items).where(power_items.c.item_code.in_(codes))):
                    try:
                        items[row.item_code] = item_from_row(row._mapping)
                    except RecordError as exc:
                        item_problems[row.item_code] = str(exc)
            events: dict[str, list[Any]] = {cid: [] for cid in part}
            for row in conn.execute(
                select(*EVENT_COLUMNS)
                .where(case_events.c.case_id.in_(part))
                .order_by(case_events.c.case_id, case_events.c.at, case_events.c.seq)
            ).all():
                events[row[2]].append(row)
            for cid in part:
                record = case_rows.get(cid)
                code = str(record["item_code"]) if record is not None else ""
                yield _rows_of(cid, record, items.get(code), item_problems.get(code), events[cid])

    def _load_pg(self, conn: Connection, ids: list[str]) -> Iterator[CaseRows]:
        """`load_cases` on PostgreSQL: one row per case, its events gathered into arrays (in
        time and seq order).

        A first start reads millions of cases. Five rows a case through SQLAlchemy's result
        layer cost more than the case's evaluation; one row a case, in the driver's binary
        format (arrays and timestamps decoded in C), costs a fifth of that."""
        catalogue = self._catalogue
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor:
            # The times come as timestamptz, and the session is in UTC (state.db.make_engine):
            # the driver decodes them into aware UTC datetimes in C, none converted in Python.
            for part in _chunks(ids, self.chunk * 10):
                cursor.execute(PG_WHOLE_CASES, {"ids": list(part)}, binary=True)
                rows = cursor.fetchall()
                # Items are read again only when their row changed (its updated_at, read with
                # each case): a batch of cases names hundreds of them.
                stale = {
                    r[3]: r[2] for r in rows if r[2] is not None and catalogue.get(r[3], NONE)[0] != r[2]
                }
                if stale:
                    if len(catalogue) > MAX_CATALOGUE:
                        catalogue.clear()
                    for row in conn.execute(
                        select(power_items).where(power_items.c.item_code.in_(sorted(stale)))
                    ):
                        entry: PowerItem | str
                        try:
                            entry = item_from_row(row._mapping)
                        except RecordError as exc:
                            entry = str(exc)
                        catalogue[row.item_code] = (stale.get(row.item_code), entry)
                for cid, found, stamp, *record, seqs, event_ids, kinds, ats, actors, attributes in rows:
                    case_row = dict(zip(CASE_NAMES, record, strict=True)) if found is not None else None
                    known = catalogue.get(str(record[0])) if stamp is not None else None  # no row: unlisted
                    listed = known[1] if known is not None else None
                    yield in_step_order(
                        CaseRows(
                            cid,
                            case_row,
                            listed if not isinstance(listed, str) else None,
                            listed if isinstance(listed, str) else None,
                            seqs or [],
                            event_ids or [],
                            tuple(kinds or ()),
                            ats or [],
                            tuple(actors or ()),
                            tuple(attributes or ()),
                        )
                    )


def _rows_of(
    case_id: str,
    record: dict[str, Any] | None,
    item: PowerItem | None,
    item_problem: str | None,
    events: list[Any],
) -> CaseRows:
    """A case's rows (events in `EVENT_FIELDS` order, sorted by time and seq) as `CaseRows`;
    a time stored naive UTC, or as text, made an aware instant where it can be."""
    if not events:
        return CaseRows(case_id, record, item, item_problem, [], [], (), [], (), ())
    seqs, event_ids, _, kinds, ats, actors, attributes = zip(*events, strict=True)
    times = [at if isinstance(at, datetime) and at.tzinfo is not None else _instant(at) for at in ats]
    readable = all(isinstance(t, datetime) and t.tzinfo is not None for t in times)
    return in_step_order(
        CaseRows(
            case_id,
            record,
            item,
            item_problem,
            list(seqs),
            list(event_ids),
            kinds,
            times,
            actors,
            attributes,
            readable,
        )
    )


def _instant(value: Any) -> Any:
    """A stored time as an aware instant; left as it is when unreadable (then a problem on
    its case, see records.case_from_parts)."""
    try:
        return aware(value)
    except (ValueError, TypeError, AttributeError):
        return value
