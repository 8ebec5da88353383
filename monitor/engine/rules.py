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
    """An event kind, optionally narrowed by a CEL condition over `event`, and the Chinese
    name messages give the steps it matches (default: the kind's own name)."""

    kind: str
    when: str | None = None
    name: str | None = None


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


class ExtensionGrant(_Strict):
    """One extension the law allows: how long at most, whose approval it needs, and for
    which cases. `max_days: null` leaves the length to the approving decision (集体讨论),
    which must then state it (`days`)."""

    max_days: int | None = Field(default=None, ge=0)
    approval: tuple[str, ...] = ("head",)
    repeat: bool = False  # may be granted again and again (the last grant only)
    when: str | None = None  # a condition on the case: the grant exists only where it holds

    @field_validator("approval", mode="before")
    @classmethod
    def _one_or_more(cls, value: object) -> object:
        return (value,) if isinstance(value, str) else value


class ExtensionSpec(_Strict):
    """The extensions of a clock (延长期限), in the order they may be granted: the first
    `extended` step is judged under the first grant that applies to the case, the second
    under the next, and so on. `{max_days: 10, max_count: 1}` is short for one grant of
    10 days with the head's approval."""

    event: str = "extended"
    grants: tuple[ExtensionGrant, ...]

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: object) -> object:
        if isinstance(data, dict) and "grants" not in data and "max_days" in data:
            data = dict(data)
            count = data.pop("max_count", 1)
            if not isinstance(count, int) or isinstance(count, bool) or count < 1:
                raise ValueError("`max_count` must be a whole number of at least 1")
            grant = {"max_days": data.pop("max_days")}
            data["grants"] = [grant] * count
        return data

    @model_validator(mode="after")
    def _repeat_last(self) -> ExtensionSpec:
        if not self.grants:
            raise ValueError("give at least one grant under `grants`")
        if any(g.repeat for g in self.grants[:-1]):
            raise ValueError("only the last grant may `repeat`")
        return self


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


class DetailPiece(_Strict):
    """A piece of a finding's evidence: text with `{{ CEL }}` placeholders, shown only where
    its condition (if any) holds for the case."""

    text: str
    when: str | None = None


def _pieces(value: object) -> object:
    if isinstance(value, str):
        return ({"text": value},)
    if isinstance(value, list):
        return tuple({"text": v} if isinstance(v, str) else v for v in value)
    return value


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
    # The evidence, added after the engine's own words: Chinese text with `{{ CEL }}`
    # placeholders (amounts, times, names) read from the case; a list of pieces, each with
    # an optional `when`, leaves out what does not apply.
    detail: tuple[DetailPiece, ...] = ()

    _detail = field_validator("detail", mode="before")(_pieces)

    @field_validator("category")
    @classmethod
    def _not_the_engines(cls, value: Category) -> Category:
        if value is Category.SUPERVISION:
            raise ValueError(
                "`supervision` is the category of the engine's own alert for a 督办 left "
                "unanswered (docs/supervision.md); a rule cannot raise it"
            )
        return value


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
    # False: `to` may come on the period's last day ("七日前通知"); true: only once the whole
    # period has run out, i.e. from the day after its last day ("五日内提出" must be over).
    whole_period: bool = False
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


def _stages(value: object) -> object:
    """A flow chart's chains: each a list of stages, each stage one kind, several kinds or
    kinds with conditions (as anywhere a rule names steps)."""
    if not isinstance(value, list):
        return value
    return tuple(
        tuple(_event_matches(stage) for stage in chain) if isinstance(chain, list) else chain
        for chain in value
    )


class RuleFile(_Strict):
    """One YAML file in `rules/`: a rule set."""

    ruleset: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    select: Selector = Selector()
    # 申请人, 当事人, 投诉人…: what notices call the party of the cases of this file's item
    # types, one word for all of them or one per type (a catalogue item's `party_label`
    # attribute wins).
    party_label: str | dict[ItemType, str] | None = None
    # The flow chart (流程图): chains of stages in the order the record must show them. A step
    # timed before the first step of an earlier stage contradicts the record.
    flow: tuple[tuple[EventMatches, ...], ...] = ()
    # Chinese names of attribute values this file's rules and records use, by attribute.
    values: dict[str, dict[str, str]] = Field(default_factory=dict)
    params: dict[str, float | int | str | bool] = Field(default_factory=dict)
    rules: tuple[Rule, ...]

    _flow = field_validator("flow", mode="before")(_stages)
