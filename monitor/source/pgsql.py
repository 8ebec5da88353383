"""The PostgreSQL reader's statements: events and whole cases as one row each, their columns
gathered into arrays that the driver decodes in C (monitor.source.reader)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from monitor.source.records import EVENT_FIELDS
from monitor.state.schema import case_events, cases, power_items


def pg_page(conn: Connection, after: int, limit: int) -> Any:
    """The events after seq `after`, at most `limit`, as one row: their seqs and case ids as
    arrays (decoded in C, in a fraction of the time that many rows take through the result
    layer), the newest time (naive UTC, as stored) and the last seq. A page is at most
    `limit` long, so memory stays bounded all the same."""
    driver = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with driver:
        driver.execute(PG_PAGE, {"after": after, "n": limit}, binary=True)
        return driver.fetchone()


PG_PAGE = (
    "SELECT array_agg(seq), array_agg(case_id), max(at), max(seq)"  # noqa: S608 - names from the schema
    f" FROM (SELECT seq, case_id, at FROM {case_events.name} WHERE seq > %(after)s"
    " ORDER BY seq LIMIT %(n)s) AS page"
)
# The events come from a subquery sorted by (at, seq), which the aggregates keep (one sort a
# case, not one per array); CaseRows checks the order all the same (records.in_step_order).
PG_AGGREGATE = {
    "at": "array_agg(at AT TIME ZONE 'UTC')",  # stored naive UTC
    "actors": "array_agg(actors::text)",
    "attributes": "array_agg(attributes::text)",
}
MAX_CATALOGUE = 200_000  # catalogue items kept between batches (a province has about 30,000)
NONE: tuple[Any, Any] = (None, None)
# The case columns as the reader reads them (monitor.source.reader.CASE_COLUMNS), less the id.
CASE_NAMES = (*(c.name for c in cases.c if c.name not in ("case_id", "attributes")), "attributes")
# One row per asked id (no case row: NULLs, a problem on the case), its events as arrays in
# the columns' order of records.EVENT_FIELDS less `case_id`.
PG_WHOLE_CASES = (
    "SELECT q.id, c.case_id, i.updated_at, "  # noqa: S608 - table and column names from the schema
    + ", ".join(f"c.{n}" if n != "attributes" else "c.attributes::text" for n in CASE_NAMES)
    + ", e.* FROM unnest(%(ids)s::text[]) WITH ORDINALITY AS q(id, n)"
    f" LEFT JOIN {cases.name} AS c ON c.case_id = q.id"
    f" LEFT JOIN {power_items.name} AS i ON i.item_code = c.item_code"
    " LEFT JOIN LATERAL (SELECT "
    + ", ".join(PG_AGGREGATE.get(n, f"array_agg({n})") for n in EVENT_FIELDS if n != "case_id")
    + f" FROM (SELECT * FROM {case_events.name} WHERE case_id = q.id ORDER BY at, seq) AS ev) AS e"  # noqa: S608
    " ON true ORDER BY q.n"
)
