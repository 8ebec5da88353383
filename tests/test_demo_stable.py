"""The demo is a pure function of (now, cases, seed): the same arguments give the same
records, byte for byte. The hashes below are the demo as of commit 5e8fb43; a change that
alters them changes the demo and must update them deliberately."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

import pytest

from monitor.demo import demo_records
from monitor.timeutil import DEFAULT_TZ

EXPECTED = {
    # a working day, after the office opened
    datetime(2026, 12, 4, 9, 40, tzinfo=DEFAULT_TZ): (
        "5a213dbf86c4ca1ba8d50d88b3cf195d41169befca43d89b0f06da356f956f2f"
    ),
    # before the office opens, just after the National Day holiday
    datetime(2026, 10, 8, 7, 15, tzinfo=DEFAULT_TZ): (
        "9367b8079a4e641be091202c6ccc94f5a205edb4535c400b95cf58b780767a3d"
    ),
    # a Saturday afternoon
    datetime(2027, 2, 13, 16, 0, tzinfo=DEFAULT_TZ): (
        "b587a194df3b40d8ad841f4f6f0b77b978a43de23bb1012cd27047714de5116e"
    ),
}


def digest(at: datetime) -> str:
    """SHA-256 of the records as JSON lines, keys in the order the demo writes them."""
    h = hashlib.sha256()
    for record in demo_records(at, 400, 1):
        h.update(json.dumps(record, ensure_ascii=False).encode() + b"\n")
    return h.hexdigest()


@pytest.mark.parametrize("at", list(EXPECTED), ids=lambda at: at.isoformat())
def test_demo_records_are_the_same_as_before(at: datetime) -> None:
    assert digest(at) == EXPECTED[at]


def test_another_seed_gives_another_demo() -> None:
    """The hash sees the records: a different seed is a different demo."""
    at = next(iter(EXPECTED))
    h = hashlib.sha256()
    for record in demo_records(at, 400, 2):
        h.update(json.dumps(record, ensure_ascii=False).encode() + b"\n")
    assert h.hexdigest() != EXPECTED[at]
