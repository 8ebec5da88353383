"""The JSON API's shapes (docs/api.md is generated from them): field names are public."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Alert(_Frozen):
    id: int
    case_id: str
    level: Literal["yellow", "red"]
    state: Literal["open", "acknowledged", "resolved"]
    category: str = Field(description="time_limit, disclosure, procedure, fee, catalogue, data_quality")
    rule: str = Field(description="the rule's id")
    department: str
    message: str
    title: str
    item_code: str
    raised_at: str = Field(description="ISO 8601, UTC")
    due: str | None = Field(default=None, description="ISO 8601, UTC")


class AlertList(_Frozen):
    total: int = Field(description="how many alerts match, of those the caller may see")
    items: list[Alert]


class Me(_Frozen):
    name: str
    role: Literal["office", "department", "operator"]
    department: str | None


class AckBody(_Frozen):
    model_config = ConfigDict(frozen=True, extra="forbid")

    note: str = Field(min_length=1, max_length=2000, description="处理说明，记入存证")


class Applicant(_Frozen):
    name: str = Field(description="masked as in the notices (张*)")
    id_number: str = Field(description="masked")
    phone: str = Field(description="masked")


class Step(_Frozen):
    at: str = Field(description="Beijing time, as official documents write it")
    step: str = Field(description="the step's Chinese name, who, and its details")


class Clock(_Frozen):
    title: str
    lines: list[str] = Field(
        description="start, limit, pauses, extension, due, rest days skipped, used, state"
    )


class CaseFinding(_Frozen):
    level: Literal["yellow", "red"]
    title: str
    message: str
    basis: str
    due: str


class HistoryEntry(_Frozen):
    seq: int = Field(description="the row's number in the hash chain")
    at: str
    action: str = Field(description="raised, escalated, cured, reopened, acknowledged, closed, …")
    actor: str = Field(description="the person's user name, or 系统")
    note: str


class CaseAlert(Alert):
    history: list[HistoryEntry]


class Chain(_Frozen):
    ok: bool | None = Field(description="null: no key configured to check with")
    rows: int
    summary: str


class Case(_Frozen):
    case_id: str
    item_code: str
    item_name: str
    department: str
    applicant: Applicant
    limits: str
    as_of: str = Field(description="the instant the case was evaluated for this answer")
    timeline: list[Step]
    clocks: list[Clock]
    findings: list[CaseFinding]
    alerts: list[CaseAlert]
    chain: Chain = Field(description="whether this case's history rows verify (sunlight audit verify: all)")
    next_check: str
