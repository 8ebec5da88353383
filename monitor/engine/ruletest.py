"""`sunlight test-rules`: rule tests written as YAML fixtures, like `promtool test rules`.

A fixture file (`rules/tests/*.yaml`) lists tests; each gives a catalogue, cases with their
events, an evaluation time, and the findings expected. By default the expectation is
exact: a finding that is not listed fails the test just as a missing one does.

    tests:
      - name: 承诺时限超期为红牌
        now: 2026-11-23T10:00:00+08:00
        items:
          - {item_code: XK-1, name: 食品经营许可, item_type: licensing, department: 市市场监督管理局,
             legal_limit: 20, promised_limit: 5, limit_unit: working_days}
        cases:
          - case_id: C1
            item_code: XK-1
            events:
              - {kind: accepted, at: 2026-11-03T09:00:00+08:00}
        expect:
          - {case_id: C1, rule: licensing.decide_within_promise, level: red}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from monitor.calendar import WorkCalendar
from monitor.engine.evaluate import evaluate
from monitor.engine.loader import RuleSet
from monitor.errors import RuleError
from monitor.model import Applicant, Case, Event, ItemType, Level, LimitUnit, PowerItem


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FixtureItem(_Strict):
    item_code: str
    name: str = "测试事项"
    item_type: ItemType
    department: str = "测试部门"
    legal_limit: int | None = None
    promised_limit: int | None = None
    limit_unit: LimitUnit = LimitUnit.WORKING_DAYS
    fee_standard: Decimal = Decimal(0)
    attributes: dict[str, Any] = Field(default_factory=dict)


class FixtureEvent(_Strict):
    kind: str
    at: AwareDatetime
    actors: list[str] = Field(default_factory=list)
    attributes: dict[str, Any] = Field(default_factory=dict)


class FixtureCase(_Strict):
    case_id: str
    item_code: str
    department: str | None = None  # default: the item's department
    attributes: dict[str, Any] = Field(default_factory=dict)
    events: list[FixtureEvent] = Field(default_factory=list)


def _texts(value: object) -> object:
    return [value] if isinstance(value, str) else value


class Expected(_Strict):
    case_id: str
    rule: str
    level: Level
    # Words the finding's sentence must contain, and words it must not: a notice is evidence,
    # so what it says is tested as well as that it is raised.
    says: list[str] = Field(default_factory=list)
    not_says: list[str] = Field(default_factory=list)

    _says = field_validator("says", "not_says", mode="before")(_texts)


class RuleTest(_Strict):
    name: str
    now: AwareDatetime
    items: list[FixtureItem] = Field(default_factory=list)
    cases: list[FixtureCase]
    expect: list[Expected] = Field(default_factory=list)
    exact: bool = True  # findings not listed under `expect` fail the test


class FixtureFile(_Strict):
    tests: list[RuleTest]


@dataclass
class Outcome:
    file: Path
    name: str
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    wrong_words: list[str] = field(default_factory=list)
    said: list[str] = field(default_factory=list)  # every finding's sentence, for --show

    @property
    def ok(self) -> bool:
        return not self.missing and not self.unexpected and not self.wrong_words


def locate(path: Path) -> tuple[Path, list[Path]]:
    """(rule folder, fixture files) for a rule folder (its `tests/`) or one fixture file."""
    if path.is_file():
        rules = path.parent.parent if path.parent.name == "tests" else path.parent
        return rules, [path]
    return path, sorted((path / "tests").glob("*.yaml"))


def read_fixture(path: Path) -> FixtureFile:
    try:
        return FixtureFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    except yaml.YAMLError as exc:
        raise RuleError([f"{path}: not valid YAML: {exc}"]) from exc
    except ValidationError as exc:
        raise RuleError(
            [f"{path}: {'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors()]
        ) from exc


def _cases(test: RuleTest) -> list[Case]:
    items = {
        i.item_code: PowerItem(
            i.item_code,
            i.name,
            i.item_type,
            i.department,
            i.legal_limit,
            i.promised_limit,
            i.limit_unit,
            i.fee_standard,
            i.attributes,
        )
        for i in test.items
    }
    out = []
    for c in test.cases:
        item = items.get(c.item_code)
        events = tuple(
            sorted(
                (
                    Event(n, f"{c.case_id}-{n}", c.case_id, e.kind, e.at, tuple(e.actors), e.attributes)
                    for n, e in enumerate(c.events, start=1)
                ),
                key=lambda e: (e.at, e.seq),
            )
        )
        department = c.department or (item.department if item else "测试部门")
        out.append(Case(c.case_id, c.item_code, department, Applicant(), c.attributes, item, events))
    return out


def run_test(test: RuleTest, rules: RuleSet, calendar: WorkCalendar, file: Path, tz: ZoneInfo) -> Outcome:
    found: set[tuple[str, str, str]] = set()
    messages: dict[tuple[str, str, str], str] = {}
    outcome = Outcome(file, test.name)
    for case in _cases(test):
        for f in evaluate(case, rules, calendar, test.now, tz).findings:
            key = (case.case_id, f.rule_id, f.level.value)
            found.add(key)
            messages[key] = f.message
            outcome.said.append(f"{case.case_id} {f.rule_id} {f.level.value}: {f.message}")
    wanted = {(e.case_id, e.rule, e.level.value) for e in test.expect}
    outcome.missing = [f"{c} {r} {lv}" for c, r, lv in sorted(wanted - found)]
    if test.exact:
        outcome.unexpected = [f"{c} {r} {lv}" for c, r, lv in sorted(found - wanted)]
    for e in test.expect:
        said = messages.get((e.case_id, e.rule, e.level.value))
        if said is None:
            continue
        for words in e.says:
            if words not in said:
                outcome.wrong_words.append(f"{e.case_id} {e.rule}: does not say “{words}”: {said}")
        for words in e.not_says:
            if words in said:
                outcome.wrong_words.append(f"{e.case_id} {e.rule}: says “{words}”: {said}")
    return outcome


def run_fixtures(files: list[Path], rules: RuleSet, calendar: WorkCalendar, tz: ZoneInfo) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for file in files:
        for test in read_fixture(file).tests:
            outcomes.append(run_test(test, rules, calendar, file, tz))
    return outcomes
