"""Load-time checks of conditions (monitor.engine.celcheck): what they reject fails on every
case, and they reject nothing the shipped rules or the documented examples say."""

from __future__ import annotations

import re
import textwrap
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import cel
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.engine import celcheck as cc
from monitor.engine import celtypes as ct
from monitor.engine import load_ruleset
from monitor.engine.celcheck import analysable, check_condition
from monitor.engine.context import CaseView, event_dict
from monitor.engine.filecheck import file_expressions as _expressions
from monitor.errors import RuleError
from monitor.model import Applicant, Case, Event, ItemType, LimitUnit, PowerItem
from tests.conftest import RULES

ROUTES = frozenset({"department", "discipline_office"})
PARAMS = {"days": 5, "share": 0.8, "threshold": 10000, "flag": True, "label": "x"}


def problems(source: str, step: bool = False) -> list[str]:
    return check_condition(source, PARAMS, step)


# ---------------------------------------------------------------------------------------------
# What is rejected, and how it is said.


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "params.dayz > 1",
            "column 8 of the expression: `params.dayz` is not defined under `params:` "
            "(did you mean `params.days`?)",
        ),
        (
            "case.atributes.x == 1",
            "column 6 of the expression: `case` has no field `atributes` "
            "(did you mean `attributes`?); its fields: case_id, item_code",
        ),
        (
            "case.listed && case.item.itemtype == 'x'",
            "`case.item` has no field `itemtype` (did you mean `item_type`?)",
        ),
        ('events.exists(e, e.kidn == "decided")', "`e` has no field `kidn` (did you mean `kind`?)"),
        ('events[0].knd == "x"', "the step has no field `knd` (did you mean `kind`?)"),
        ('events.filter(e, e.kind == "x").exists(d, d.att < now)', "`d` has no field `att`"),
        ("case.item['itemtype'] == 'x'", "`case.item` has no field `itemtype`"),
        ("case.\n  atributes.x == 1", "line 2 column 3 of the expression: `case` has no field"),
        ("case.listed.x", "`case.listed` is true or false, which has no field `x`"),
        ("has(case.item.legal_limit.x)", "`case.item.legal_limit` is a number, which has no field `x`"),
        ("params.days.x == 1", "`params.days` is a number, which has no field `x`"),
        ('event.kind == "x"', "`event` is defined only in a step condition"),
        ("1 + 1", "the whole condition gives a number, not true or false"),
        ('"yes"', "the whole condition gives text, not true or false"),
        ("params.days", "the whole condition gives a number"),
        ("case.item.legal_limit", "the whole condition gives a number"),
        ("case.listed ? 1 : 2", "the whole condition gives a number"),
        ("events.map(e, e.kind)", "the whole condition gives a list"),
        ("now", "the whole condition gives a time"),
        ("case.listed && 1", "column 16 of the expression: a side of `&&` is a number, not true or false"),
        ("1 || case.listed", "column 1 of the expression: a side of `||` is a number"),
        ("!case.item.name", "the operand of `!` is text"),
        ("case.item.name ? true : false", "the test of `? :` is text"),
        ("events.exists(e, e.actors.exists(a, a))", "the predicate of `exists` is text"),
        ("case.counts.all(k, case.counts[k])", "the predicate of `all` is a number"),
        ("case.item.fee_standard * 2 > 10.0", "`*` cannot take double and int: CEL converts no number"),
        ('case.item.legal_limit > "5"', "`>` cannot take int and string"),
        ("params.label < 3", "`<` cannot take string and int"),
        ('"330100" in case.item_code', "`in` cannot take string and string: look for text in text"),
        ("1.0 in case.counts", "`in` cannot take double and map"),
        ("now + now > now", "`+` cannot take timestamp and timestamp"),
        ('-case.item.name == "x"', "`-` cannot negate string"),
        ("size(events) % 2.0 == 1.0", "`%` cannot take int and double"),
    ],
)
def test_what_fails_on_every_case_is_named(source: str, expected: str) -> None:
    found = problems(source)
    assert any(expected in p for p in found), found
    assert cel.compile(source)  # CEL alone would have let it through


