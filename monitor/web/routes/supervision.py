"""督办: the open 督办 page, the printable 工作督办函, and the three actions — supervise
(office), reply (the alert's department), ruling (office) — as forms and under /api.

Every action goes through alerts.supervision.service with the caller as the actor: the
role, the department and the state are checked there, never here; this module only turns
forms and JSON bodies into its arguments."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from alerts.supervision import Settings, service
from alerts.supervision.letter import render_letter
from alerts.supervision.model import DEMAND_NAMES, MEASURES
from monitor.web.auth import ApiActor, Now, PageActor, Svc
from monitor.web.rendering import page

router = APIRouter()
api = APIRouter(prefix="/api", tags=["api"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "请求内容有误（`detail` 为中文原因）"},
    401: {"description": "未登录，或令牌无效"},
    403: {"description": "该角色或单位无权进行此操作（`detail` 为中文原因）"},
    404: {"description": "预警不存在，或调用者无权查看"},
    409: {"description": "当前状态不允许此操作：已有未办结的督办、尚未答复即裁定、重复答复等"},
}


def settings(request: Request) -> Settings:
    services = request.app.state.services
    web = request.app.state.web
    return Settings(
        services.holder.calendar(), services.tz, services.notify, web.reply_days_max, web.base_url
    )


class SuperviseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    demand: Literal["rectify", "explain"] = Field(description="rectify 限期整改；explain 书面说明")
    reply_within_days: int = Field(ge=1, description="答复期限（工作日），按工作日历计算")
    note: str = Field(default="", description="督办意见")


class ReplyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["rectified", "explained", "appeal"] = Field(
        description="rectified 已整改；explained 书面说明；appeal 申诉"
    )
    text: str = Field(description="答复内容")


class RulingBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["accepted", "rejected", "accountability", "revoked"] = Field(
        description="accepted 采纳；rejected 不予采纳（重新督办）；accountability 转责任追究；"
        "revoked 申诉成立，撤销预警（保留记录，不计入考核）"
    )
    note: str = Field(default="", description="裁定意见")
    person: str | None = Field(default=None, description="责任追究：责任人（accountability 必填）")
    measure: str | None = Field(default=None, description=f"责任追究方式：{'、'.join(MEASURES)}")
    reply_within_days: int | None = Field(
        default=None, ge=1, description="不予采纳时重新答复的期限（工作日），缺省为配置的默认值"
    )


class Reply(BaseModel):
    kind: Literal["rectified", "explained", "appeal"]
    text: str
    by: str
    at: str = Field(description="ISO 8601, Beijing time")


class Ruling(BaseModel):
    decision: Literal["accepted", "rejected", "accountability", "revoked"]
    note: str | None
    by: str
    at: str = Field(description="ISO 8601, Beijing time")
    person: str | None = Field(description="责任追究：责任人")
    measure: str | None = Field(description="责任追究：处理方式")


class SupervisionOut(BaseModel):
    """One 督办 in its current round (a rejected reply opens a new round with a new deadline)."""

    id: int
    alert_id: int
    case_id: str
    department: str
    number: str = Field(description="督办函文号，如〔2026〕17号")
    demand: Literal["rectify", "explain"]
    note: str
    issued_by: str
    issued_at: str = Field(description="ISO 8601, Beijing time")
    reply_within_days: int = Field(description="答复期限（工作日）")
    reply_due: str = Field(description="答复截止时刻：第N个工作日24时（ISO 8601, Beijing time）")
    reply_due_provisional: bool = Field(description="节假日安排未公布，期限暂定")
    round: int
    state: Literal["issued", "replied", "ruled"]
    open: bool
    overdue: bool = Field(description="答复期限已过而未答复")
    reply: Reply | None
    ruling: Ruling | None
    overdue_alert_id: int | None = Field(description="逾期未答复时产生的督办逾期红牌")


class SupervisionList(BaseModel):
    total: int
    items: list[SupervisionOut]


def _json(s: Any, request: Request) -> SupervisionOut:
    return SupervisionOut.model_validate(s.as_json(request.app.state.services.tz))


@api.post("/alerts/{alert_id}/supervise", response_model=SupervisionOut, responses=_ERRORS)
def api_supervise(
    alert_id: int, body: SuperviseBody, request: Request, actor: ApiActor, services: Svc, now: Now
) -> SupervisionOut:
    """Issue a 工作督办函 on an open alert (office only): the reply deadline is counted in
    working days on the engine's calendar; the department is mailed."""
    with services.state.begin() as conn:
        done = service.supervise(
            conn, actor, alert_id, demand=body.demand, reply_within_days=body.reply_within_days,
            note=body.note, now=now, settings=settings(request),
        )  # fmt: skip
    return _json(done, request)


