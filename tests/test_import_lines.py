"""`sunlight import` judges every line alone: what a column cannot hold is refused by name
and line number before the database sees it, and the good lines around it load."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import Harness, bj, case, event, item, write_config

GOOD_ITEM = item("XK-1")


def _bad_lines() -> list[tuple[dict[str, Any], str]]:
    """(record, what the error must say) for each kind of value a column cannot hold."""
    accepted = event("C1", "accepted", "2026-11-03 09:00")
    return [
        ({**item("XK-2"), "legal_limit": 10**30}, "legal_limit: Input should be less than or equal to 3650"),
        ({**item("XK-3"), "fee_standard": 1e15}, "fee_standard: Input should be less than 1000000000000"),
        (
            {**event("C1", "accepted", "2026-11-03 09:00"), "at": "0001-01-01T00:00:00+08:00"},
            "outside the years",
        ),
        ({**accepted, "at": 1700000000}, "a time is ISO 8601 text"),
        ({**case("C2"), "applicant": {"name": "某" * 300}}, "applicant.name: String should have at most 255"),
        ({**case("C3"), "department": "市局\x00"}, "department: a control character (U+0000)"),
        (
            {**case("C4"), "department": "市局\u2028Bcc: x@x.org"},
            "department: a control character (U+2028)",
        ),
        ({**case("C5"), "case_id": "C5\u0085"}, "case_id: a control character (U+0085)"),
        (
            {**event("C1", "reviewed", "2026-11-04 09:00"), "attributes": {"note": "a\x00b"}},
            "attributes.note: a control character (U+0000)",
        ),
        ({**item("XK-4"), "name": "名" * 256}, "name: String should have at most 255"),
    ]


@pytest.fixture
def h(tmp_path: Path, any_db_url: str) -> Iterator[Harness]:
    from monitor.config import load_config

    harness = Harness(load_config(write_config(tmp_path, any_db_url), environ={}))
    yield harness
    harness.app.dispose()


def test_each_bad_line_is_named_and_every_good_line_loads(h: Harness) -> None:
    from monitor.source.importer import import_records, read_lines
    from monitor.state.schema import case_events, cases, power_items

    bad = _bad_lines()
    good = [GOOD_ITEM, case("C1"), event("C1", "received", "2026-11-02 09:00")]
    lines: list[str] = []
    expected: dict[int, str] = {}
    for i, record in enumerate(good):  # the good lines around the bad ones
        lines.append(json.dumps(record, ensure_ascii=False))
        for rec, says in bad[i::3]:
            lines.append(json.dumps(rec, ensure_ascii=False))
            expected[len(lines)] = says
    lines.append(json.dumps(event("C1", "accepted", "2026-11-03 09:00")))
    note = {**event("C1", "reviewed", "2026-11-04 09:00"), "attributes": {"note": "第一行\n第二行"}}
    lines.append(json.dumps(note, ensure_ascii=False))  # a line break is fine in free text

    report = import_records(h.app.source, read_lines(lines, "in.jsonl"), bj("2026-11-23 09:00"))

    assert len(report.errors) == len(bad)
    for number, says in expected.items():
        [error] = [e for e in report.errors if e.startswith(f"in.jsonl:{number}: ")]
        assert says in error, error
    assert (report.items, report.cases, report.events) == (1, 1, 3)
    with h.app.source.connect() as conn:
        assert conn.execute(select(func.count()).select_from(power_items)).scalar() == 1
        assert conn.execute(select(cases.c.case_id)).scalars().all() == ["C1"]
        assert conn.execute(select(func.count()).select_from(case_events)).scalar() == 3


def test_a_value_the_database_refuses_costs_only_its_own_line(h: Harness, monkeypatch: Any) -> None:
    """Should a value pass validation and still be refused (a platform's narrower column),
    the batch is written again record by record."""
    from monitor.source.importer import import_records, read_lines
    from monitor.source.records import ItemRecord

    # A 300-character name that skipped validation (model_construct checks nothing).
    long_name = ItemRecord.model_validate(item("XK-9")).model_copy(update={"name": "名" * 300})
    good = list(read_lines([json.dumps(r, ensure_ascii=False) for r in (GOOD_ITEM, case("C1"))], "in.jsonl"))
    lines = [good[0], ("in.jsonl:2", long_name), ("in.jsonl:3", good[1][1])]
    report = import_records(h.app.source, lines, bj("2026-11-23 09:00"))
    if h.app.source.dialect.name == "sqlite":
        assert not report.errors and report.items == 2  # SQLite has no column lengths
        return
    [error] = report.errors
    assert error.startswith("in.jsonl:2: the database refused the record:")
    assert (report.items, report.cases) == (1, 1)


def test_a_line_that_is_not_utf8_is_named_and_the_rest_load(tmp_path: Path) -> None:
    from tests.test_cli import sunlight

    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'data' / 'sunlight.db'}")
    assert sunlight(config, "db", "upgrade").returncode == 0
    source = tmp_path / "in.jsonl"
    good = json.dumps(GOOD_ITEM, ensure_ascii=False).encode()
    bad = json.dumps(case("C1"), ensure_ascii=False).encode("gbk")  # a GBK export
    source.write_bytes(
        good + b"\n" + bad + b"\n" + json.dumps(case("C2"), ensure_ascii=False).encode() + b"\n"
    )
    out = sunlight(config, "import", str(source))
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert f"{source}:2: not UTF-8 text" in out.stderr
    assert "1 items, 1 cases, 0 events loaded" in out.stdout
