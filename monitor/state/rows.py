"""Typed rows of the case-state table, as a batch writes them.

A `StateRow` is a NamedTuple rather than a frozen dataclass: a first start builds one for
every case, and a NamedTuple is built as fast as the dict it replaces (a frozen dataclass
took five times as long) and is already the tuple a PostgreSQL COPY writes. Its fields are
`sunlight_case_state`'s columns, so no caller has to keep keys in an order.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from monitor.state.schema import case_state


class StateRow(NamedTuple):
    """A case's state after an evaluation: where the queue finds it again (`next_check_at`),
    what it was judged under (`ruleset_digest`, `fingerprint`), how it ended if closed, and
    the stretch of days its counting read (`clock_from`..`clock_until`, see requeue)."""

    case_id: str
    item_code: str
    department: str
    item_type: str
    open: bool
    next_check_at: datetime | None
    evaluated_at: datetime
    ruleset_digest: str
    fingerprint: str
    closed_at: datetime | None
    outcome: str | None
    limit_share: float | None
    clock_from: datetime | None
    clock_until: datetime | None
    disclosure: str | None = None  # once closed: its decision published on time or late (公开及时)


STATE_FIELDS: tuple[str, ...] = StateRow._fields
# Every field is a column: a renamed column fails at import, not in a batch's write.
assert set(STATE_FIELDS) <= {c.name for c in case_state.c}, "StateRow and case_state disagree"
