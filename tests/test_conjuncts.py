"""Conditions split at their top-level `&&` keep their meaning and skip costly parts."""

from __future__ import annotations

import pytest

from monitor.engine.conjuncts import split_conjuncts


@pytest.mark.parametrize(
    ("source", "parts"),
    [
        ("a && b", ["a", "b"]),
        ("a", ["a"]),
        ('(a && b) && c.exists(x, x == "&&")', ["(a && b)", 'c.exists(x, x == "&&")']),
        ("a && 'it''s && not' && b", ["a", "'it''s && not'", "b"]),
        ('a && "say \\"&&\\"" && b', ["a", '"say \\"&&\\""', "b"]),
        ("a || b && c", ["a || b && c"]),  # && binds tighter: splitting would change the meaning
        ("a ? b : c && d", ["a ? b : c && d"]),
        ("[1, 2].exists(x, x > 1 && x < 3) && ok", ["[1, 2].exists(x, x > 1 && x < 3)", "ok"]),
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
