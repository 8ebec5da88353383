"""Strict loading of rule files: every mistake named with file, line and rule id."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from monitor.engine import load_ruleset
from monitor.errors import RuleError
from tests.conftest import RULES

ROUTES = frozenset({"department", "discipline_office"})

GOOD = """\
ruleset: sample
title: 样例
params:
  days: 5
rules:
  - id: sample.accept
    title: 受理时限
    kind: deadline
    category: time_limit
    clock:
      start: received
      stop: accepted
      limit: $days
      unit: working_days
"""


def _problems(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "r.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    with pytest.raises(RuleError) as info:
        load_ruleset(tmp_path, ROUTES)
    return info.value.problems


def test_shipped_rules_load_with_every_kind_checked() -> None:
    rules = load_ruleset(RULES, ROUTES)
    ids = {r.id for f in rules.files for r in f.spec.rules}
    assert {
        "licensing.decide_within_promise",
        "disclosure.decision_published",
        "licensing.no_decision_without_acceptance",
        "catalogue.unlisted_power",
    } <= ids


def test_parameters_are_substituted(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(GOOD, encoding="utf-8")
    rules = load_ruleset(tmp_path, ROUTES)
    assert rules.files[0].spec.rules[0].clock.limit == 5  # type: ignore[union-attr]


def test_unknown_key_is_named_with_line_and_a_suggestion(tmp_path: Path) -> None:
    [problem] = _problems(tmp_path, GOOD.replace("    category: time_limit", "    categroy: time_limit"))
    assert problem.startswith(f"{tmp_path / 'r.yaml'}:9:")
    assert "[rule sample.accept]" in problem
    assert "unknown key `categroy`" in problem and "did you mean `category`" in problem


def test_bad_expression_is_named_with_its_position(tmp_path: Path) -> None:
    text = GOOD + "    when: 'case.attributes.x >'\n"
    [problem] = _problems(tmp_path, text)
    assert ":15:" in problem and "bad expression" in problem and "[rule sample.accept]" in problem


def test_expression_with_an_unknown_name_is_rejected(tmp_path: Path) -> None:
    [problem] = _problems(tmp_path, GOOD + "    when: 'kase.department == \"x\"'\n")
    assert "unknown name(s) kase" in problem


def test_unknown_event_kind_and_route_are_rejected(tmp_path: Path) -> None:
    text = GOOD.replace("stop: accepted", "stop: acepted") + "    notify: [discipline]\n"
    problems = _problems(tmp_path, text)
    assert any("unknown event kind `acepted`" in p and "did you mean `accepted`" in p for p in problems)
    assert any("unknown notify route `discipline`" in p for p in problems)


def test_declared_event_kinds_are_accepted(tmp_path: Path) -> None:
    text = "event_kinds: {site_visit: 现场核查}\n" + GOOD.replace("stop: accepted", "stop: site_visit")
    (tmp_path / "r.yaml").write_text(text, encoding="utf-8")
    rules = load_ruleset(tmp_path, ROUTES)
    assert rules.rule_count == 1
    assert rules.vocabulary.step("site_visit") == "现场核查"


def test_a_new_event_kind_needs_a_chinese_name(tmp_path: Path) -> None:
    text = "event_kinds: [site_visit]\n" + GOOD.replace("stop: accepted", "stop: site_visit")
    problems = _problems(tmp_path, text)
    assert any("`site_visit: 名称`" in p for p in problems), problems
    text = "event_kinds: {site_visit: ''}\n" + GOOD.replace("stop: accepted", "stop: site_visit")
    assert any("needs a Chinese name" in p for p in _problems(tmp_path, text))


def test_undefined_parameter_and_duplicate_ids_are_reported_together(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(GOOD.replace("ruleset: sample", "ruleset: other"), encoding="utf-8")
    (tmp_path / "c.yaml").write_text(
        GOOD.replace("ruleset: sample", "ruleset: third")
        .replace("sample.accept", "third.x")
        .replace("$days", "$dayz"),
        encoding="utf-8",
    )
    with pytest.raises(RuleError) as info:
        load_ruleset(tmp_path, ROUTES)
    text = "\n".join(info.value.problems)
    assert "`$dayz` is used but not defined" in text
    assert "rule id `sample.accept` is already used" in text


def test_unknown_rule_kind_lists_the_kinds(tmp_path: Path) -> None:
    [problem] = _problems(tmp_path, GOOD.replace("kind: deadline", "kind: deadlin"))
    assert "unknown rule kind 'deadlin'" in problem and "precedence" in problem


def test_invalid_yaml_is_reported_with_its_line(tmp_path: Path) -> None:
    [problem] = _problems(tmp_path, GOOD.replace("    title: 受理时限", "    title: [受理时限"))
    assert "not valid YAML" in problem and "r.yaml:" in problem


def test_fixed_limit_without_unit_is_rejected(tmp_path: Path) -> None:
    [problem] = _problems(tmp_path, GOOD.replace("      unit: working_days\n", ""))
    assert "needs a `unit`" in problem


def test_min_interval_names_its_events_and_is_checked(tmp_path: Path) -> None:
    text = """\
ruleset: x
title: 间隔
rules:
  - id: x.gap
    title: 间隔不足
    kind: min_interval
    category: procedure
    from: hearing_notifed
    to: hearing_held
    at_least: {amount: 7, unit: working_days}
"""
    [problem] = _problems(tmp_path, text)
    assert "unknown event kind `hearing_notifed`" in problem and "did you mean `hearing_notified`" in problem