@api.post("/alerts/{alert_id}/reply", response_model=SupervisionOut, responses=_ERRORS)
def api_reply(
    alert_id: int, body: ReplyBody, request: Request, actor: ApiActor, services: Svc, now: Now
) -> SupervisionOut:
    """Answer the alert's open 督办 (the alert's department only); the office is mailed."""
    with services.state.begin() as conn:
        done = service.reply(
            conn, actor, alert_id, kind=body.kind, text=body.text, now=now, settings=settings(request)
        )
    return _json(done, request)


@api.post("/alerts/{alert_id}/ruling", response_model=SupervisionOut, responses=_ERRORS)
def api_ruling(
    alert_id: int, body: RulingBody, request: Request, actor: ApiActor, services: Svc, now: Now
) -> SupervisionOut:
    """Rule on the department's reply (office only); `revoked` keeps the alert as evidence
    but takes it out of the assessment; `accountability` records the person and measure."""
    days = body.reply_within_days or request.app.state.web.reply_days_default
    with services.state.begin() as conn:
        done = service.rule(
            conn, actor, alert_id, decision=body.decision, note=body.note, person=body.person,
            measure=body.measure, now=now, settings=settings(request), reply_within_days=days,
        )  # fmt: skip
    return _json(done, request)


@api.get("/supervisions", response_model=SupervisionList, responses=_ERRORS)
def api_supervisions(request: Request, actor: ApiActor, services: Svc, now: Now) -> SupervisionList:
    """The open 督办 the caller may see, with their reply deadlines."""
    with services.state.connect() as conn:
        found = service.open_supervisions(conn, actor, now=now)
    return SupervisionList(total=len(found), items=[_json(s, request) for s in found])


# -- pages ---------------------------------------------------------------------------------


@router.get("/supervisions")
def supervisions_page(request: Request, actor: PageActor, services: Svc, now: Now) -> Response:
    with services.state.connect() as conn:
        found = service.open_supervisions(conn, actor, now=now)
    return page(request, "supervisions.html", actor, items=found, DEMAND_NAMES=DEMAND_NAMES)


@router.get("/supervisions/{supervision_id}/letter")
def letter_page(request: Request, supervision_id: int, actor: PageActor, services: Svc, now: Now) -> Response:
    with services.state.connect() as conn:
        html = render_letter(conn, actor, supervision_id, now=now, settings=settings(request))
    return HTMLResponse(html)


def _back(case_id: str) -> Response:
    from urllib.parse import quote

    return RedirectResponse(f"/cases/{quote(case_id)}#alerts", 303)


@router.post("/alerts/{alert_id}/supervise")
def supervise_form(
    request: Request,
    alert_id: int,
    actor: PageActor,
    services: Svc,
    now: Now,
    demand: Annotated[str, Form()],
    reply_within_days: Annotated[int, Form()],
    note: Annotated[str, Form()] = "",
) -> Response:
    with services.state.begin() as conn:
        done = service.supervise(
            conn, actor, alert_id, demand=demand, reply_within_days=reply_within_days, note=note,
            now=now, settings=settings(request),
        )  # fmt: skip
    return _back(done.case_id)


@router.post("/alerts/{alert_id}/reply")
def reply_form(
    request: Request,
    alert_id: int,
    actor: PageActor,
    services: Svc,
    now: Now,
    kind: Annotated[str, Form()],
    text: Annotated[str, Form()],
) -> Response:
    with services.state.begin() as conn:
        done = service.reply(conn, actor, alert_id, kind=kind, text=text, now=now, settings=settings(request))
    return _back(done.case_id)


@router.post("/alerts/{alert_id}/ruling")
def ruling_form(
    request: Request,
    alert_id: int,
    actor: PageActor,
    services: Svc,
    now: Now,
    decision: Annotated[str, Form()],
    note: Annotated[str, Form()] = "",
    person: Annotated[str, Form()] = "",
    measure: Annotated[str, Form()] = "",
) -> Response:
    with services.state.begin() as conn:
        done = service.rule(
            conn, actor, alert_id, decision=decision, note=note, person=person or None,
            measure=measure or None, now=now, settings=settings(request),
            reply_within_days=request.app.state.web.reply_days_default,
        )  # fmt: skip
    return _back(done.case_id)
