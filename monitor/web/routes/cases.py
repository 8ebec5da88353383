"""办件: one case's explain view, its alerts and history, and the chain check."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from alerts.supervision.service import of_alert
from monitor.console.alerts import get_alert, may_acknowledge
from monitor.console.cases import case_view
from monitor.web.auth import Now, PageActor, Svc
from monitor.web.rendering import page

router = APIRouter()


@router.get("/s/{alert_id}")
def short_link(alert_id: int, actor: PageActor, services: Svc) -> Response:
    """The short address an SMS carries: the alert's case page, after signing in. An alert
    the person may not see is not found, as on every page."""
    with services.state.connect() as conn:
        alert = get_alert(conn, actor, alert_id)
    return RedirectResponse(f"/cases/{quote(alert.case_id, safe='')}#alert-{alert_id}", status_code=303)


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
