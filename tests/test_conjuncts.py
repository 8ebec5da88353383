"""Conditions split at their top-level `&&` keep their meaning and skip costly parts."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.engine.conjuncts import split_conjuncts


@pytest.mark.parametrize(
    ("source", "parts"),
    [
        ("a && b", ["a", "b"]),
        ("a", ["a"]),
        ('(a && b) && c.exists(x, x == "&&")', ["(a && b)", 'c.exists(x, x == "&&")']),
        ("a && 'it' && b", ["a", "'it'", "b"]),
        ("a && 'it''s && not' && b", ["a && 'it''s && not' && b"]),  # not CEL: left whole
        ('a && "say \\"&&\\"" && b', ["a", '"say \\"&&\\""', "b"]),
        ("a || b && c", ["a || b && c"]),  # && binds tighter: splitting would change the meaning
        ("a ? b : c && d", ["a ? b : c && d"]),
        ("[1, 2].exists(x, x > 1 && x < 3) && ok", ["[1, 2].exists(x, x > 1 && x < 3)", "ok"]),
        # a `&&` in a comment or in any kind of string is not one
        ("a // it's a && b\n  && c", ["a // it's a && b", "c"]),
        ("a && '''x && y''' && r'\\' == b", ["a", "'''x && y'''", "r'\\' == b"]),
        ("{'k': a && b}.k && c", ["{'k': a && b}.k", "c"]),
        ("a && 'unterminated", ["a && 'unterminated"]),
        ("(a && b)", ["(a && b)"]),  # one bracketed conjunct
        ("(a) && (b || c)", ["(a)", "(b || c)"]),
        ("// first\na && b", ["// first\na", "b"]),
    ],
)
def test_split(source: str, parts: list[str]) -> None:
    assert split_conjuncts(source) == parts


def test_a_false_guard_keeps_events_unconverted() -> None:
    from monitor.calendar import WorkCalendar
    from monitor.engine import evaluate, load_ruleset
    from tests.conftest import RULES, bj
    from tests.test_shipped_rules import make

    rules = load_ruleset(RULES, frozenset({"department", "discipline_office", "operators"}))
    guarded = next(s for s, ps in rules.parts.items() if len(ps) > 1 and "events" in rules.needs[ps[-1]])
    assert "events" not in rules.needs[rules.parts[guarded][0]]
    from monitor.engine.context import CaseContext

    case = make(("received", "2026-11-16 09:00"))
    ctx = CaseContext(case, rules, bj("2026-11-17 10:00"))
    evaluate(case, rules, WorkCalendar.default(), bj("2026-11-17 10:00"))
    ctx.test(guarded, {})
    assert "events" not in ctx._loaded  # the guard was false: the timeline was never converted


# A condition run conjunct by conjunct means what CEL means on the whole expression:
# `false && error` is false, `error && true` is an error (CEL's `&&` is commutative over
# errors), whatever the order the parts are written in.
PARTY = """\
ruleset: party
title: 当事人
rules:
  - id: party.hearing_for_organization
    title: 单位听证案件
    kind: check
    category: procedure
    when: 'case.attributes.procedure == "hearing" && case.attributes.party_type == "organization"'
  - id: party.timed
    title: 时间在后
    kind: check
    category: procedure
    when: >-
      case.attributes.procedure == "hearing" && events.exists(e, e.at < now) &&
      case.attributes.party_type == "organization"
"""


def _party_rules(tmp_path: Any) -> Any:
    from monitor.engine import load_ruleset

    (tmp_path / "party.yaml").write_text(PARTY, encoding="utf-8")
    return load_ruleset(tmp_path, frozenset({"department", "discipline_office"}))


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({"party_type": "person"}, set()),  # the second conjunct is false: so is the whole
        ({"party_type": "organization"}, {"data_quality.rule_not_applicable"}),  # error && true
        ({}, {"data_quality.rule_not_applicable"}),  # error && error
        ({"procedure": "summary"}, set()),  # false && error
        (
            {"procedure": "hearing", "party_type": "organization"},
            {"party.hearing_for_organization", "party.timed"},
        ),
    ],
)
def test_a_failing_conjunct_does_not_hide_a_false_one(
    tmp_path: Any, attributes: dict[str, str], expected: set[str]
) -> None:
    import cel

    from monitor.calendar import WorkCalendar
    from monitor.engine import evaluate
    from tests.conftest import bj
    from tests.test_shipped_rules import make

    rules = _party_rules(tmp_path)
    case = make(("received", "2026-11-16 09:00"), **attributes)
    now = bj("2026-11-17 10:00")
    found = evaluate(case, rules, WorkCalendar.default(), now).findings
    assert {f.rule_id for f in found} == expected
    assert len(found) == len(expected)
    if "data_quality.rule_not_applicable" in expected:
        # One finding for the case, naming each rule its data could not be applied to.
        [dq] = found
        assert "单位听证案件" in dq.message and "时间在后" in dq.message
    # ...which is what CEL gives on the whole condition.
    [rule, _] = rules.files[0].spec.rules
    try:
        whole: object = cel.compile(rule.when).execute({"case": {"attributes": attributes}})
    except Exception:  # noqa: BLE001
        whole = "error"
    assert whole == ("error" if "data_quality.rule_not_applicable" in expected else bool(expected))


def test_the_first_failure_is_raised_once_no_conjunct_is_false(tmp_path: Any) -> None:
    from monitor.engine.context import CaseContext
    from tests.conftest import bj
    from tests.test_shipped_rules import make

    rules = _party_rules(tmp_path)
    [_, timed] = rules.files[0].spec.rules
    ctx = CaseContext(make(("received", "2026-11-16 09:00")), rules, bj("2026-11-17 10:00"))
    with pytest.raises(KeyError, match="procedure"):
        ctx.test(timed.when, {})
    # A false conjunct after two failures (and after one that reads `events`) still decides.
    ctx = CaseContext(make(("received", "2026-11-16 09:00"), party_type="person"), rules, bj("2026-11-17"))
    assert ctx.test(timed.when, {}) is False


def test_the_screen_remembers_a_false_conjunct_after_one_that_reads_times(tmp_path: Any) -> None:
    """The memo keeps what the time-free conjunct answered for the shape; the conjunct that
    reads times is asked for each case; the evaluations are the engine's own."""
    from monitor.calendar import WorkCalendar
    from monitor.engine.screen import Screen
    from tests.conftest import bj
    from tests.test_screen import check_exact
    from tests.test_shipped_rules import make

    rules = _party_rules(tmp_path)
    calendar = WorkCalendar.default()
    screen = Screen(rules, calendar)
    now = bj("2026-11-17 10:00")
    for day in ("2026-11-16 09:00", "2026-11-16 15:00"):
        assert check_exact(screen, rules, calendar, make(("received", day), party_type="person"), now)
    organization = make(("received", "2026-11-16 09:00"), party_type="organization", procedure="hearing")
    assert check_exact(screen, rules, calendar, organization, now)
    memos = list(screen._memos.values())
    assert len(memos) == 2 and all(False in m.answers.values() for m in memos[:1])
