"""办件: one case's explain view, its alerts and history, and the chain check."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from alerts.supervision.service import of_alert
from monitor.console.alerts import may_acknowledge
from monitor.console.cases import case_view
from monitor.web.auth import Now, PageActor, Svc
from monitor.web.rendering import page

router = APIRouter()


@router.get("/cases/{case_id:path}")
def case_page(request: Request, case_id: str, actor: PageActor, services: Svc, now: Now) -> Response:
    view = case_view(services, actor, case_id, now)
    with services.state.connect() as conn:
        supervisions = {v.alert.id: of_alert(conn, actor, v.alert.id, now=now) for v in view.alerts}
    web = request.app.state.web
    may_ack = may_acknowledge(actor, view.department)
    return page(
        request, "case.html", actor, case=view, may_ack=may_ack, supervisions=supervisions,
        reply_days_default=web.reply_days_default, reply_days_max=web.reply_days_max,
    )  # fmt: skip
