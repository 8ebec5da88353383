"""When a rule set loads, the fast path is run against CEL on made-up cases for each loaded
condition (monitor.engine.selfcheck); a conjunct on which they disagree runs on CEL alone."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import cel
import pytest

from monitor.engine import RuleSet, load_ruleset
from monitor.engine import ruleset as ruleset_module
from monitor.engine.celsyntax import tree
from monitor.engine.context import CaseContext
from monitor.engine.fastpath import UNSURE, FastCondition, compile_fast
from monitor.engine.fastvalues import Env
from monitor.engine.filecheck import file_expressions
from monitor.engine.selfcheck import disagreements, environments
from tests.conftest import RULES, bj
from tests.test_shipped_rules import make

ROUTES = frozenset({"department", "discipline_office", "operators"})
NOW = bj("2026-11-23 10:00")
SOURCE = "case.attributes.fine > 10"
RULE_FILE = f"""\
ruleset: checked
title: 自检
rules:
  - id: checked.first
    title: 罚款较大
    category: data_quality
    kind: check
    when: 'case.listed && {SOURCE}'
"""


def _load(tmp_path: Path) -> RuleSet:
    (tmp_path / "checked.yaml").write_text(textwrap.dedent(RULE_FILE), encoding="utf-8")
    return load_ruleset(tmp_path, ROUTES)


def test_the_shipped_rules_agree_with_cel_on_every_made_up_case() -> None:
    rules = load_ruleset(RULES, ROUTES)
    assert rules.distrusted == {}
    assert disagreements(rules, {}) == {}
    # The comparison is not empty: the fast path answers on most made-up cases, both ways.
    answers: list[object] = []
    for file in rules.files:
        for _, source in file_expressions(file.spec):
            for step in rules.steps.get(source, ()):
                if step.fast is not None:
                    node = rules.trees[step.source].node
                    envs = environments(node, rules.event_kinds, file.params, step.source)
                    answers += [step.fast(env) for env in envs]
    decided = [a for a in answers if a is not UNSURE]
    assert len(decided) > len(answers) / 2
    assert True in decided and False in decided


def _wrong_for(source: str, answer: object) -> object:
    """A `compile_fast` whose function for `source` gives `answer` (None: the opposite of the
    real one), as a fast path with a bug would."""

    def patched(text: str) -> FastCondition | None:
        real = compile_fast(text)
        if text != source or real is None:
            return real

        def wrong(env: Env) -> object:
            got = real(env)
            if answer is not None:
                return answer
            return UNSURE if got is UNSURE else not got

        return wrong

    return patched


def test_a_conjunct_the_fast_path_gets_wrong_runs_on_cel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ruleset_module, "compile_fast", _wrong_for(SOURCE, None))
    rules = _load(tmp_path)
    assert list(rules.distrusted) == [SOURCE]
    sentence = rules.distrusted[SOURCE]
    assert f"{tmp_path / 'checked.yaml'}:" in sentence and "[rule checked.first]" in sentence
    assert f"expression `case.listed && {SOURCE}` (its part `{SOURCE}`)" in sentence
    assert "where CEL gives" in sentence and sentence.endswith("it runs on CEL alone")
    steps = {s.source: s for s in rules.steps[f"case.listed && {SOURCE}"]}
    assert steps[SOURCE].fast is None and steps["case.listed"].fast is not None
    case = make(("received", "2026-11-16 09:00"), fine=20)
    expected = cel.compile(SOURCE).execute({"case": {"attributes": {"fine": 20}}})
    assert CaseContext(case, rules, NOW).test(SOURCE, {}) is expected is True
    # Without the fallback the faulty function would have decided.
    trusting = dataclasses.replace(rules, distrusted={})
    assert CaseContext(case, trusting, NOW).test(SOURCE, {}) is False


def test_an_answer_where_cel_fails_is_a_disagreement(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ruleset_module, "compile_fast", _wrong_for(SOURCE, True))
    rules = _load(tmp_path)
    assert "gives true where CEL fails" in rules.distrusted[SOURCE]  # a case without `fine`


def test_a_fast_path_that_agrees_is_kept(tmp_path: Path) -> None:
    rules = _load(tmp_path)
    assert rules.distrusted == {}
    assert all(s.fast is not None for s in rules.steps[f"case.listed && {SOURCE}"])


def test_the_made_up_cases_meet_the_attribute_absent_and_present() -> None:
    rules = load_ruleset(RULES, ROUTES)
    envs = list(environments(tree(SOURCE).node, rules.event_kinds, {}, SOURCE))
    present = [e["case"]["attributes"]["fine"] for e in envs if "fine" in e["case"]["attributes"]]
    assert present and len(present) < len(envs)
    assert {type(v) for v in present} > {int}  # numbers near the literal, and other types
    assert all(v in (9, 10, 11) for v in present if type(v) is int and v not in (0, 1))
    # Boundary instants: steps sharing an instant, and `now` on a step's.
    assert any(len({s["at"] for s in e["events"]}) < len(e["events"]) for e in envs)
    assert any(e["now"] in {s["at"] for s in e["events"]} for e in envs)


def test_a_fast_function_that_raises_is_distrusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def patched(text: str) -> FastCondition | None:
        real = compile_fast(text)
        if text != SOURCE or real is None:
            return real
        return lambda env: 1 // 0

    monkeypatch.setattr(ruleset_module, "compile_fast", patched)
    rules = _load(tmp_path)
    assert "the fast path raises ZeroDivisionError" in rules.distrusted[SOURCE]
