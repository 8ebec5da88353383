"""The `notify` section of config.yaml: routes, the SMTP server, retries, reminders, the
escalation ladder (`ladder`), quiet hours per channel and flood control.

A recipient is an e-mail address or a channel URL (`sms:+86…`, `dingtalk://…`,
`wecom://…`, `feishu://…`, `webhook+https://…`; see docs/notifications.md), checked on load
by the same parser the sender uses, so an unknown scheme fails `sunlight check`, not a send.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from alerts.channels.address import parse
from alerts.channels.config import ChannelsConfig
from alerts.notify.headers import parse_address
from monitor import urls
from monitor.model import Category, Level


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _address(value: str) -> str:
    parse_address(value)  # as the notices' headers parse it, so a bad one fails here, not there
    return value


def _recipient(value: str) -> str:
    if not _SCHEME.match(value):
        parse_address(value)  # a plain e-mail address, as the notices' headers parse it
        return value
    address = parse(value)  # a channel URL, as the sender reads it: ValueError for an unknown scheme
    if address.channel == "email":
        parse_address(address.target)  # mailto:
    return value


Mailbox = Annotated[str, AfterValidator(_address)]  # one e-mail address, validated on load
Recipient = Annotated[str, AfterValidator(_recipient)]  # an e-mail address or a channel URL
Role = Literal["handler", "department_head", "leader", "liaison"]  # 承办人 部门负责人 分管领导 联络员
PersonChannel = Literal["email", "sms", "dingtalk", "wecom", "feishu"]
_NAME = re.compile(r"[A-Za-z0-9_-]+")
# A URL's scheme (sms:+86…, mailto:…, dingtalk://…); not a display name with a colon in it.
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:(?://|\+|[^\s<>]+$)")


class Route(Strict):
    """Who receives the notices of one route name that rules list under `notify`, and how."""

    recipients: tuple[Recipient, ...] = ()
    by_department: dict[str, tuple[Recipient, ...]] = Field(default_factory=dict)
    levels: tuple[Level, ...] = (Level.YELLOW, Level.RED)
    categories: tuple[Category, ...] = ()  # empty: every category
    # immediate: one mail per notice; hourly / daily: one digest per recipient per slot.
    mode: Literal["immediate", "hourly", "daily"] = "immediate"
    daily_at: dt.time = dt.time(9, 0)
    work_hours: tuple[dt.time, dt.time] = (dt.time(8, 30), dt.time(17, 30))  # hourly digests only then
    digest_on_rest_days: bool = False  # no digest at night, on weekends or holidays unless set
    # A route for the office above: it hears of a red alert only once it has stayed
    # unacknowledged this many working days (e.g. 5), not when it is raised.
    escalate_after_working_days: int | None = Field(default=None, ge=1)

    def recipients_for(self, department: str) -> tuple[str, ...]:
        return self.by_department.get(department, self.recipients)


class Rung(Strict):
    """One step of the escalation ladder: who hears of an alert of these levels and
    categories, `after_working_days` working days after it reached its level (0: at once),
    unless by then it is acknowledged (or, with `unless: answered`, its 督办 answered too)."""

    name: str
    after_working_days: int = Field(default=0, ge=0)
    levels: tuple[Level, ...] = (Level.YELLOW, Level.RED)
    categories: tuple[Category, ...] = ()  # empty: every category
    roles: tuple[Role, ...] = ()  # persons of the case's department, from the people directory
    channels: tuple[PersonChannel, ...] = ("email",)  # how each person is reached: every one they have
    recipients: tuple[Recipient, ...] = ()  # fixed addresses or channel URLs besides the persons
    # acknowledged: the rung is skipped once the alert is acknowledged (or resolved);
    # answered: it still fires while a 督办 of the alert awaits its reply.
    unless: Literal["acknowledged", "answered"] = "acknowledged"

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise ValueError(
                f"rung name {value!r}: letters, digits, _ and - only (it names the rung's notices)"
            )
        return value

    @model_validator(mode="after")
    def _someone(self) -> Rung:
        if not self.roles and not self.recipients:
            raise ValueError(
                f"rung {self.name!r} names neither roles nor recipients: nobody would hear of it"
            )
        return self


class QuietHours(Strict):
    """When a channel stays silent: a notice due then waits for `end` (the next morning)."""

    start: dt.time = dt.time(22, 0)
    end: dt.time = dt.time(7, 0)
    red: bool = False  # true: a red goes out at once even in quiet hours
    rest_days: bool = False  # true: quiet all day on weekends and holidays (the working calendar)


class SmtpConfig(Strict):
    url: str | None = None  # smtp://host:25, smtps://host:465, smtp+starttls://host:587
    sender: Mailbox = "阳光监察 <sunlight@localhost>"
    timeout_seconds: float = Field(default=30.0, gt=0)
    username_env: str = "SUNLIGHT_SMTP_USERNAME"
    password_env: str = "SUNLIGHT_SMTP_PASSWORD"  # noqa: S105 - the variable's name, not a password

    @field_validator("url")
    @classmethod
    def _smtp_url(cls, value: str | None) -> str | None:
        return None if value is None else urls.smtp_url(value)


class NotifyConfig(Strict):
    case_url: str = "https://zwfw.example.gov.cn/cases/{case_id}"
    eml_dir: Path = Path("data/outbox")
    smtp: SmtpConfig = SmtpConfig()
    channels: ChannelsConfig = ChannelsConfig()
    max_attempts: int = Field(default=12, ge=1)
    # How long a sender's claim on a batch of notices holds: a sender that dies mid-batch
    # leaves its unrecorded notices claimed this long, then any sender takes them again.
    claim_lease_seconds: float = Field(default=600.0, gt=0)
    reminder_working_days: int = Field(default=3, ge=1)  # remind of an unacknowledged red alert
    reminder_at: dt.time = dt.time(
        9, 0
    )  # reminders (and later ladder rungs) go out at this time of a working day
    report_recipients: tuple[Mailbox, ...] = ()  # who `sunlight report --mail` sends the monthly table to
    retry_base_seconds: float = Field(default=30.0, gt=0)
    retry_max_seconds: float = Field(default=3600.0, gt=0)
    routes: dict[str, Route] = Field(
        default_factory=lambda: {
            "department": Route(levels=(Level.YELLOW, Level.RED)),
            "discipline_office": Route(levels=(Level.RED,)),
        }
    )
    ladder: tuple[Rung, ...] = ()
    # Per channel (sms, dingtalk, wecom, feishu, webhook, email): no message in these hours.
    quiet_hours: dict[str, QuietHours] = Field(default_factory=lambda: {"sms": QuietHours()})
    # More notices than this due at once to one recipient on one of `flood_channels` (a first
    # start, a rule change) go out as one digest message to that recipient. E-mail has its
    # own digests (a route's mode); a webhook feeds a machine, which wants every notice.
    flood_after: int = Field(default=10, ge=1)
    flood_channels: tuple[Literal["sms", "dingtalk", "wecom", "feishu", "webhook"], ...] = (
        "sms",
        "dingtalk",
        "wecom",
        "feishu",
    )

    @field_validator("routes")
    @classmethod
    def _route_names(cls, value: dict[str, Route]) -> dict[str, Route]:
        for name in value:
            if not _NAME.fullmatch(name):
                raise ValueError(
                    f"route name {name!r}: letters, digits, _ and - only (it is part of every "
                    "notice's Message-ID)"
                )
        return value

    @field_validator("ladder")
    @classmethod
    def _rung_names(cls, value: tuple[Rung, ...]) -> tuple[Rung, ...]:
        names = [r.name for r in value]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"rung names must differ: {', '.join(twice)} appear more than once")
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_channels(cls, value: dict[str, QuietHours]) -> dict[str, QuietHours]:
        known = ("email", "sms", "dingtalk", "wecom", "feishu", "webhook")
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise ValueError(f"unknown channel {', '.join(unknown)}: quiet hours are for {', '.join(known)}")
        return value

    @field_validator("case_url")
    @classmethod
    def _case_url(cls, value: str) -> str:
        try:
            value.format(case_id="C1")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"{value!r}: the only placeholder it may hold is {{case_id}} ({exc})") from None
        return urls.web_url(value)
