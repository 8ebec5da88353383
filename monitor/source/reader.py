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
    ARRAY,
    ColumnElement,
    Connection,
    DateTime,
    Engine,
    Text,
    any_,
    cast,
    func,
    select,
    type_coerce,
)

from monitor.errors import RecordError
from monitor.model import Case, PowerItem
from monitor.source.records import EVENT_FIELDS, CaseRows, case_from_parts, in_step_order, item_from_row
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

    def changes(self, cursor: Cursor, now: datetime) -> tuple[Changes, Cursor]:
        """The cases touched since `cursor`, and the cursor to store once they are handled."""
        case_ids: set[str] = set()
        newest: datetime | None = None
        read = 0
        seen: set[int] = set()
        position = cursor.position
        with self.engine.connect() as conn:
            latest: Any = None
            if conn.dialect.name == "postgresql":
                page = _pg_page(conn, cursor.position, self.max_events)
                if page is not None and page[0]:  # NULLs: nothing new
                    seqs: list[int] = page[0]
                    seen.update(seqs)
                    case_ids.update(page[1])
                    read = len(seqs)
                    latest, position = page[2], int(page[3])
            else:
                # A server-side cursor: a backlog of events (a first start reads up to
                # `max_events` of them per pass) streams through in batches, never held whole.
                # Times as stored (naive UTC): only the newest is made aware, not ten million.
                stream = conn.execution_options(stream_results=True, yield_per=STREAM_BATCH).execute(
                    select(
                        case_events.c.seq, case_events.c.case_id, type_coerce(case_events.c.at, DateTime())
                    )
                    .where(case_events.c.seq > cursor.position)
                    .order_by(case_events.c.seq)
                    .limit(self.max_events)
                )
                for seq, case_id, at in stream:
                    seen.add(seq)
                    case_ids.add(case_id)
                    read += 1
                    position = seq  # ordered by seq
                    if latest is None or at > latest:
                        latest = at
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
        ids = sorted(case_ids)
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                yield from (rows.case() for rows in self._load_pg(conn, ids))
                return
            among = _membership(conn)
            # Catalogue items repeat across chunks; each is read once per call.
            items: dict[str, PowerItem] = {}
            item_problems: dict[str, str] = {}
            for part in _chunks(ids, self.chunk):
                result = conn.execute(select(*CASE_COLUMNS).where(among(cases.c.case_id, part)))
                names = tuple(result.keys())
                case_rows = {row.case_id: dict(zip(names, row, strict=True)) for row in result.all()}
                codes = sorted(
                    {str(r["item_code"]) for r in case_rows.values()} - items.keys() - item_problems.keys()
                )
                if codes:
                    for row in conn.execute(select(power_items).where(among(power_items.c.item_code, codes))):
                        try:
                            items[row.item_code] = item_from_row(row._mapping)
                        except RecordError as exc:
                            item_problems[row.item_code] = str(exc)
                events: dict[str, list[Any]] = {cid: [] for cid in part}
                for row in conn.execute(
                    select(*EVENT_COLUMNS)
                    .where(among(case_events.c.case_id, part))
                    .order_by(case_events.c.case_id, case_events.c.at, case_events.c.seq)
                ).all():
                    at = row[4]
                    if not isinstance(at, datetime) or at.tzinfo is None:  # stored naive UTC, or text
                        events[row[2]].append((*row[:4], _instant(at), *row[5:]))
                    else:
                        events[row[2]].append(row)
                for cid in part:
                    record = case_rows.get(cid)
                    code = str(record["item_code"]) if record is not None else ""
                    yield case_from_parts(cid, record, items.get(code), events[cid], item_problems.get(code))

    def load_rows(self, case_ids: Iterable[str]) -> Iterator[CaseRows] | None:
        """The cases as rows, before any `Case` is built (for the screen); None where the
        backend has no such read (only PostgreSQL has)."""
        if self.engine.dialect.name != "postgresql":
            return None
        return self._rows(sorted(case_ids))

    def _rows(self, ids: list[str]) -> Iterator[CaseRows]:
        with self.engine.connect() as conn:
            yield from self._load_pg(conn, ids)

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
                cursor.execute(_PG_WHOLE_CASES, {"ids": list(part)}, binary=True)
                rows = cursor.fetchall()
                # Items are read again only when their row changed (its updated_at, read with
                # each case): a batch of cases names hundreds of them.
                stale = {
                    r[3]: r[2] for r in rows if r[2] is not None and catalogue.get(r[3], _NONE)[0] != r[2]
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
                    case_row = dict(zip(_CASE_NAMES, record, strict=True)) if found is not None else None
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


def _pg_page(conn: Connection, after: int, limit: int) -> Any:
    """The events after seq `after`, at most `limit`, as one row: their seqs and case ids as
    arrays (decoded in C, in a fraction of the time that many rows take through the result
    layer), the newest time (naive UTC, as stored) and the last seq. A page is at most
    `limit` long, so memory stays bounded all the same."""
    driver = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with driver:
        driver.execute(_PG_PAGE, {"after": after, "n": limit}, binary=True)
        return driver.fetchone()


_PG_PAGE = (
    "SELECT array_agg(seq), array_agg(case_id), max(at), max(seq)"  # noqa: S608 - names from the schema
    f" FROM (SELECT seq, case_id, at FROM {case_events.name} WHERE seq > %(after)s"
    " ORDER BY seq LIMIT %(n)s) AS page"
)
# The events come from a subquery sorted by (at, seq), which the aggregates keep (one sort a
# case, not one per array); CaseRows checks the order all the same (records.in_step_order).
_PG_AGGREGATE = {
    "at": "array_agg(at AT TIME ZONE 'UTC')",  # stored naive UTC
    "actors": "array_agg(actors::text)",
    "attributes": "array_agg(attributes::text)",
}
MAX_CATALOGUE = 200_000  # catalogue items kept between batches (a province has about 30,000)
_NONE: tuple[Any, Any] = (None, None)
_CASE_NAMES = tuple(c.name for c in CASE_COLUMNS if c.name != "case_id")
# One row per asked id (no case row: NULLs, a problem on the case), its events as arrays in
# the columns' order of records.EVENT_FIELDS less `case_id`.
_PG_WHOLE_CASES = (
    "SELECT q.id, c.case_id, i.updated_at, "  # noqa: S608 - table and column names from the schema
    + ", ".join(f"c.{n}" if n != "attributes" else "c.attributes::text" for n in _CASE_NAMES)
    + ", e.* FROM unnest(%(ids)s::text[]) WITH ORDINALITY AS q(id, n)"
    f" LEFT JOIN {cases.name} AS c ON c.case_id = q.id"
    f" LEFT JOIN {power_items.name} AS i ON i.item_code = c.item_code"
    " LEFT JOIN LATERAL (SELECT "
    + ", ".join(_PG_AGGREGATE.get(n, f"array_agg({n})") for n in EVENT_FIELDS if n != "case_id")
    + f" FROM (SELECT * FROM {case_events.name} WHERE case_id = q.id ORDER BY at, seq) AS ev) AS e"  # noqa: S608
    " ON true ORDER BY q.n"
)


def _instant(value: Any) -> Any:
    """A stored time as an aware instant; left as it is when unreadable (then a problem on
    its case, see records.case_from_parts)."""
    try:
        return aware(value)
    except (ValueError, TypeError, AttributeError):
        return value


def _membership(conn: Connection) -> Callable[[Any, Sequence[str]], ColumnElement[bool]]:
    """`column IN (ids)` as the server takes it best: on PostgreSQL one array parameter
    (`= ANY(%s)`: the statement stays the same size and is parsed once), elsewhere a list of
    bound parameters."""
    if conn.dialect.name == "postgresql":
        return lambda column, values: column == any_(cast(list(values), ARRAY(Text)))
    return lambda column, values: column.in_(values)
