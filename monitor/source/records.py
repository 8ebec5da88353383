"""The exchange format: validation of JSON-lines records and conversion of source rows.

`parse_line` validates one line of `sunlight import` input into a typed record (pydantic,
unknown keys rejected). `case_from_rows` (mappings) and `case_from_parts` (positional rows)
turn database rows into a `Case` for evaluation; what they cannot read they record as a
problem on the case (a data_quality finding later) instead of raising.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field, TypeAdapter, ValidationError, field_validator

from monitor.errors import RecordError
from monitor.model import Applicant, Case, Event, ItemType, LimitUnit, PowerItem
from monitor.people.record import PersonRecord
from monitor.source.recordbase import EARLIEST, LATEST, MAX_LIMIT, BaseRecord


class ItemRecord(BaseRecord):
    type: Literal["item"]
    item_code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=255)
    item_type: ItemType
    department: str = Field(min_length=1, max_length=128)
    legal_limit: int | None = Field(default=None, ge=0, le=MAX_LIMIT)
    promised_limit: int | None = Field(default=None, ge=0, le=MAX_LIMIT)
    limit_unit: LimitUnit
    # NUMERIC(14, 2): at most twelve digits of yuan.
    fee_standard: Decimal = Field(default=Decimal(0), ge=0, lt=Decimal(10) ** 12, decimal_places=2)
    attributes: dict[str, Any] = Field(default_factory=dict)


class ApplicantRecord(BaseRecord):
    name: str | None = Field(default=None, max_length=255)
    id_number: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=64)


class CaseRecord(BaseRecord):
    type: Literal["case"]
    case_id: str = Field(min_length=1, max_length=64)
    item_code: str = Field(min_length=1, max_length=64)
    department: str = Field(min_length=1, max_length=128)
    applicant: ApplicantRecord = ApplicantRecord()
    attributes: dict[str, Any] = Field(default_factory=dict)


class EventRecord(BaseRecord):
    type: Literal["event"]
    event_id: str | None = Field(default=None, min_length=1, max_length=128)
    case_id: str = Field(min_length=1, max_length=64)
    kind: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
    at: AwareDatetime
    actors: list[Annotated[str, Field(max_length=255)]] = Field(default_factory=list)
    attributes: dict[str, Any] = Field(default_factory=dict)

    @field_validator("at", mode="before")
    @classmethod
    def _iso_text(cls, value: Any) -> Any:
        # pydantic would take a number as seconds since 1970; the format says ISO 8601 text,
        # and a number in milliseconds would silently become a time in the year 55000.
        if not isinstance(value, str):
            raise ValueError('a time is ISO 8601 text with its offset, e.g. "2026-11-23T09:12:33+08:00"')
        return value

    @field_validator("at")
    @classmethod
    def _plausible(cls, value: datetime) -> datetime:
        if not EARLIEST <= value < LATEST:
            raise ValueError(f"{value.isoformat()} is outside the years 1980 to 2099")
        return value

    def identity(self) -> str:
        """The event's id; without one, a digest of its case, kind, time and content."""
        if self.event_id:
            return self.event_id
        body = json.dumps(
            [self.case_id, self.kind, self.at.timestamp(), self.actors, self.attributes],
            sort_keys=True,
            ensure_ascii=False,
            default=str,
        )
        return "h:" + hashlib.sha256(body.encode()).hexdigest()[:40]


Record = Annotated[ItemRecord | CaseRecord | EventRecord | PersonRecord, Field(discriminator="type")]
_RECORD = TypeAdapter(Record)


