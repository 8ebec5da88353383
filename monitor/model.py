"""Domain records: power items, cases, events and the findings evaluation produces.

These are plain frozen dataclasses rather than pydantic models because evaluation builds
hundreds of thousands of them per pass; validation happens once, at the source boundary
(`monitor.source.records`), and everything past it can trust these types.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any


class ItemType(enum.StrEnum):
    LICENSING = "licensing"  # 行政许可
    PENALTY = "penalty"  # 行政处罚
    ENFORCEMENT = "enforcement"  # 行政强制
    LEVY = "levy"  # 行政征收
    PAYMENT = "payment"  # 行政给付
    CONFIRMATION = "confirmation"  # 行政确认
    ADJUDICATION = "adjudication"  # 行政裁决
    INSPECTION = "inspection"  # 行政检查
    PUBLIC_SERVICE = "public_service"  # 公共服务
    COMPLAINT = "complaint"  # 投诉
    OTHER = "other"  # 其他


class LimitUnit(enum.StrEnum):
    WORKING_DAYS = "working_days"
    NATURAL_DAYS = "natural_days"
    HOURS = "hours"


class Category(enum.StrEnum):
    TIME_LIMIT = "time_limit"
    DISCLOSURE = "disclosure"
    PROCEDURE = "procedure"
    FEE = "fee"
    CATALOGUE = "catalogue"
    DATA_QUALITY = "data_quality"
    SUPERVISION = "supervision"  # a 督办 left unanswered past its reply deadline (alerts.supervision)


class Level(enum.StrEnum):
    YELLOW = "yellow"
    RED = "red"

    @property
    def rank(self) -> int:
        return 2 if self is Level.RED else 1


STANDARD_EVENT_KINDS: frozenset[str] = frozenset(
    {
        "received",
        "accepted",
        "rejected",
        "correction_requested",
        "correction_received",
        "suspended",
        "resumed",
        "extended",
        "reviewed",
        "decided",
        "delivered",
        "closed",
        "disclosed",
        "fee_charged",
        "filed",
        "investigated",
        "pre_decision_notice",
        "statement_heard",
        "statement_waived",
        "hearing_notified",
        "hearing_held",
        "legal_review",
        "fine_paid",
    }
)

# Events after which a case is finished: no clock can start afterwards unless a rule says so.
CLOSING_KINDS: frozenset[str] = frozenset({"closed", "rejected"})


@dataclass(frozen=True, slots=True)
class Applicant:
    name: str | None = None
    id_number: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class PowerItem:
    """One entry of the power catalogue (职权目录)."""

    item_code: str
    name: str
    item_type: ItemType
    department: str
    legal_limit: int | None
    promised_limit: int | None
    limit_unit: LimitUnit
    fee_standard: Decimal
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Event:
    """One step record of a case (办件过程). `seq` is the source's ordering key."""

    seq: int
    event_id: str
    case_id: str
    kind: str
    at: datetime  # always timezone-aware
    actors: tuple[str, ...] = ()
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Case:
    """One case (办件) with its item from the catalogue (None when unlisted) and its events."""

    case_id: str
    item_code: str
    department: str
    applicant: Applicant
    attributes: Mapping[str, Any]
    item: PowerItem | None
    events: tuple[Event, ...]  # ordered by (at, seq)
    problems: tuple[str, ...] = ()  # what could not be read from the source records

    def first(self, kind: str) -> Event | None:
        return next((e for e in self.events if e.kind == kind), None)

    def all(self, kind: str) -> tuple[Event, ...]:
        return tuple(e for e in self.events if e.kind == kind)

    @property
    def is_closed(self) -> bool:
        return any(e.kind in CLOSING_KINDS for e in self.events)


@dataclass(frozen=True, slots=True)
class Finding:
    """One breach or warning found on one case by one rule, as of the evaluation time."""

    rule_id: str
    title: str
    category: Category
    level: Level
    message: str
    basis: str = ""
    due: datetime | None = None
    notify: tuple[str, ...] = ()
    # When the record shows the breach or warning began: the deadline passed (red), the
    # warning threshold reached (yellow), the step that should not be there recorded. The
    # monthly assessment counts a card in the month it began, not the month it was noticed;
    # None where the record holds no such instant (the alert's raised time stands in).
    since: datetime | None = None


@dataclass(frozen=True, slots=True)
class ClockReport:
    """How one time rule counted for a case; the raw material of `sunlight explain`."""

    rule_id: str
    title: str
    unit: LimitUnit
    limit: int | None
    start: datetime | None
    stop: datetime | None
    due: datetime | None  # the instant the limit runs out (24:00 of the last day)
    due_date_label: str
    used: float | None
    paused: tuple[tuple[datetime, datetime | None, str], ...]
    skipped_rest_days: int
    extension_days: int
    provisional: bool
    level: Level | None
    # The sentence saying where the clock stands, written only when read: most clocks of a
    # pass are in time and never shown, and formatting dates costs more than counting them.
    reason_of: Callable[[], str] = field(compare=False, repr=False)
    next_change: datetime | None = None  # when this clock's level can next change
    category: Category = Category.TIME_LIMIT

    @property
    def reason(self) -> str:
        return self.reason_of()


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The result of evaluating one case at one instant."""

    case_id: str
    findings: tuple[Finding, ...]
    next_check_at: datetime | None  # when a level can next change without a new event
    clocks: tuple[ClockReport, ...] = ()
