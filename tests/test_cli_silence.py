"""`sunlight alerts silence`: the notices of a case are held back, the alert is still recorded."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import case, event, item, upgraded, write_config
from tests.test_cli import sunlight

NOW = "2026-11-23T10:00:00+08:00"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return upgraded(write_config(tmp_path, f"sqlite:///{tmp_path / 'data' / 'sunlight.db'}"))


def _load(config: Path, tmp_path: Path) -> None:
    records = [item()]
    for cid in ("C1", "C2"):  # both accepted 11-03: 5 working days promised, red by 11-23
        records += [
            case(cid),
            event(cid, "received", "2026-11-02 09:00"),
            event(cid, "accepted", "2026-11-03 09:00"),
        ]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    assert sunlight(config, "import", str(source)).returncode == 0


def test_a_silenced_case_is_alerted_but_not_mailed(config: Path, tmp_path: Path) -> None:
    _load(config, tmp_path)
    out = sunlight(
        config,
        "alerts", "silence", "--case", "C1", "--until", "2026-11-30T00:00:00",
        "--reason", "已书面说明，待核实", "--by", "李主任", "--now", NOW,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "held back until 2026-11-30T00:00:00+08:00" in out.stdout
    assert sunlight(config, "run", "--once", "--now", NOW).returncode == 0
    db = sqlite3.connect(tmp_path / "data" / "sunlight.db")
    statuses = dict(
        db.execute(
            "select a.case_id, group_concat(distinct n.status) from sunlight_notices n "
            "join sunlight_alerts a on a.id = n.alert_id group by a.case_id"
        ).fetchall()
    )
    assert statuses == {"C1": "silenced", "C2": "sent"}
    alerted = {r[0] for r in db.execute("select case_id from sunlight_alerts where level = 'red'")}
    assert alerted == {"C1", "C2"}  # the silence hides no alert


def test_silence_refuses_what_it_cannot_keep(config: Path) -> None:
    def silence(*args: str) -> tuple[int, str]:
        out = sunlight(config, "alerts", "silence", *args, "--now", NOW)
        return out.returncode, out.stderr

    past = ("--until", "2026-11-01T00:00:00", "--reason", "r", "--by", "b")
    code, err = silence("--case", "C1", *past)
    assert code == 2 and "is not in the future" in err
    later = ("--until", "2026-12-01T00:00:00", "--reason", "r", "--by", "b")
    code, err = silence("--case", "C1", "--rule", "x", *later)
    assert code == 2 and "exactly one of --case, --rule or --department" in err
    code, err = silence("--rule", "licensing.decide_within_promis", *later)
    assert code == 2 and "did you mean 'licensing.decide_within_promise'" in err
    code, err = silence("--case", "C1", "--until", "2026-12-01T00:00:00", "--reason", " ", "--by", "b")
    assert code == 2 and "needs --reason and --by" in err
