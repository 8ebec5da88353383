"""Source text on the terminal is shown, never obeyed: no Rich markup, no control sequence.

The commands run in-process (typer's CliRunner) over a state database holding alerts for
cases whose numbers and departments are Rich markup and terminal escape sequences, as a
platform's views may hold them (the importer refuses such values, so `model_copy` puts them
past its checks).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from monitor.cli import app
from monitor.config import load_config
from monitor.source import health
from monitor.source.importer import import_records
from monitor.source.records import CaseRecord, EventRecord, ItemRecord
from monitor.terminal import json_text, visible
from tests.conftest import Harness, bj, case, event, item, write_config

NOW = "2026-11-23T10:00:00+08:00"
CASE_IDS = [
    "C1[/]",
    "C2[link=https://evil.example]点此[/link]",
    "C3[bold]粗[/bold]",
    "C4\x1b]0;pwned\x07",  # an OSC sequence: would retitle the window
    "C5\x1b[2J\x1b[H",  # would clear the screen
    "C6\x9b31m\r覆盖",  # C1 CSI and a bare CR
    "C7\u202etxt.exe",  # a right-to-left override
]
DEPARTMENT = "[red]市监局[/red]\x1b[5m"
UNSAFE_BYTES = ("\x1b", "\x07", "\x9b", "\r", "\u202e")


@pytest.fixture
def config(tmp_path: Path) -> Iterator[Path]:
    path = write_config(tmp_path, f"sqlite:///{tmp_path / 'sunlight.db'}")
    h = Harness(load_config(path, environ={}))
    try:
        records: list[Any] = [ItemRecord.model_validate(item()).model_copy(update={"department": DEPARTMENT})]
        for cid in CASE_IDS:
            records += [
                CaseRecord.model_validate(case("X")).model_copy(
                    update={"case_id": cid, "department": DEPARTMENT}
                ),
                EventRecord.model_validate(event("X", "accepted", "2026-11-03 09:00")).model_copy(
                    update={"case_id": cid}
                ),
            ]
        report = import_records(
            h.app.source, [(f"raw:{i}", r) for i, r in enumerate(records)], bj("2026-11-23 09:00")
        )
        assert not report.errors, report.errors
        h.poll(bj("2026-11-23 10:00"))
        assert {a.case_id for a in h.alerts()} == set(CASE_IDS)
        with h.app.state.begin() as conn:  # a fault quoting the source, as a driver's error may
            health._save(
                conn,
                "cases",
                {"fault": f"source fault: cases cannot be read ({DEPARTMENT})"},
                bj("2026-11-23 10:00"),
            )
    finally:
        h.app.dispose()
    yield path


def run(config: Path, *args: str) -> str:
    result = CliRunner().invoke(app, ["--config", str(config), *args], env={"COLUMNS": "300"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 0, result.output
    for bad in UNSAFE_BYTES:
        assert bad not in result.output, (bad, result.output)
    return result.output


def test_alerts_table_prints_markup_literally_and_no_escape_sequence(config: Path) -> None:
    out = run(config, "alerts")
    for cid in CASE_IDS:
        assert visible(cid) in out, cid
    assert "[link=https://evil.example]点此[/link]" in out and "[bold]粗[/bold]" in out
    assert "C4\\x1b]0;pwned\\x07" in out and "C6\\x9b31m\\x0d覆盖" in out and "C7\\u202etxt.exe" in out
    assert visible(DEPARTMENT) in out
    assert "\x1b]8;" not in out  # no terminal hyperlink
    assert f"{len(CASE_IDS)} alerts" in out


def test_alerts_json_reads_back_to_the_very_values(config: Path) -> None:
    out = run(config, "alerts", "--format", "json")
    assert {a["case_id"] for a in json.loads(out)} == set(CASE_IDS)
    assert {a["department"] for a in json.loads(out)} == {DEPARTMENT}


@pytest.mark.parametrize("cid", CASE_IDS)
def test_explain_shows_the_case_literally(config: Path, cid: str) -> None:
    out = run(config, "explain", cid, "--now", NOW)
    assert visible(cid, lines=True) in out or visible(cid) in out


def test_source_status_shows_a_fault_quoting_the_source_literally(config: Path) -> None:
    out = run(config, "source", "status")
    assert "FAULT: source fault: cases cannot be read ([red]市监局[/red]\\x1b[5m)" in out


def test_report_table_and_csv_show_the_department_literally(config: Path) -> None:
    table = run(config, "report", "--month", "2026-11")
    assert "[red]市监局[/red]\\x1b[5m" in table
    csv_out = run(config, "report", "--month", "2026-11", "--format", "csv")
    assert "[red]市监局[/red]\\x1b[5m" in csv_out


def test_backtest_table_shows_the_department_literally(config: Path) -> None:
    out = run(config, "backtest", "--from", "2026-11-01", "--to", "2026-11-23")
    assert "[red]市监局[/red]\\x1b[5m" in out


def test_visible_escapes_every_control_character_and_keeps_the_rest() -> None:
    assert visible("a\x00b\x1fc\x7fd\x85e\u2028f\u2066g") == "a\\x00b\\x1fc\\x7fd\\x85e\\u2028f\\u2066g"
    assert visible("一\n二\t三\r\n", lines=True) == "一\n二\t三\r\n"
    assert visible("覆\r盖", lines=True) == "覆\\x0d盖"
    value = {"case": "C\x1b\x9b\u2028"}
    assert json.loads(json_text(value)) == value and "\x9b" not in json_text(value)
