"""A rule whose steps a case lacks is skipped before its conditions run (monitor.engine.gates)."""

from __future__ import annotations

import dataclasses
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.calendar import WorkCalendar
from monitor.engine import RuleSet, evaluate, load_ruleset
from monitor.engine.context import CaseContext
from monitor.engine.gates import Gate, PlannedRule, _step_gates, condition_gates
from monitor.model import ItemType
from tests.conftest import bj
from tests.test_shipped_rules import LICENCE, make

ROUTES = frozenset({"department", "discipline_office", "operators"})
NOW = bj("2026-11-23 10:00")

# `when` fails on a case whose `fine` is a string: comparing it with a number has no overload.
RULES = """\
ruleset: gated
title: 门控测试
rules:
  - id: gated.decided_after_review
    title: 作出决定前应当审核
    category: procedure
    kind: precedence
    before: reviewed
    after: decided
    when: 'case.attributes.fine > 10'
  - id: gated.one_correction
    title: 一次性告知
    category: procedure
    kind: at_most
    event: correction_requested
    count: 1
  - id: gated.always
    title: 始终检查
    category: data_quality
    kind: check
    when: 'case.attributes.fine > 10'
"""


def _rules(tmp_path: Path) -> RuleSet:
    (tmp_path / "gated.yaml").write_text(textwrap.dedent(RULES), encoding="utf-8")
    return load_ruleset(tmp_path, ROUTES)


def _found(rules: RuleSet, *events: tuple[str, str], **attributes: object) -> dict[str, str]:
    """Rule id -> its findings' messages, one per line."""
    case = make(*events, **attributes)
    out: dict[str, str] = {}
    for f in evaluate(case, rules, WorkCalendar.default(), NOW).findings:
        out[f.rule_id] = f"{out.get(f.rule_id, '')}{f.message}\n"
    return out


def test_a_rule_without_its_step_does_not_run_its_condition(tmp_path: Path) -> None:
    rules = _rules(tmp_path)
    found = _found(rules, ("received", "2026-11-16 09:00"), fine="a lot")
    # The check rule has no gate: its condition runs and cannot be applied to this case.
    assert "“始终检查”" in found["data_quality.rule_not_applicable"]
    assert "“作出决定前应当审核”" not in found["data_quality.rule_not_applicable"]


def test_the_same_rule_runs_once_its_step_is_there(tmp_path: Path) -> None:
    rules = _rules(tmp_path)
    found = _found(rules, ("received", "2026-11-16 09:00"), ("decided", "2026-11-17 09:00"), fine=50)
    assert "gated.decided_after_review" in found
    found = _found(rules, ("received", "2026-11-16 09:00"), ("decided", "2026-11-17 09:00"), fine="a lot")
    assert "“作出决定前应当审核”" in found["data_quality.rule_not_applicable"]


def test_an_at_most_rule_opens_only_past_its_count(tmp_path: Path) -> None:
    rules = _rules(tmp_path)
    once = ("correction_requested", "2026-11-16 10:00")
    twice = ("correction_requested", "2026-11-17 10:00")
    assert "gated.one_correction" not in _found(rules, ("received", "2026-11-16 09:00"), once, fine=1)
    assert "gated.one_correction" in _found(rules, ("received", "2026-11-16 09:00"), once, twice, fine=1)
    [gate] = rules.plan[ItemType.LICENSING][0][1][1].gates
    assert gate.kinds == frozenset({"correction_requested"}) and gate.count == 2
    assert [m.kind for m in gate.matches] == ["correction_requested"]


MATCHED = """\
ruleset: matched
title: 匹配门控
rules:
  - id: matched.heard_before_decision
    title: 听证后决定
    category: procedure
    kind: precedence
    before: hearing_held
    after: {kind: decided, when: 'event.attributes.result == "penalty"'}
    when: 'case.attributes.fine > 10'
"""


