"""The scoring scheme (考核评分办法): a YAML file beside the rules that the office edits.

A department (or item) starts from `base` points. A rate indicator (按时办结率, 提前办结率)
takes off `weight × (1 − rate)`; a unit with no case the rate measures loses nothing on it
and shows "不参评" rather than a rate it does not have. A count indicator (超期件数, 红牌,
黄牌, by category) takes off `points_each` for each card or case, at most `cap`. A score is
never below zero. A revoked card (an appeal upheld) counts nowhere.

The file is checked as strictly as a rule file: an unknown key, a wrong type or a weight
that cannot be earned is a problem naming the file, line and column.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from monitor.engine.positions import positions, where
from monitor.errors import RuleError
from monitor.model import Category, ItemType


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RateIndicator(_Strict):
    """A share of the closed cases a time limit measured, scored against a weight."""

    kind: Literal["rate"]
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    # on_time, early: of the closed cases a time limit measured; disclosed_on_time (公开及时率):
    # of the closed cases whose disclosure clock has stopped or run out.
    # replied_on_time (督办按时反馈率): of the 督办 whose reply deadline fell in the period.
    measure: Literal["on_time", "early", "disclosed_on_time", "replied_on_time"]
    weight: float = Field(gt=0)
    # on_time and early only: the cases of these item types alone (投诉按时办结率: complaint).
    item_types: tuple[ItemType, ...] = ()

    @model_validator(mode="after")
    def _types_for_case_rates(self) -> RateIndicator:
        if self.item_types and self.measure not in ("on_time", "early"):
            raise ValueError("item_types applies to the on_time and early rates only")
        return self


class CountIndicator(_Strict):
    """Cards or late cases counted in the period, each taking points off."""

    kind: Literal["count"]
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    count: Literal["overdue", "red", "yellow"]
    categories: tuple[Category, ...] = ()  # cards of these categories only; all when empty
    points_each: float = Field(gt=0)
    cap: float | None = Field(default=None, gt=0)  # at most this much off in a period


Indicator = Annotated[RateIndicator | CountIndicator, Field(discriminator="kind")]


class Scheme(_Strict):
    title: str = Field(min_length=1)
    base: float = Field(default=100.0, gt=0)
    indicators: tuple[Indicator, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Scheme:
        ids = [i.id for i in self.indicators]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"indicator ids must be unique: {', '.join(twice)}")
        weights = sum(i.weight for i in self.indicators if isinstance(i, RateIndicator))
        if weights > self.base:
            raise ValueError(f"the rate weights ({weights:g}) exceed the base score ({self.base:g})")
        return self


def load_scheme(path: Path) -> Scheme:
    """The scheme in `path`; RuleError listing every problem with file, line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleError([f"{path}: cannot read the scoring scheme: {exc.strerror or exc}"]) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        spot = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        raise RuleError([f"{spot}: not valid YAML: {getattr(exc, 'problem', exc)}"]) from exc
    try:
        return Scheme.model_validate(data)
    except ValidationError as exc:
        spots = positions(text)
        problems = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if p not in ("rate", "count"))  # the union's tags
            problems.append(f"{where(path, spots, loc)}: {_describe(err)}")
        raise RuleError(problems) from exc


def _describe(err: object) -> str:
    assert isinstance(err, dict)
    kind, loc = err["type"], err["loc"]
    if kind == "extra_forbidden":
        return f"unknown key `{loc[-1]}`"
    if kind == "missing":
        return f"missing key `{loc[-1]}`"
    if kind == "union_tag_invalid" or kind == "union_tag_not_found":
        return "`kind` must be rate or count"
    return str(err["msg"]).removeprefix("Value error, ")
