"""A responsible person (承办人, 部门负责人, 分管领导, 联络员) and how to reach them.

Contact data is personal: `repr`, `str` and every message the project writes show it only
masked (`mask_mobile`, `mask_email`, `mask_user_id`), so a log line or a traceback that
prints a person never leaks a number or an address.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

ROLES = ("handler", "department_head", "leader", "liaison")
ROLE_NAMES = {"handler": "承办人", "department_head": "部门负责人", "leader": "分管领导", "liaison": "联络员"}
# The channels a notice can go by, and the field of a person each one needs.
CHANNELS = ("email", "sms", "dingtalk", "wecom", "feishu")
CHANNEL_FIELDS = {
    "email": "email",
    "sms": "mobile",
    "dingtalk": "dingtalk",
    "wecom": "wecom",
    "feishu": "feishu",
}


def mask_mobile(value: str | None) -> str:
    """+8613800000000 -> 138****0000 (the country code dropped: every number here is +86)."""
    if not value:
        return "—"
    digits = "".join(c for c in value if c.isdigit())
    if value.startswith("+86") and len(digits) == 13:
        digits = digits[2:]
    if len(digits) < 7:
        return "*" * len(digits) or "*"
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_email(value: str | None) -> str:
    """zhangsan@scjg.example.gov.cn -> z***@scjg.example.gov.cn: enough to tell two apart."""
    if not value:
        return "—"
    local, at, domain = value.rpartition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def mask_user_id(value: str | None) -> str:
    """A robot platform's user id (DingTalk, WeCom, Feishu): its first two characters."""
    if not value:
        return "—"
    return value[:2] + "***" if len(value) > 4 else "***"


@dataclass(frozen=True, slots=True)
class Person:
    """One person of the directory; `officer` is how case steps' `actors` name them."""

    person_id: str
    name: str
    department: str
    roles: tuple[str, ...]
    officer: str
    items: tuple[str, ...] = ()
    covers: tuple[str, ...] = ()
    mobile: str | None = None
    email: str | None = None
    dingtalk: str | None = None
    wecom: str | None = None
    feishu: str | None = None
    active: bool = True

    def channels(self) -> tuple[str, ...]:
        """The channels (of `CHANNELS`, in that order) this person can be reached on."""
        return tuple(c for c in CHANNELS if getattr(self, CHANNEL_FIELDS[c]))

    def addresses(self, channels: Sequence[str]) -> tuple[str, ...]:
        """Recipient URLs, in the order of `channels`, for the ones this person has:
        an e-mail address as it is, `sms:+86…`, `dingtalk://user/ID`, `wecom://user/ID`,
        `feishu://user/ID`. An unknown channel is an error (a typo would drop notices)."""
        out: list[str] = []
        for channel in channels:
            if channel not in CHANNEL_FIELDS:
                raise ValueError(f"unknown channel {channel!r}: one of {', '.join(CHANNELS)}")
            value = getattr(self, CHANNEL_FIELDS[channel])
            if not value:
                continue
            if channel == "email":
                out.append(value)
            elif channel == "sms":
                out.append(f"sms:{value}")
            else:
                out.append(f"{channel}://user/{value}")
        return tuple(out)

    def masked(self) -> dict[str, str]:
        """The contact fields this person has, masked, by field name."""
        shown = {
            "mobile": mask_mobile(self.mobile),
            "email": mask_email(self.email),
            "dingtalk": mask_user_id(self.dingtalk),
            "wecom": mask_user_id(self.wecom),
            "feishu": mask_user_id(self.feishu),
        }
        return {k: v for k, v in shown.items() if getattr(self, k)}

    def __repr__(self) -> str:
        contacts = ", ".join(f"{k}={v!r}" for k, v in self.masked().items())
        return (
            f"Person(person_id={self.person_id!r}, name={self.name!r}, department={self.department!r}, "
            f"roles={self.roles!r}, officer={self.officer!r}, items={self.items!r}, covers={self.covers!r}"
            + (f", {contacts}" if contacts else "")
            + f", active={self.active!r})"
        )

    def __str__(self) -> str:
        roles = "、".join(ROLE_NAMES.get(r, r) for r in self.roles)
        return f"{self.name}（{self.department}，{roles}，{self.person_id}）"
