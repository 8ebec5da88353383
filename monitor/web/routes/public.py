"""The public pages, without login (`web.public_pages`): the published monthly assessment
and 办件查询. Nothing here reads a session or shows a person: the assessment is its public
version (monitor.assessment.publish), the lookup answers a case's standing only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from monitor.console.public import Throttle, lookup
from monitor.web.auth import Now, Svc
from monitor.web.rendering import page

router = APIRouter(prefix="/public")


def _enabled(request: Request) -> None:
    if not request.app.state.web.public_pages:
        raise HTTPException(404)


def published_months(now: datetime, tz: ZoneInfo, count: int = 12) -> list[str]:
    """The months whose results are public: the complete months before `now`, newest first."""
    local = now.astimezone(tz)
    year, month = local.year, local.month
    out = []
    for _ in range(count):
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        out.append(f"{year}-{month:02d}")
    return out


@router.get("")
@router.get("/")
def public_index(request: Request, now: Now, services: Svc) -> Response:
    _enabled(request)
    return page(request, "public_index.html", None, months=published_months(now, services.tz))


@router.get("/assessment/{month}")
def public_assessment(request: Request, month: str, now: Now, services: Svc) -> Response:
    """The month's results as the office publishes them: departments, scores, charts."""
    _enabled(request)
    if month not in published_months(now, services.tz):
        raise HTTPException(404)
    from monitor.assessment.publish import to_html, year_of
    from monitor.assessment.scheme import load_scheme
    from monitor.assessment.score import assess
    from monitor.report import COLUMNS, cells, monthly

    if services.scheme is None:
        raise HTTPException(404)
    scheme = load_scheme(services.scheme)
    scores = assess(services.state, scheme, month, services.tz, now=now)
    year = year_of(services.state, scheme, month, services.tz, "department")
    rows = monthly(services.state, month, services.tz)
    html = to_html(
        scheme, "department", month, scores, year, [h for _, h in COLUMNS], [cells(r) for r in rows],
        public=True, now=now, tz=services.tz,
    )  # fmt: skip
    return HTMLResponse(html)


@router.get("/cases")
def lookup_form(request: Request) -> Response:
    _enabled(request)
    return page(request, "public_lookup.html", None, result=None, asked=False, case_id="", limited=False)


@router.post("/cases")
def lookup_case(
    request: Request,
    now: Now,
    services: Svc,
    case_id: Annotated[str, Form(max_length=64)],
    check: Annotated[str, Form(max_length=8)],
) -> Response:
    _enabled(request)
    throttle: Throttle = request.app.state.public_throttle
    client = request.client.host if request.client else "unknown"
    if not throttle.allow(client):
        return page(
            request, "public_lookup.html", None, result=None, asked=True, case_id=case_id, limited=True,
            status_code=429,
        )  # fmt: skip
    result = lookup(services, case_id, check, now)
    return page(
        request, "public_lookup.html", None, result=result, asked=True, case_id=case_id, limited=False
    )