@pytest.mark.parametrize(
    "source",
    [
        "has(params.dayz)",  # false, not an error
        "has(case.atributes)",
        'has(case.attributes.x) && case.attributes.x == "y"',
        "case.attributes.flag",  # an attribute may hold anything
        "case.attributes.x + 1 > 2",
        "case.attributes.amount * 1.5 > params.threshold",  # int or double: only the case knows
        "case.fee_charged - case.item.fee_standard > 0.0",
        "case.fee_charged > case.item.fee_standard",
        "case.item.legal_limit > 2.5",  # numbers of any kind compare
        'case.first.decided - case.first.received < duration("24h")',
        "now - case.first.received > duration('720h')",
        "case.first.received + duration('1h') < now",
        'duration("1h") + case.first.received < now',  # the specification's overload
        "params.flag",
        "params.flag == true && params.share < 1",
        "true ? case.listed : case.attributes.x",
        "case.listed ? case.attributes.x : false",
        "dyn(1) == 1",
        "case.attributes.name.contains('x')",
        "case.item_code.startsWith('330100-')",
        "'x' in case.attributes",
        "1 in [1, 2]",
        "case.item.attributes.exists(k, k == 'important')",
        "events.exists(e, e.attributes.exists(k, k == 'amount'))",
        "size(events.filter(e, e.kind == 'decided')) > 1",
        "events.map(e, e.at).exists(t, t < now)",
        "[1, 2].map(x, x > 1, x).size() == 1",
        "events.exists(case, case.kind == 'x')",  # a comprehension variable shadows `case`
        "[{'a': 1}].exists(params, params.a == 1)",
        "timestamp('2026-01-01T00:00:00+08:00') < now",
        "int(case.attributes.x) + 1 > 2",
        "case.attributes.x.y.z == 1",
        "events[0].attributes.x == 1",
        "{'a': 1}.a == 1",
        "case.listed == null || true",
    ],
)
def test_what_may_hold_on_some_case_is_allowed(source: str) -> None:
    assert problems(source) == []


def test_event_is_allowed_in_a_step_condition() -> None:
    assert problems('event.kind == "x" && has(event.attributes.what)', step=True) == []
    assert problems("event.kidn == 1", step=True) == [
        "column 7 of the expression: `event` has no field `kidn` (did you mean `kind`?); "
        "its fields: kind, at, actors, attributes"
    ]


def test_an_expression_the_parser_cannot_read_is_not_checked() -> None:
    assert not analysable("a.B{x: 1}")
    assert problems("a.B{x: case.atributes}") == []


# ---------------------------------------------------------------------------------------------
# The loader reports them like its other errors.

FILE = """\
ruleset: sample
title: 样例
params:
  days: 5
rules:
  - id: sample.check
    title: 检查
    kind: check
    category: procedure
    when: 'case.listed && params.dayz > 1'
  - id: sample.published
    title: 公开
    kind: deadline
    category: disclosure
    clock:
      start: decided
      stop:
        - kind: disclosed
          when: 'event.attributes.waht == "decision" || event.atributes.what == "x"'
      limit: $days
      unit: working_days
    when: 'event.kind == "decided"'
"""


