"""`sunlight backtest`: a faithful replay, two rule sets compared, nothing written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from monitor.backtest import replay
from monitor.calendar import WorkCalendar
from monitor.engine import load_ruleset
from tests.conftest import BJ, RULES, Harness, bj, case, event, item
from tests.test_cli import sunlight
from tests.test_shipped_rules import make

ROUTES = frozenset({"department", "discipline_office"})


def test_replay_counts_a_yellow_that_was_later_cured() -> None:
    rules = load_ruleset(RULES, ROUTES)
    cured = make(
        ("accepted", "2026-11-02 09:00"),
        ("decided", "2026-11-06 16:00", {"result": "approved"}),
        ("delivered", "2026-11-09 10:00"),
        ("disclosed", "2026-11-09 10:00", {"what": "decision"}),
    )
    raised, cut = replay(cured, rules, WorkCalendar.default(), bj("2026-11-30 00:00"), BJ)
    # 5 working days from 11-02: yellow on the 4th (11-06 00:00), decided in time that day.
    assert {k: v.value for k, v in raised.items()} == {"licensing.decide_within_promise": "yellow"}
    assert not cut


def test_backtest_compares_sets_and_writes_nothing(harness: Harness, tmp_path: Path) -> None:
    config = harness.config.base_dir / "config.yaml"
    harness.load(
        item(),
        case("C1"),
        event("C1", "accepted", "2026-11-02 09:00"),
        event("C1", "decided", "2026-11-05 16:00", result="approved"),
        event("C1", "delivered", "2026-11-06 10:00"),
        event("C1", "disclosed", "2026-11-06 10:00", what="decision"),
    )
    proposed = tmp_path / "proposed"
    shutil.copytree(RULES, proposed)
    lic = proposed / "licensing.yaml"
    lic.write_text(
        lic.read_text(encoding="utf-8").replace("yellow_share: 0.8", "yellow_share: 0.5"), encoding="utf-8"
    )
    out = sunlight(
        config,
        "backtest",
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-30",
        "--rules",
        str(proposed),
        "--format",
        "json",
    )
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert body["cases"] == 1
    # Decided on day 3 of 5: yellow at half the limit (day 3), not at 80% (day 4).
    assert body["changed_cases"] == [
        {
            "case_id": "C1",
            "department": "市市场监督管理局",
            "only_current": [],
            "only_proposed": ["licensing.decide_within_promise:yellow"],
        }
    ]
    assert harness.alerts() == [] and harness.notices() == []