def test_a_step_whose_condition_says_no_opens_no_gate_but_a_failing_condition_still_speaks(
    tmp_path: Path,
) -> None:
    """The steps a rule needs are matched with their conditions: a decision that is not a
    penalty leaves the rule shut (nothing to say, as its own run would find); the rule's own
    condition runs first, so a case it cannot be applied to still gets the finding it would
    get without gates."""
    (tmp_path / "matched.yaml").write_text(MATCHED, encoding="utf-8")
    rules = load_ruleset(tmp_path, ROUTES)
    [(_, planned)] = rules.plan[ItemType.LICENSING]
    [p] = planned
    received = ("received", "2026-11-16 09:00")
    cleared = make(received, ("decided", "2026-11-17 09:00"), fine=50)
    cleared = dataclasses.replace(
        cleared,
        events=tuple(dataclasses.replace(e, attributes={"result": "no_penalty"}) for e in cleared.events),
    )
    ctx = CaseContext(cleared, rules, NOW)
    assert p.applies(ctx.counts) and not p.matched(ctx, {})
    assert evaluate(cleared, rules, WorkCalendar.default(), NOW).findings == ()
    penalised = dataclasses.replace(
        cleared,
        events=tuple(dataclasses.replace(e, attributes={"result": "penalty"}) for e in cleared.events),
    )
    assert p.matched(CaseContext(penalised, rules, NOW), {})
    assert [f.rule_id for f in evaluate(penalised, rules, WorkCalendar.default(), NOW).findings] == [
        "matched.heard_before_decision"
    ]
    unreadable = dataclasses.replace(cleared, attributes={"fine": "a lot"})
    [finding] = evaluate(unreadable, rules, WorkCalendar.default(), NOW).findings
    assert finding.rule_id == "data_quality.rule_not_applicable" and "听证后决定" in finding.message


def test_gate_counts() -> None:
    gate = Gate(frozenset({"a", "b"}), 2)
    assert not gate.open({"a": 1})
    assert gate.open({"a": 1, "b": 1})
    assert Gate(frozenset({"a", "b"})).open({"b": 3})
    assert not Gate(frozenset({"a"})).open({"b": 3})


def test_the_plan_holds_only_the_files_that_select_a_type(tmp_path: Path) -> None:
    from tests.conftest import RULES as SHIPPED

    rules = load_ruleset(SHIPPED, ROUTES)
    penalty = {f.spec.ruleset for f, _ in rules.plan[ItemType.PENALTY]}
    unlisted = {f.spec.ruleset for f, _ in rules.plan[None]}
    assert "penalty" in penalty and "licensing" not in penalty
    assert "licensing" not in unlisted and "penalty" not in unlisted and "catalogue" in unlisted


def test_case_counts_are_the_steps_by_kind() -> None:
    from tests.conftest import RULES as SHIPPED

    rules = load_ruleset(SHIPPED, ROUTES)
    case = make(
        ("received", "2026-11-16 09:00"), ("reviewed", "2026-11-16 10:00"), ("reviewed", "2026-11-17 10:00")
    )
    assert CaseContext(case, rules, NOW).counts == {"received": 1, "reviewed": 2}
    assert case.item is LICENCE


@pytest.mark.parametrize(
    ("parts", "kinds"),
    [
        (('"decided" in case.counts', "x > 1"), [{"decided"}]),
        (('"decided"  in  case.counts', ' "delivered" in case.counts '), [{"decided"}, {"delivered"}]),
        (('case.counts.exists(k, k == "fee_charged")',), [{"fee_charged"}]),
        (('case.counts.exists(k, j == "fee_charged")',), []),  # another variable: not a step test
        (('"decided" in case.counts || closed',), []),  # a disjunction is no gate
        (('!("decided" in case.counts)',), []),
        (('"decided" in case.first',), []),
        # read off the syntax tree: any quoting, either side of `==`, comments and brackets
        (("'decided' in case.counts",), [{"decided"}]),
        (('case.counts.exists(k, "paid" == k)',), [{"paid"}]),
        (('("decided") in (case.counts) // the decision',), [{"decided"}]),
        (('"decided" in case.counts.x',), []),
        (("case.counts.exists(k, k == 1)",), []),
        (('events.exists(k, k == "decided")',), []),
    ],
)
def test_a_conjunct_that_asks_for_a_step_is_a_gate(parts: tuple[str, ...], kinds: list[set[str]]) -> None:
    assert [set(g.kinds) for g in condition_gates(parts)] == kinds


