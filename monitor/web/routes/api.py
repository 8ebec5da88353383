"""The JSON API under /api: the same services as the pages, by cookie or Bearer token.

Field names of the responses are a public interface (docs/api.md)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from monitor.console.alerts import AlertFilter, acknowledge_alert, list_alerts
from monitor.console.cases import case_view
from monitor.web.auth import ApiActor, Now, Svc
from monitor.web.schemas import AckBody, Alert, AlertList, Case, Me

router = APIRouter(prefix="/api", tags=["api"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "未登录，或令牌无效"},
    403: {"description": "无权进行此操作（`detail` 为中文原因）"},
    404: {"description": "不存在，或调用者无权查看"},
}


@router.get("/me", response_model=Me, responses=_ERRORS)
def me(actor: ApiActor) -> Me:
    """The caller."""
    return Me(name=actor.name, role=actor.role, department=actor.department)


@router.get("/alerts", response_model=AlertList, responses=_ERRORS)
def api_alerts(
    actor: ApiActor,
    services: Svc,
    now: Now,
    level: Literal["yellow", "red"] | None = None,
    state: Literal["open", "acknowledged", "resolved"] | None = None,
    department: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AlertList:
    """The alerts the caller may see, newest first (a department sees only its own)."""
    f = AlertFilter(level=level, state=state, department=department, limit=limit, offset=offset)
    with services.state.connect() as conn:
        found = list_alerts(conn, actor, f, now)
    return AlertList(total=found.total, items=[Alert(**i.as_json()) for i in found.items])


@router.get("/cases/{case_id:path}", response_model=Case, responses=_ERRORS)
def api_case(case_id: str, actor: ApiActor, services: Svc, now: Now) -> Case:
    """The 办件 page's data: timeline, clocks, findings, alerts with their history, the chain check."""
    return Case.model_validate(case_view(services, actor, case_id, now).as_json())


@router.post(
    "/alerts/{alert_id}/ack",
    response_model=Alert,
    responses={**_ERRORS, 409: {"description": "预警已确认或已关闭"}},
)
def api_acknowledge(alert_id: int, body: AckBody, actor: ApiActor, services: Svc, now: Now) -> Alert:
    """Acknowledge an open alert (office, or the alert's department); recorded in the history
    with the caller's name. A cookie-authenticated call needs the X-CSRF-Token header."""
    with services.state.begin() as conn:
        done = acknowledge_alert(conn, actor, alert_id, body.note, now)
    return Alert(**done.as_json())
