"""The rule language: frozen pydantic models of what rule authors write in `rules/*.yaml`.

A file is one rule set: it selects cases (by item type, item code, department and a CEL
condition), names local figures as `params`, and lists rules. Each rule has a `kind`:

- `deadline`   a clock from a start event to a stop event (time limits, step limits,
               disclosure windows);
- `precedence` an event that must come before another (no decision without acceptance);
- `existence`  an event that must exist once a condition holds;
- `absence`    an event that must not exist while a condition holds;
- `at_most`    an event that may occur at most N times (一次性告知);
- `min_interval` an event that may only come once a period after another has run out;
- `check`      a CEL condition over the case that is a breach when true;
- `unlisted`   a case whose item is not in the power catalogue (清权确权).

A number anywhere in a rule may be written `$name` to use a parameter of the file.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from monitor.model import Category, ItemType, Level, LimitUnit

NOTIFY_ROUTES_DEFAULT = ("department", "discipline_office")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EventMatch(_Strict):
    """An event kind, optionally narrowed by a CEL condition over `event`."""

    kind: str
    when: str | None = None


def _event_matches(value: object) -> object:
    """Allow `accepted`, `[accepted, decided]` or mappings as shorthand."""
    if isinstance(value, str):
        return ({"kind": value},)
    if isinstance(value, dict):
        return (value,)
    if isinstance(value, list):
        return tuple({"kind": v} if isinstance(v, str) else v for v in value)
    return value


EventMatches = tuple[EventMatch, ...]


class Selector(_Strict):
    item_types: tuple[ItemType, ...] = ()
    item_codes: tuple[str, ...] = ()
    departments: tuple[str, ...] = ()
    when: str | None = None


class Span(_Strict):
    """An amount of time in a unit, e.g. the longest a special procedure may last."""

    amount: int = Field(ge=0)
    unit: LimitUnit


class PauseSpec(_Strict):
    # Not `on`/`off`: YAML reads those words as booleans.
    begin: EventMatches
    end: EventMatches
    max: Span | None = None  # a pause longer than this is itself a finding (暂停超期)
    max_by_reason: dict[str, Span] = Field(default_factory=dict)  # by the begin event's `reason`

    _norm = field_validator("begin", "end", mode="before")(_event_matches)

    def limit_for(self, reason: str) -> Span | None:
        return self.max_by_reason.get(reason, self.max)


class DeemedStart(_Strict):
    """行政许可法 art. 32: without an answer (`unless`) within `within` of `event`, the clock
    is deemed to have started at `event`."""

    event: EventMatches
    within: int = Field(ge=0)
    unit: LimitUnit = LimitUnit.WORKING_DAYS
    unless: EventMatches

    _norm = field_validator("event", "unless", mode="before")(_event_matches)


class ExtensionSpec(_Strict):
    event: str = "extended"
    max_days: int = Field(ge=0)
    max_count: int = Field(default=1, ge=1)


class ClockDef(_Strict):
    start: EventMatches
    stop: EventMatches
    limit: Literal["promised", "legal"] | Annotated[int, Field(ge=0)]
    unit: Literal["catalogue"] | LimitUnit = "catalogue"
    pause: PauseSpec | None = None
    extension: ExtensionSpec | None = None
    roll_over_holidays: bool = False
    deemed_start: DeemedStart | None = None

    _norm = field_validator("start", "stop", mode="before")(_event_matches)

    @model_validator(mode="after")
    def _unit_for_fixed_limit(self) -> ClockDef:
        if isinstance(self.limit, int) and self.unit == "catalogue":
            raise ValueError("a fixed `limit` needs a `unit` (working_days, natural_days, hours)")
        return self


class YellowDef(_Strict):
    share: float | None = Field(default=None, gt=0, le=1)
    left: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _one(self) -> YellowDef:
        if (self.share is None) == (self.left is None):
            raise ValueError("give exactly one of `share` (of the limit used) or `left` (units)")
        return self


class _RuleBase(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
    title: str
    category: Category
    basis: str = ""
    notify: tuple[str, ...] = NOTIFY_ROUTES_DEFAULT
    enabled: bool = True
    effective_from: dt.date | None = None
    effective_to: dt.date | None = None
    message: str | None = None  # a fixed Chinese sentence to use instead of the generated one


class DeadlineRule(_RuleBase):
    kind: Literal["deadline"]
    clock: ClockDef
    yellow: YellowDef | None = None
    when: str | None = None  # the clock runs only for cases where this holds


class PrecedenceRule(_RuleBase):
    kind: Literal["precedence"]
    before: EventMatches
    after: EventMatches
    level: Level = Level.RED
    when: str | None = None

    _norm = field_validator("before", "after", mode="before")(_event_matches)


class ExistenceRule(_RuleBase):
    kind: Literal["existence"]
    event: EventMatches
    when: str
    level: Level = Level.RED

    _norm = field_validator("event", mode="before")(_event_matches)


class AbsenceRule(_RuleBase):
    kind: Literal["absence"]
    event: EventMatches
    when: str | None = None
    level: Level = Level.RED

    _norm = field_validator("event", mode="before")(_event_matches)


class AtMostRule(_RuleBase):
    kind: Literal["at_most"]
    event: EventMatches
    count: int = Field(ge=0)
    when: str | None = None
    level: Level = Level.RED

    _norm = field_validator("event", mode="before")(_event_matches)


class MinIntervalRule(_RuleBase):
    """An event that may only come once a period counted from another has run out: the
    hearing no earlier than 7 days after its notice (行政处罚法 art. 64), no decision before
    the party's 5 days to ask for a hearing are over. The period counts like every clock (the
    day of `from_` not counted, to 24:00 of its last day)."""

    kind: Literal["min_interval"]
    from_: EventMatches = Field(alias="from")
    to: EventMatches
    at_least: Span
    level: Level = Level.RED
    when: str | None = None

    _norm = field_validator("from_", "to", mode="before")(_event_matches)


class CheckRule(_RuleBase):
    kind: Literal["check"]
    when: str
    level: Level = Level.RED


class UnlistedRule(_RuleBase):
    kind: Literal["unlisted"]
    level: Level = Level.RED


Rule = Annotated[
    DeadlineRule
    | PrecedenceRule
    | ExistenceRule
    | AbsenceRule
    | AtMostRule
    | MinIntervalRule
    | CheckRule
    | UnlistedRule,
    Field(discriminator="kind"),
]


class RuleFile(_Strict):
    """One YAML file in `rules/`: a rule set."""

    ruleset: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    select: Selector = Selector()
    params: dict[str, float | int | str | bool] = Field(default_factory=dict)
    rules: tuple[Rule, ...]
