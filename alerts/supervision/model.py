"""The 督办 as the service layer returns it, its vocabulary, and what every verb needs to know.

`Supervision.as_json()` is what the JSON API and `sunlight alerts show` print; its field
names are stable (docs/supervision.md lists them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from monitor.access import InvalidRequestError
from monitor.calendar import WorkCalendar
from monitor.config import Config, NotifyConfig
from monitor.engine.messages import fmt_date

Demand = Literal["rectify", "explain"]
ReplyKind = Literal["rectified", "explained", "appeal"]
Decision = Literal["accepted", "rejected", "accountability", "revoked"]
State = Literal["issued", "replied", "ruled"]

DEMAND_NAMES: dict[str, str] = {"rectify": "限期整改", "explain": "作出书面说明"}
# What the letter asks the department to do within the period.
DEMAND_ACTIONS: dict[str, str] = {
    "rectify": "整改到位，并将整改情况书面报告",
    "explain": "就上述问题作出书面说明",
}
REPLY_NAMES: dict[str, str] = {"rectified": "已整改", "explained": "书面说明", "appeal": "申诉"}
DECISION_NAMES: dict[str, str] = {
    "accepted": "采纳",
    "rejected": "不予采纳",
    "accountability": "转责任追究",
    "revoked": "申诉成立，撤销预警",
}
STATE_NAMES: dict[str, str] = {"issued": "待答复", "replied": "待审核", "ruled": "已办结"}
# 责任追究 measures a ruling may record, from the usual 问责 practice (lightest first).
MEASURES: tuple[str, ...] = (
    "批评教育",
    "责令检查",
    "约谈",
    "诫勉谈话",
    "通报批评",
    "责令公开道歉",
    "停职检查",
    "调离岗位",
    "组织处理",
    "移送纪律审查",
)
OPEN_STATES: tuple[str, ...] = ("issued", "replied")
WEEKDAYS = "一二三四五六日"
MAX_TEXT = 10_000  # characters of a note, reply or ruling


class InvalidInputError(InvalidRequestError):
    """A value the verb cannot take (an unknown demand, an empty reply); `reason` is Chinese.

    The web layer answers it with 400, as every InvalidRequestError."""


@dataclass(frozen=True, slots=True)
class Settings:
    """What the verbs take from the configuration: the engine's working-day calendar, the
    zone days are counted in, the longest reply period the office may set, and the routes
    the notices go to."""

    calendar: WorkCalendar
    tz: ZoneInfo
    notify: NotifyConfig
    max_reply_days: int = 30
    console_url: str | None = None  # web.base_url: the notices link to the console's case page


def settings_for(
    config: Config, *, max_reply_days: int = 30, calendar: WorkCalendar | None = None
) -> Settings:
    """The verbs' settings from the configuration; `calendar`: the one already loaded (the
    daemon's rule holder keeps it), else the configured calendar folder is read."""
    if calendar is None:
        from monitor.calendar import load_calendar

        calendar = load_calendar(config.path(config.rules.calendar))
    return Settings(calendar, config.tz, config.notify, max_reply_days, config.web.base_url)


def doc_number(year: int, seq: int) -> str:
    """The 督办函's document number as official documents write it: 〔2026〕17号."""
    return f"〔{year}〕{seq}号"


def fmt_due(at: datetime, tz: ZoneInfo) -> str:
    """A deadline as a letter writes it, weekday included: 2026年10月9日（星期五）24时."""
    local = at.astimezone(tz)
    if local.time() == time(0, 0):
        day = local.date() - timedelta(days=1)
        return f"{fmt_date(day)}（星期{WEEKDAYS[day.weekday()]}）24时"
    minutes = f"{local.minute}分" if local.minute else ""
    return f"{fmt_date(local.date())}（星期{WEEKDAYS[local.weekday()]}）{local.hour}时{minutes}"


@dataclass(frozen=True, slots=True)
class Supervision:
    """One 督办 in its current round (a row of `sunlight_supervisions`)."""

    id: int
    alert_id: int
    case_id: str
    department: str
    number: str
    doc_year: int
    doc_seq: int
    demand: str
    note: str
    issued_by: str
    issued_at: datetime
    reply_within_days: int
    reply_due: datetime
    reply_due_provisional: bool
    round: int
    state: str
    overdue: bool  # the round's deadline has passed unanswered (as of `now`)
    reply_kind: str | None = None
    reply_text: str | None = None
    replied_by: str | None = None
    replied_at: datetime | None = None
    decision: str | None = None
    ruling_note: str | None = None
    ruled_by: str | None = None
    ruled_at: datetime | None = None
    person: str | None = None
    measure: str | None = None
    overdue_alert_id: int | None = None

    @property
    def open(self) -> bool:
        return self.state in OPEN_STATES

    @classmethod
    def of_row(cls, row: Any, now: datetime) -> Supervision:
        return cls(
            id=int(row.id),
            alert_id=int(row.alert_id),
            case_id=row.case_id,
            department=row.department,
            number=doc_number(row.doc_year, row.doc_seq),
            doc_year=int(row.doc_year),
            doc_seq=int(row.doc_seq),
            demand=row.demand,
            note=row.note,
            issued_by=row.issued_by,
            issued_at=row.issued_at,
            reply_within_days=int(row.reply_within_days),
            reply_due=row.reply_due,
            reply_due_provisional=bool(row.reply_due_provisional),
            round=int(row.round),
            state=row.state,
            overdue=row.state == "issued" and now >= row.reply_due,
            reply_kind=row.reply_kind,
            reply_text=row.reply_text,
            replied_by=row.replied_by,
            replied_at=row.replied_at,
            decision=row.decision,
            ruling_note=row.ruling_note,
            ruled_by=row.ruled_by,
            ruled_at=row.ruled_at,
            person=row.person,
            measure=row.measure,
            overdue_alert_id=None if row.overdue_alert_id is None else int(row.overdue_alert_id),
        )

    def as_json(self, tz: ZoneInfo | None = None) -> dict[str, Any]:
        """Stable field names; instants in ISO 8601 (in `tz` when given, else UTC)."""

        def t(at: datetime | None) -> str | None:
            if at is None:
                return None
            return (at.astimezone(tz) if tz is not None else at).isoformat()

        return {
            "id": self.id,
            "alert_id": self.alert_id,
            "case_id": self.case_id,
            "department": self.department,
            "number": self.number,
            "demand": self.demand,
            "note": self.note,
            "issued_by": self.issued_by,
            "issued_at": t(self.issued_at),
            "reply_within_days": self.reply_within_days,
            "reply_due": t(self.reply_due),
            "reply_due_provisional": self.reply_due_provisional,
            "round": self.round,
            "state": self.state,
            "open": self.open,
            "overdue": self.overdue,
            "reply": None
            if self.reply_kind is None
            else {
                "kind": self.reply_kind,
                "text": self.reply_text,
                "by": self.replied_by,
                "at": t(self.replied_at),
            },
            "ruling": None
            if self.decision is None
            else {
                "decision": self.decision,
                "note": self.ruling_note,
                "by": self.ruled_by,
                "at": t(self.ruled_at),
                "person": self.person,
                "measure": self.measure,
            },
            "overdue_alert_id": self.overdue_alert_id,
        }