def test_the_loader_names_file_line_column_and_rule(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(textwrap.dedent(FILE), encoding="utf-8")
    with pytest.raises(RuleError) as info:
        load_ruleset(tmp_path, ROUTES)
    path = tmp_path / "r.yaml"
    # The position is the `when:` key's, as for the loader's other expression errors.
    assert info.value.problems == [
        f"{path}:10:5 [rule sample.check]: expression `case.listed && params.dayz > 1`: column 23 of the "
        "expression: `params.dayz` is not defined under `params:` (did you mean `params.days`?)",
        f'{path}:22:5 [rule sample.published]: expression `event.kind == "decided"`: column 1 of the '
        "expression: `event` is defined only in a step condition (`- kind: … when: …`)",
        f'{path}:19:11 [rule sample.published]: expression `event.attributes.waht == "decision" || '
        'event.atributes.what == "x"`: column 46 of the expression: `event` has no field `atributes` '
        "(did you mean `attributes`?); its fields: kind, at, actors, attributes",
    ]


def test_the_file_s_own_parameters_are_the_ones_known(tmp_path: Path) -> None:
    other = FILE.replace("ruleset: sample", "ruleset: other").replace("sample.", "other.")
    other = other.replace("  days: 5\n", "  days: 5\n  dayz: 6\n").replace("waht", "what")
    other = other.replace("event.atributes", "event.attributes").replace(
        "    when: 'event.kind", "    when: 'case.listed"
    )
    (tmp_path / "other.yaml").write_text(other, encoding="utf-8")
    assert load_ruleset(tmp_path, ROUTES).rule_count == 2  # `dayz` is defined there
    (tmp_path / "r.yaml").write_text(FILE, encoding="utf-8")
    with pytest.raises(RuleError) as info:
        load_ruleset(tmp_path, ROUTES)
    assert sum("params.dayz" in p for p in info.value.problems) == 1  # in r.yaml only


# ---------------------------------------------------------------------------------------------
# Coverage: every shipped and documented condition is read by the parser, and passes.


def _shipped() -> list[tuple[str, str, dict[str, Any], bool]]:
    """Every condition of the shipped files: where, the text, its file's params, whether a
    step condition."""
    rules = load_ruleset(RULES, ROUTES)
    return [
        (f"{f.path.name}:{'.'.join(map(str, loc))}", source, f.params, len(loc) > 3)
        for f in rules.files
        for loc, source in _expressions(f.spec)
    ]


SHIPPED = _shipped()
_DOCS = re.sub(  # less the table of mistakes
    r"### Mistakes found before any case is seen.*?(?=\n### )",
    "",
    (RULES.parent / "docs" / "rules.md").read_text(encoding="utf-8"),
    flags=re.S,
)
# The conditions the reference shows: `when:` lines in its examples, and code spans that test
# something (not a bare field such as `case.listed`).
DOCUMENTED = sorted(
    set(re.findall(r"when: '([^'\n]+)'", _DOCS))
    | {
        span
        for span in re.findall(r"`([^`\n]*(?:case|events)\.[^`\n]*)`", _DOCS)
        if re.search(r"==|!=|<|>|&&|\|\||!|\bin\b|has\(|exists|all\(", span)
    }
)


def test_every_shipped_condition_is_analysed_and_passes() -> None:
    assert len(SHIPPED) > 45  # every `when:` of every shipped file, step conditions too
    assert [where for where, source, _, _ in SHIPPED if not analysable(source)] == []
    for where, source, params, step in SHIPPED:
        assert check_condition(source, params, step) == [], where


def test_the_documented_conditions_pass() -> None:
    checked = 0
    for source in DOCUMENTED:
        try:
            cel.compile(source)
        except ValueError:
            continue  # a fragment of a condition (`case.listed && …`)
        assert analysable(source), source
        params = {"hearing_threshold_person": 10000, "hearing_threshold_organization": 100000}
        found = check_condition(source, params, step="event." in source)
        assert found == [], (source, found)
        checked += 1
    assert checked > 15


# ---------------------------------------------------------------------------------------------
# What the checks know, held to what the engine builds and to what CEL does.

ITEM = PowerItem("XK-1", "许可", ItemType.LICENSING, "局", 20, None, LimitUnit.WORKING_DAYS, Decimal("1.5"))
AT = datetime(2026, 11, 2, 9, tzinfo=UTC)


def _case(item: PowerItem | None, fee: bool) -> Case:
    events = [Event(1, "e1", "C1", "received", AT, ("甲",), {"what": "x"})]
    if fee:
        events.append(Event(2, "e2", "C1", "fee_charged", AT + timedelta(hours=1), (), {"amount": 3}))
    return Case("C1", "XK-1", "局", Applicant(), {"a": 1}, item, tuple(events))


def _cel_type(value: Any) -> str:
    ctx = cel.Context()
    ctx.add_variable("v", value)
    return str(cel.compile("type(v)").execute(ctx))


_CEL_NAMES = {
    "null": "null_type",
    "timestamp": "google.protobuf.Timestamp",
    "duration": "google.protobuf.Duration",
}


def cel_type_of(source: str) -> str:
    """The name of the type of what `source` gives, as CEL itself says it."""
    return str(cel.compile(f"type({source})").execute())


def _admits(t: Any, value: Any) -> bool:
    """Whether a value CEL is handed is of the type the checks give it."""
    if isinstance(t, ct.Dyn):
        return True
    if isinstance(t, ct.Prim):
        return _cel_type(value) in {_CEL_NAMES.get(n, n) for n in t.names}
    if isinstance(t, ct.ListOf):
        return isinstance(value, list) and all(_admits(t.elem, v) for v in value)
    if isinstance(t, ct.MapOf):
        return isinstance(value, dict) and all(
            _admits(t.key, k) and _admits(t.value, v) for k, v in value.items()
        )
    assert isinstance(t, ct.Record)
    return (
        isinstance(value, dict)
        and set(value) <= set(t.fields)
        and all(_admits(t.fields[k], v) for k, v in value.items())
    )


def test_the_fields_are_those_the_engine_builds_with_their_types() -> None:
    for item in (ITEM, None):
        for fee in (True, False):
            case = _case(item, fee)
            counts = {"received": 1, **({"fee_charged": 1} if fee else {})}
            whole = CaseView(case, counts).whole()
            assert whole.keys() == cc.CASE.fields.keys()
            assert _admits(cc.CASE, whole), whole
            if item is not None:
                assert whole["item"].keys() == ct.ITEM.fields.keys()
            for e in case.events:
                assert event_dict(e).keys() == ct.STEP.fields.keys()
                assert _admits(ct.STEP, event_dict(e))


@pytest.mark.parametrize("value", [1, 2.5, "x", True, None])
def test_parameters_have_the_types_cel_gives_them(value: Any) -> None:
    assert _admits(ct.value_type(value), value)


SAMPLES = {
    "int": "1",
    "uint": "1u",
    "double": "1.5",
    "string": "'a'",
    "bytes": "b'a'",
    "bool": "true",
    "null": "null",
    "timestamp": "timestamp('2026-01-01T00:00:00Z')",
    "duration": "duration('1h')",
    "list": "[1]",
    "map": "{'a': 1}",
    "type": "type(1)",
}
# Overloads the CEL specification defines that this CEL lacks: the checks allow them, so that
# a CEL that adds them does not make a condition fail to load.
SPEC_ONLY = {("+", "duration", "timestamp")}


@pytest.mark.parametrize("op", sorted(ct.OVERLOADS))
def test_the_operator_table_is_what_cel_does(op: str) -> None:
    for a, x in SAMPLES.items():
        for b, y in SAMPLES.items():
            try:
                result = cel_type_of(f"({x}) {op} ({y})")
            except Exception:  # noqa: BLE001 - any failure: no such overload
                result = None
            table = ct.OVERLOADS[op].get((a, b))
            if (op, a, b) in SPEC_ONLY:
                assert table is not None and result is None
                continue
            assert (table is not None) == (result is not None), (op, a, b)
            if table is not None:
                assert result == _CEL_NAMES.get(table, table), (op, a, b)


def test_negation_and_function_results_are_what_cel_gives() -> None:
    for name, sample in SAMPLES.items():
        try:
            result = cel_type_of(f"-({sample})")
        except Exception:  # noqa: BLE001
            assert name not in ct.NEGATABLE or name == "duration", name  # the specification's
        else:
            assert result == ct.NEGATABLE[name]
    calls = {
        "size": "size('ab')",
        "int": "int('1')",
        "uint": "uint(1)",
        "double": "double(1)",
        "string": "string(1)",
        "bytes": "bytes('a')",
        "timestamp": "timestamp('2026-01-01T00:00:00Z')",
        "duration": "duration('1h')",
        "contains": "'ab'.contains('a')",
        "startsWith": "'ab'.startsWith('a')",
        "endsWith": "'ab'.endsWith('b')",
        "matches": "'ab'.matches('a')",
        "getFullYear": "timestamp('2026-01-01T00:00:00Z').getFullYear()",
        "getHours": "duration('1h').getHours()",
    }
    for name, source in calls.items():
        t = ct.RESULTS[name]
        assert isinstance(t, ct.Prim)
        assert {_CEL_NAMES.get(n, n) for n in t.names} == {cel_type_of(source)}, name


# ---------------------------------------------------------------------------------------------
# Random conditions over the real variables: one said to give something other than true or
# false never gives a bool, whatever the case.

PIECES = [
    "case.listed",
    "case.item.legal_limit",
    "case.item.name",
    "case.fee_charged",
    "case.counts",
    "case.first",
    "case.attributes.x",
    "params.days",
    "params.flag",
    "params.label",
    "events",
    "size(events)",
    "now",
    "1",
    "2.5",
    "'a'",
    "true",
    "null",
]


@st.composite
def conditions(draw: st.DrawFn, depth: int = 0) -> str:
    if depth > 2 or draw(st.integers(0, 2)) == 0:
        return draw(st.sampled_from(PIECES))
    a, b = draw(conditions(depth + 1)), draw(conditions(depth + 1))
    op = draw(st.sampled_from(["&&", "||", "==", "<", "+", "-", "*", "in"]))
    return draw(st.sampled_from([f"({a} {op} {b})", f"!{a}", f"({a} ? {b} : {a})", f"-{a}"]))


@settings(max_examples=300, deadline=None)
@given(
    conditions(), st.sampled_from([ITEM, None]), st.booleans(), st.sampled_from([{}, {"x": 1}, {"x": True}])
)
def test_a_condition_said_never_to_be_boolean_never_is(
    source: str, item: PowerItem | None, fee: bool, attributes: dict[str, Any]
) -> None:
    found = problems(source)
    if not any(p.startswith("the whole condition gives") for p in found):
        return
    case = _case(item, fee)
    case = Case(case.case_id, case.item_code, case.department, case.applicant, attributes, item, case.events)
    counts = {e.kind: 1 for e in case.events}
    env = {
        "case": CaseView(case, counts).whole(),
        "events": [event_dict(e) for e in case.events],
        "now": AT,
        "params": PARAMS,
    }
    try:
        result = cel.compile(source).execute(env)
    except Exception:  # noqa: BLE001
        return
    assert not isinstance(result, bool), (source, result)


@st.composite
def plain(draw: st.DrawFn, depth: int = 0) -> str:
    """A condition without `&&`, `||`, `? :` or comprehensions: nothing in it absorbs an error."""
    if depth > 2 or draw(st.integers(0, 2)) == 0:
        return draw(st.sampled_from(PIECES))
    a, b = draw(plain(depth + 1)), draw(plain(depth + 1))
    op = draw(st.sampled_from(["==", "<", ">=", "+", "-", "*", "/", "%", "in"]))
    return draw(st.sampled_from([f"({a} {op} {b})", f"!{a}", f"-{a}"]))


@settings(max_examples=300, deadline=None)
@given(plain(), st.sampled_from([ITEM, None]), st.booleans(), st.sampled_from([{}, {"x": 1}, {"x": "a"}]))
def test_a_condition_with_a_problem_and_nothing_to_absorb_it_always_fails(
    source: str, item: PowerItem | None, fee: bool, attributes: dict[str, Any]
) -> None:
    if not problems(source):
        return
    case = _case(item, fee)
    case = Case(case.case_id, case.item_code, case.department, case.applicant, attributes, item, case.events)
    env = {
        "case": CaseView(case, {e.kind: 1 for e in case.events}).whole(),
        "events": [event_dict(e) for e in case.events],
        "now": AT,
        "params": PARAMS,
    }
    try:
        result = cel.compile(source).execute(env)
    except Exception:  # noqa: BLE001
        return
    assert not isinstance(result, bool), (source, result, problems(source))
