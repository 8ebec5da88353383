"""The scoring scheme's own tests, as rule sets have theirs: YAML fixtures beside the scheme
(`assessment/tests/*.yaml`), each a month's figures for one unit and the score (and, where
given, the points each indicator takes off) the scheme must give them. `sunlight test-rules`
runs them after the rule fixtures, so a change of a weight or a cap that moves a published
score is seen before it goes live.

    - name: 按时办结率九成，两张办理时限红牌
      figures: {measured: 10, on_time: 9, early: 5, overdue: 1, red: {time_limit: 2}}
      score: 75.5
      lost: {on_time: 6, red_cards: 6}
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from monitor.assessment.figures import Tally
from monitor.assessment.scheme import Scheme
from monitor.assessment.score import score_of
from monitor.engine.positions import positions, where
from monitor.errors import RuleError


class Figures(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    closed: int | None = Field(default=None, ge=0)  # default: the measured cases
    measured: int = Field(default=0, ge=0)
    on_time: int = Field(default=0, ge=0)
    early: int = Field(default=0, ge=0)
    overdue: int = Field(default=0, ge=0)
    red: dict[str, int] = Field(default_factory=dict)  # by category
    yellow: dict[str, int] = Field(default_factory=dict)
    disclosure_measured: int = Field(default=0, ge=0)
    disclosed_on_time: int = Field(default=0, ge=0)
    supervised: int = Field(default=0, ge=0)
    replied_on_time: int = Field(default=0, ge=0)
    typed: dict[str, int] = Field(default_factory=dict)  # "complaint measured": 4, …

    def tally(self) -> Tally:
        return Tally(
            closed=self.measured if self.closed is None else self.closed,
            measured=self.measured,
            on_time=self.on_time,
            early=self.early,
            overdue=self.overdue,
            red=Counter(self.red),
            yellow=Counter(self.yellow),
            disclosure_measured=self.disclosure_measured,
            disclosed_on_time=self.disclosed_on_time,
            supervised=self.supervised,
            replied_on_time=self.replied_on_time,
            typed=Counter(self.typed),
        )


class Fixture(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    figures: Figures
    score: float
    lost: dict[str, float] = Field(default_factory=dict)  # indicator id → points off


@dataclass(frozen=True, slots=True)
class Outcome:
    file: Path
    name: str
    problems: tuple[str, ...]  # empty: passed

    @property
    def ok(self) -> bool:
        return not self.problems


def scheme_fixtures(scheme_path: Path) -> list[Path]:
    return sorted((scheme_path.parent / "tests").glob("*.yaml"))


def run(scheme: Scheme, files: list[Path]) -> list[Outcome]:
    """Every fixture's outcome; RuleError naming file, line and column for an invalid file."""
    outcomes, problems = [], []
    ids = {ind.id for ind in scheme.indicators}
    for path in files:
        text = path.read_text(encoding="utf-8")
        try:
            data = yaml.safe_load(text) or []
        except yaml.YAMLError as exc:
            problems.append(f"{path}: not valid YAML: {exc}")
            continue
        if not isinstance(data, list):
            problems.append(f"{path}:1:1: a list of fixtures is expected")
            continue
        spots = positions(text)
        for i, raw in enumerate(data):
            try:
                fixture = Fixture.model_validate(raw)
            except ValidationError as exc:
                problems += [f"{where(path, spots, (i, *e['loc']))}: {e['msg']}" for e in exc.errors()]
                continue
            unknown = sorted(set(fixture.lost) - ids)
            if unknown:
                problems.append(f"{where(path, spots, (i, 'lost'))}: no indicator {', '.join(unknown)}")
                continue
            outcomes.append(_check(path, scheme, fixture))
    if problems:
        raise RuleError(problems)
    return outcomes


def _check(path: Path, scheme: Scheme, fixture: Fixture) -> Outcome:
    score, parts = score_of(scheme, fixture.figures.tally())
    lost = {p.indicator: p.lost for p in parts}
    problems = []
    if abs(score - fixture.score) > 0.005:
        problems.append(f"score {score:g}, expected {fixture.score:g}")
    for indicator, expected in fixture.lost.items():
        if abs(lost[indicator] - expected) > 0.005:
            problems.append(f"{indicator} takes off {lost[indicator]:g}, expected {expected:g}")
    return Outcome(path, fixture.name, tuple(problems))
