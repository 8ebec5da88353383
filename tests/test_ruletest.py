"""`sunlight test-rules`: the shipped rules pass their fixtures; a wrong expectation fails."""

from __future__ import annotations

from pathlib import Path

from monitor.calendar import WorkCalendar
from monitor.engine import load_ruleset
from monitor.engine.ruletest import locate, run_fixtures
from tests.conftest import BJ, RULES

ROUTES = frozenset({"department", "discipline_office"})

FIXTURE = """\
tests:
  - name: 红牌
    now: 2026-11-23T10:00:00+08:00
    items:
      - {item_code: XK-1, item_type: licensing, legal_limit: 20, promised_limit: 5}
    cases:
      - case_id: C1
        item_code: XK-1
        events:
          - {kind: accepted, at: 2026-11-03T09:00:00+08:00}
    expect:
      - {case_id: C1, rule: licensing.decide_within_promise, level: yellow}
"""


def test_every_shipped_rule_set_passes_its_fixtures() -> None:
    folder, files = locate(RULES)
    assert folder == RULES and files
    outcomes = run_fixtures(files, load_ruleset(folder, ROUTES), WorkCalendar.default(), BJ)
    assert outcomes and all(o.ok for o in outcomes), [o for o in outcomes if not o.ok]


def test_a_wrong_expectation_fails_naming_both_sides(tmp_path: Path) -> None:
    fixture = tmp_path / "t.yaml"
    fixture.write_text(FIXTURE, encoding="utf-8")
    [outcome] = run_fixtures([fixture], load_ruleset(RULES, ROUTES), WorkCalendar.default(), BJ)
    assert not outcome.ok
    assert outcome.missing == ["C1 licensing.decide_within_promise yellow"]
    assert outcome.unexpected == ["C1 licensing.decide_within_promise red"]
