"""The `person` record of the exchange format (docs/data-model.md).

Its validation messages quote a contact only masked: `sunlight import` prints them with the
file and line, and that output ends up in terminals, cron mails and tickets.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, Self

from pydantic import Field, field_validator, model_validator

from monitor.people.person import mask_email, mask_mobile
from monitor.source.recordbase import BaseRecord

# E.164 for a mainland mobile: +86 and eleven digits starting with 1.
_MOBILE = re.compile(r"^\+861\d{10}\Z")
# An address a mail server accepts: one @, a dotted domain, nothing a header would split on.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_EMAIL = re.compile(rf"^[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]+@{_LABEL}(?:\.{_LABEL})+\Z")
Role = Literal["handler", "department_head", "leader", "liaison"]
Code = Annotated[str, Field(min_length=1, max_length=64)]
Department = Annotated[str, Field(min_length=1, max_length=128)]
UserId = Annotated[str, Field(min_length=1, max_length=128)]


class PersonRecord(BaseRecord):
    type: Literal["person"]
    person_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=64)
    department: str = Field(min_length=1, max_length=128)
    roles: list[Role] = Field(min_length=1, max_length=4)
    officer: str | None = Field(default=None, min_length=1, max_length=255)  # default: the name
    items: list[Code] = Field(default_factory=list, max_length=1000)
    covers: list[Department] = Field(default_factory=list, max_length=200)
    # Contacts are left out of the repr: a record printed in a log must not carry them.
    mobile: str | None = Field(default=None, repr=False)
    email: str | None = Field(default=None, repr=False)
    dingtalk: UserId | None = Field(default=None, repr=False)
    wecom: UserId | None = Field(default=None, repr=False)
    feishu: UserId | None = Field(default=None, repr=False)
    active: bool = True

    @field_validator("mobile")
    @classmethod
    def _mobile(cls, value: str | None) -> str | None:
        if value is not None and not _MOBILE.match(value):
            raise ValueError(
                f"{mask_mobile(value)} is not a mainland mobile number in E.164 form "
                "(+86 and 11 digits starting with 1)"
            )
        return value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and (len(value) > 254 or not _EMAIL.match(value)):
            raise ValueError(f"{mask_email(value)} is not a valid e-mail address")
        return value

    @field_validator("roles")
    @classmethod
    def _distinct(cls, value: list[Role]) -> list[Role]:
        if len(set(value)) != len(value):
            raise ValueError("a role is listed twice")
        return value

    @model_validator(mode="after")
    def _reachable(self) -> Self:
        if not (self.mobile or self.email or self.dingtalk or self.wecom or self.feishu):
            raise ValueError("a person needs at least one of mobile, email, dingtalk, wecom, feishu")
        return self

    @property
    def officer_name(self) -> str:
        return self.officer or self.name