def parse_line(line: str) -> ItemRecord | CaseRecord | EventRecord | PersonRecord:
    """One exchange-format line; RecordError says what is wrong with it."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise RecordError(f"not valid JSON: {exc.msg} at column {exc.colno}") from exc
    if not isinstance(data, dict):
        raise RecordError("a record must be a JSON object")
    try:
        return _RECORD.validate_python(data)
    except ValidationError as exc:
        parts = []
        for err in exc.errors()[:3]:
            loc = ".".join(str(x) for x in err["loc"] if x not in ("item", "case", "event", "person"))
            msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
            msg = msg.removeprefix("Value error, ")
            if err["type"] == "value_error" and not loc:
                parts.append(msg)  # a whole-record check: the message names the field
            else:
                parts.append(f"{loc or 'type'}: {msg}")
        raise RecordError("; ".join(parts)) from exc


# -- rows to models ---------------------------------------------------------------------


def item_from_row(row: Mapping[Any, Any]) -> PowerItem:
    """A catalogue row; raises RecordError naming the bad column."""
    try:
        return PowerItem(
            item_code=row["item_code"],
            name=row["name"],
            item_type=ItemType(row["item_type"]),
            department=row["department"],
            legal_limit=_opt_int(row["legal_limit"]),
            promised_limit=_opt_int(row["promised_limit"]),
            limit_unit=LimitUnit(row["limit_unit"]),
            fee_standard=Decimal(str(row["fee_standard"] or 0)),
            attributes=_mapping(row["attributes"]),
        )
    except (ValueError, TypeError, KeyError) as exc:
        raise RecordError(f"catalogue item {row.get('item_code')!r}: {exc}") from exc


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _mapping(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, str):  # read as text (events), or MariaDB and some views
        value = {} if value == "{}" else json.loads(value)
    if not isinstance(value, dict):
        raise TypeError(f"expected a JSON object, got {type(value).__name__}")
    return value


def _sequence(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [] if value == "[]" else json.loads(value)
    if not isinstance(value, list):
        raise TypeError(f"expected a JSON list, got {type(value).__name__}")
    return value


# The columns of an event row as `case_from_parts` takes them, in this order.
EVENT_FIELDS = ("seq", "event_id", "case_id", "kind", "at", "actors", "attributes")


def case_from_rows(
    case_id: str,
    case_row: Mapping[Any, Any] | None,
    item: PowerItem | None,
    event_rows: Sequence[Mapping[Any, Any]],
    item_problem: str | None = None,
) -> Case:
    """Assemble a Case from mappings (column name -> value); see `case_from_parts`."""
    parts = [tuple(row.get(name) for name in EVENT_FIELDS) for row in event_rows]
    return case_from_parts(case_id, case_row, item, parts, item_problem)


def case_from_parts(
    case_id: str,
    case_row: Mapping[Any, Any] | None,
    item: PowerItem | None,
    event_rows: Sequence[Sequence[Any]],
    item_problem: str | None = None,
) -> Case:
    """Assemble a Case from event rows in `EVENT_FIELDS` order (the reader's own rows, read
    by position: a first start builds millions of events); every unreadable part becomes a
    problem on the case, never an error."""
    problems: list[str] = []
    if item_problem:
        problems.append(item_problem)
    events: list[Event] = []
    for seq, event_id, _, kind, at, actors, attributes in event_rows:
        try:
            if not isinstance(at, datetime) or at.tzinfo is None:
                raise TypeError(f"time {at!r} is not a timezone-aware timestamp")
            if kind is None or event_id is None:
                raise TypeError("the row has no kind or no event_id")
            # Nearly every step has no actors and no attributes: no parser, no call for them.
            listed = () if actors == "[]" else tuple(map(str, _sequence(actors)))
            events.append(
                Event(
                    int(seq),
                    str(event_id),
                    case_id,
                    str(kind),
                    at,
                    listed,
                    {} if attributes == "{}" else _mapping(attributes),
                )
            )
        except (ValueError, TypeError) as exc:
            problems.append(f"事件 {event_id or seq}：{exc}")
    events.sort(key=lambda e: (e.at, e.seq))
    if case_row is None:
        problems.append(f"办件过程引用的办件 {case_id} 在办件表中不存在")
        return Case(case_id, "", "（未知部门）", Applicant(), {}, None, tuple(events), tuple(problems))
    try:
        attributes = _mapping(case_row["attributes"])
    except (ValueError, TypeError) as exc:
        problems.append(f"办件属性无法读取：{exc}")
        attributes = {}
    applicant = Applicant(
        case_row.get("applicant_name"),
        case_row.get("applicant_id_number"),
        case_row.get("applicant_phone"),
    )
    return Case(
        case_id=case_id,
        item_code=str(case_row["item_code"]),
        department=str(case_row["department"]),
        applicant=applicant,
        attributes=attributes,
        item=item,
        events=tuple(events),
        problems=tuple(problems),
    )


@dataclass(slots=True)
class CaseRows:
    """One case as the PostgreSQL reader holds it: its record and its events' columns, in
    (time, seq) order, before any `Case` is built. The screen reads the shape off the rows'
    text (`steps`, `attributes`) and the steps' times (`times`); `case()` builds the `Case`
    when a rule has to look at it, once."""

    case_id: str
    record: dict[str, Any] | None
    item: PowerItem | None
    item_problem: str | None
    seqs: list[Any]
    event_ids: list[Any]
    kinds: tuple[str, ...]
    times: list[datetime]  # aware UTC instants, as the driver decodes them
    actors: tuple[Any, ...]  # JSON text
    attributes_of_steps: tuple[Any, ...]  # JSON text
    # False when a stored time could not be read as one (text in SQLite): a problem on the case.
    times_readable: bool = True
    _case: Case | None = field(default=None, init=False)

    @property
    def problem(self) -> bool:
        """Whether the case has a problem that `case_from_parts` would report (beyond what
        its JSON text holds, which the screen's analysis of the shape reads)."""
        return (
            self.record is None
            or self.item_problem is not None
            or None in self.event_ids
            or None in self.kinds
            or None in self.times
            or not self.times_readable
        )

    @property
    def item_code(self) -> str:
        return str(self.record["item_code"]) if self.record is not None else ""

    @property
    def department(self) -> str:
        return str(self.record["department"]) if self.record is not None else ""

    @property
    def attributes(self) -> Any:
        return self.record["attributes"] if self.record is not None else None

    @property
    def steps(self) -> tuple[Any, ...]:
        """The steps' kinds, actors and attributes as read (JSON text), in order."""
        return (self.kinds, self.actors, self.attributes_of_steps)

    def case(self) -> Case:
        if self._case is None:
            parts = list(
                zip(
                    self.seqs,
                    self.event_ids,
                    [self.case_id] * len(self.seqs),
                    self.kinds,
                    self.times,
                    self.actors,
                    self.attributes_of_steps,
                    strict=True,
                )
            )
            self._case = case_from_parts(self.case_id, self.record, self.item, parts, self.item_problem)
        return self._case


def in_step_order(rows: CaseRows) -> CaseRows:
    """The rows with their events in (time, seq) order, as `Case.events` has them: sorted
    here only when they did not come so (a time that is not one, or two out of order)."""
    times, seqs = rows.times, rows.seqs
    ordered = True
    for i in range(len(times) - 1):
        a, b = times[i], times[i + 1]
        if (
            not (isinstance(a, datetime) and isinstance(b, datetime))
            or a > b
            or (a == b and seqs[i] > seqs[i + 1])
        ):
            ordered = False
            break
    if ordered:
        return rows
    try:
        order = sorted(range(len(times)), key=lambda i: (times[i], seqs[i]))
    except TypeError:
        return rows  # not all times are times: a problem the Case reports, order aside
    return CaseRows(
        rows.case_id,
        rows.record,
        rows.item,
        rows.item_problem,
        [seqs[i] for i in order],
        [rows.event_ids[i] for i in order],
        tuple(rows.kinds[i] for i in order),
        [times[i] for i in order],
        tuple(rows.actors[i] for i in order),
        tuple(rows.attributes_of_steps[i] for i in order),
        rows.times_readable,
    )
