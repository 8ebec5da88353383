"""运行状态: for operations staff (and the office): rules, queue, outbox, source health."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from monitor.console.status import status
from monitor.web.auth import Now, PageActor, Svc
from monitor.web.rendering import page

router = APIRouter()


@router.get("/healthz")
def healthz() -> PlainTextResponse:
    """Liveness for a container or load balancer: the process answers (no database read)."""
    return PlainTextResponse("ok\n")


@router.get("/status")
def status_page(request: Request, actor: PageActor, services: Svc, now: Now) -> Response:
    return page(request, "status.html", actor, status=status(services, actor, now))
