"""总览: open alerts by department and category, today's new ones, the trend."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from monitor.console.overview import overview
from monitor.web.auth import Now, PageActor, Svc
from monitor.web.chart import trend_chart
from monitor.web.rendering import page

router = APIRouter()


@router.get("/")
def overview_page(request: Request, actor: PageActor, services: Svc, now: Now) -> Response:
    if actor.role == "operator":
        return RedirectResponse("/status", 303)
    with services.state.connect() as conn:
        data = overview(conn, actor, now, services.tz)
    return page(request, "overview.html", actor, data=data, chart=trend_chart(data.trend))