def test_a_condition_false_for_a_whole_item_type_keeps_the_rule_out_of_its_plan() -> None:
    from tests.conftest import RULES as SHIPPED

    rules = load_ruleset(SHIPPED, ROUTES)

    def planned(t: ItemType | None) -> set[str]:
        return {p.rule.id for _, ps in rules.plan[t] for p in ps}

    # `case.listed && case.item.item_type == "penalty" && ...`
    assert "data_quality.penalty_procedure_missing" in planned(ItemType.PENALTY)
    assert "data_quality.penalty_procedure_missing" not in planned(ItemType.LICENSING)
    assert "data_quality.penalty_procedure_missing" not in planned(None)  # not listed
    assert "catalogue.unlisted_power" in planned(None)


def _ungated(rules: RuleSet) -> RuleSet:
    """The same rule set planned with the step gates alone: every condition runs, and every
    enabled rule of a selected file is in the plan of every item type."""
    plain = dataclasses.replace(rules)
    full = {
        t: tuple(
            (f, tuple(PlannedRule(r, _step_gates(r)) for r in f.spec.rules if r.enabled)) for f, _ in files
        )
        for t, files in rules.plan.items()
    }
    object.__setattr__(plain, "plan", full)
    return plain


def test_condition_gates_and_plans_change_no_evaluation_of_the_demo_cases(tmp_path: Path) -> None:
    from tests.conftest import RULES as SHIPPED
    from tests.conftest import demo_cases

    demo = demo_cases(tmp_path, NOW)
    rules = load_ruleset(SHIPPED, ROUTES)
    plain = _ungated(rules)
    assert sum(len(p) for _, p in plain.plan[ItemType.LICENSING]) > sum(
        len(p) for _, p in rules.plan[ItemType.LICENSING]
    )
    calendar = WorkCalendar.default()
    compared = 0
    for case in demo:
        for days in (-2, 0, 3, 20):
            at = NOW + timedelta(days=days)
            a, b = evaluate(case, rules, calendar, at), evaluate(case, plain, calendar, at)
            assert (a.findings, a.next_check_at) == (b.findings, b.next_check_at), case.case_id
            assert [(c.rule_id, c.due, c.level, c.reason) for c in a.clocks] == [
                (c.rule_id, c.due, c.level, c.reason) for c in b.clocks
            ]
            compared += 1
    assert compared == 1600


@pytest.mark.parametrize(
    ("part", "never"),
    [
        ('case.item.item_type == "penalty"', {ItemType.LICENSING}),
        ('"penalty" == case.item.item_type', {ItemType.LICENSING}),
        ("case.item.item_type == 'licensing'", set()),
        ("case.listed", {None}),
        ("(case.listed)", {None}),
        ('case.item.item_type != "penalty"', set()),
    ],
)
def test_a_conjunct_that_rules_out_an_item_type_is_read_off_its_tree(part: str, never: set[object]) -> None:
    from types import SimpleNamespace
    from typing import Any, cast

    from monitor.engine.gates import never_for

    rule = cast(Any, SimpleNamespace(when="the condition"))  # never_for reads only `when`
    parts = {"the condition": ("case.counts.size() > 0", part)}
    assert {t for t in (ItemType.LICENSING, None) if never_for(rule, parts, t.value if t else None)} == never
