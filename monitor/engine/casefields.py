"""The fields of `case` as expressions see it, each computed from the case (and its step
counts) only when read, and each saying what its values are (for the load-time checks,
`monitor.engine.celcheck`) and what it reads: the screen settles a condition once
per shape of case only when every field it reads follows from that shape
(`monitor.engine.timefree`), and that is decided here, by the field itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from typing import Any, Final

from monitor.engine.celtypes import ATTRIBUTES, BOOL, INT, ITEM, STRING, TIMESTAMP, MapOf, Type, prim
from monitor.model import Case


@dataclass(frozen=True, slots=True)
class Field:
    """One field of `case`: how to compute it, and whether two cases of one shape (the same
    item, department and attributes, the same steps in order with their kinds, actors and
    attributes) may differ in it."""

    make: Callable[[Case, dict[str, int]], Any]
    cel_type: Type  # what the load-time checks know of its values (monitor.engine.celcheck)
    reads_time: bool  # the steps' times, the case's received time or the like
    identity: bool = False  # the case's own number, which no two cases share

    @property
    def shaped(self) -> bool:
        """Whether the field follows from the case's shape alone."""
        return not self.reads_time and not self.identity


def _item_value(case: Case) -> dict[str, Any]:
    item = case.item
    if item is None:
        return {}
    return {
        "item_type": item.item_type.value,
        "name": item.name,
        "legal_limit": item.legal_limit or 0,
        "promised_limit": item.promised_limit or 0,
        "limit_unit": item.limit_unit.value,
        "fee_standard": float(item.fee_standard),
        "attributes": dict(item.attributes),
    }


# A field the case cannot give (see `_fee_charged`): left out of `case`, so that reading it
# fails as reading any missing key does, and conditions that do not read it are unaffected.
ABSENT: Any = object()


def _fee_charged(case: Case) -> Any:
    try:
        return sum(float(e.attributes.get("amount", 0) or 0) for e in case.all("fee_charged"))
    except (TypeError, ValueError):
        return ABSENT  # an amount that is not a number


def _firsts(case: Case, _: dict[str, int]) -> dict[str, Any]:
    # The first time of each kind: order checks without walking `events` (which is costlier
    # to hand to CEL).
    return {e.kind: e.at.astimezone(UTC) for e in reversed(case.events)}


CASE_FIELDS: Final[dict[str, Field]] = {
    "case_id": Field(lambda c, _: c.case_id, STRING, reads_time=False, identity=True),
    "item_code": Field(lambda c, _: c.item_code, STRING, reads_time=False),
    "department": Field(lambda c, _: c.department, STRING, reads_time=False),
    "attributes": Field(lambda c, _: dict(c.attributes), ATTRIBUTES, reads_time=False),
    "listed": Field(lambda c, _: c.item is not None, BOOL, reads_time=False),
    "item": Field(lambda c, _: _item_value(c), ITEM, reads_time=False),
    "counts": Field(lambda _, counts: dict(counts), MapOf(STRING, INT), reads_time=False),
    "first": Field(_firsts, MapOf(STRING, TIMESTAMP), reads_time=True),
    # 0 without fee steps
    "fee_charged": Field(lambda c, _: _fee_charged(c), prim("int", "double"), reads_time=False),
    "closed": Field(lambda c, _: c.is_closed, BOOL, reads_time=False),
}

# The fields of a step's map (`event`, an element of `events`; monitor.engine.context's
# `event_dict`), by whether they read time.
STEP_READS_TIME: Final[dict[str, bool]] = {"kind": False, "at": True, "actors": False, "attributes": False}
