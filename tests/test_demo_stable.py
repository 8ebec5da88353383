"""The demo is a pure function of (now, cases, seed): the same arguments give the same
records, byte for byte. The hashes below are the demo as of commit 5e8fb43; a change that
alters them changes the demo and must update them deliberately."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from monitor.demo import CATALOGUE, DEPARTMENTS, demo_records
from monitor.demo.catalogue import Catalogue, People, read_data
from monitor.errors import StartupError
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


def digest(at: datetime, seed: int = 1) -> str:
    """SHA-256 of the records as JSON lines, keys in the order the demo writes them."""
    h = hashlib.sha256()
    for record in demo_records(at, 400, seed):
        h.update(json.dumps(record, ensure_ascii=False).encode() + b"\n")
    return h.hexdigest()


@pytest.mark.parametrize("at", list(EXPECTED), ids=lambda at: at.isoformat())
def test_demo_records_are_the_same_as_before(at: datetime) -> None:
    assert digest(at) == EXPECTED[at]


def test_another_seed_gives_another_demo() -> None:
    """The hash sees the records: a different seed is a different demo."""
    at = next(iter(EXPECTED))
    assert digest(at, seed=2) != EXPECTED[at]


ITEM = {
    "code": "330100-XK-0001",
    "name": "食品经营许可",
    "item_type": "licensing",
    "department": "市市场监督管理局",
    "legal": 20,
    "promised": 7,
    "unit": "working_days",
    "basis": "《中华人民共和国食品安全法》第三十五条",
    "volume": 14,
    "persons": 0.3,
}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"department": "市不存在局"}, "330100-XK-0001: department '市不存在局' is not in departments"),
        ({"unit": "weeks"}, "330100-XK-0001: unit 'weeks'"),
        ({"promise": 7}, "promise"),  # a misspelt key is refused, not ignored
        ({"legal": "twenty"}, "legal"),
    ],
)
def test_a_bad_catalogue_entry_is_refused_naming_it(change: dict[str, Any], named: str) -> None:
    raw = {"departments": ["市市场监督管理局"], "unlisted_codes": [], "items": [{**ITEM, **change}]}
    with pytest.raises(ValidationError, match=re.escape(named)):
        Catalogue.model_validate(raw)


def test_the_shipped_catalogue_is_the_one_the_demo_uses() -> None:
    assert len({i.code for i in CATALOGUE}) == len(CATALOGUE)
    assert {i.department for i in CATALOGUE} <= set(DEPARTMENTS)
    assert [r for r in demo_records(next(iter(EXPECTED)), 1, 1)][: len(CATALOGUE)] == [
        i.record() for i in CATALOGUE
    ]


def test_a_broken_data_file_is_one_line_naming_the_file_and_the_field(tmp_path: Path) -> None:
    (tmp_path / "people.yaml").write_text("surnames: 王李\ngiven_one: 伟\nbrands: 7\n", encoding="utf-8")
    with pytest.raises(StartupError) as caught:
        read_data("people.yaml", People, tmp_path)
    said = str(caught.value)
    assert "\n" not in said
    assert said.startswith(f"demo data {tmp_path / 'people.yaml'}: ")
    assert "brands: Input should be a valid tuple" in said
    assert "given_two: Field required" in said


@pytest.mark.parametrize(("text", "named"), [(None, "No such file"), ("brands: [a\n", "while parsing")])
def test_a_missing_or_unparsable_data_file_is_named(tmp_path: Path, text: str | None, named: str) -> None:
    if text is not None:
        (tmp_path / "people.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(StartupError, match=re.escape(named)) as caught:
        read_data("people.yaml", People, tmp_path)
    assert str(tmp_path / "people.yaml") in str(caught.value)
    assert "\n" not in str(caught.value)
