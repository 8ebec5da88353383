"""预警: the filtered, sorted, paged list, and acknowledging an alert from a form."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from monitor.console.alerts import SORTS, AlertFilter, Sort, acknowledge_alert, departments, list_alerts
from monitor.model import Category
from monitor.web.auth import Now, PageActor, Svc
from monitor.web.rendering import page

router = APIRouter()
PAGE_SIZE = 50


def _text(value: str | None) -> str | None:
    return value.strip() or None if value else None


def _days(value: str | None) -> int | None:
    """A whole number of days from the form; empty, zero or not a number: no condition."""
    text = (value or "").strip()
    return int(text) if text.isdigit() and 0 < int(text) <= 3650 else None


@router.get("/alerts")
def alerts_page(
    request: Request,
    actor: PageActor,
    services: Svc,
    now: Now,
    level: str | None = None,
    state: str | None = None,
    department: str | None = None,
    item: str | None = None,
    rule: str | None = None,
    category: str | None = None,
    # Text, not int: the filter form sends `age=` when the field is left empty.
    age: Annotated[str | None, Query(max_length=4)] = None,
    sort: str = "newest",
    page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    chosen: Sort = sort if sort in SORTS else "newest"  # type: ignore[assignment]
    f = AlertFilter(
        level=_text(level),
        state=_text(state),
        department=_text(department),
        item_code=_text(item),
        rule_id=_text(rule),
        category=_text(category),
        min_age_days=_days(age),
        sort=chosen,
        limit=PAGE_SIZE,
        offset=(page_no - 1) * PAGE_SIZE,
    )
    with services.state.connect() as conn:
        result = list_alerts(conn, actor, f, now)
        choices = departments(conn, actor)
    kept = {
        k: v
        for k, v in {
            "level": f.level,
            "state": f.state,
            "department": f.department,
            "item": f.item_code,
            "rule": f.rule_id,
            "category": f.category,
            "age": f.min_age_days,
            "sort": chosen,
        }.items()
        if v
    }
    pages = max(1, -(-result.total // PAGE_SIZE))

    def link(n: int) -> str:
        return "/alerts?" + urlencode({**kept, "page": n})

    return page(
        request,
        "alerts.html",
        actor,
        result=result,
        f=f,
        departments=choices,
        categories=[c.value for c in Category],
        sorts=SORTS,
        page_no=page_no,
        pages=pages,
        prev_link=link(page_no - 1) if page_no > 1 else "",
        next_link=link(page_no + 1) if page_no < pages else "",
        case_href=case_href,
    )


def case_href(case_id: str) -> str:
    return "/cases/" + quote(case_id, safe="")


@router.post("/alerts/{alert_id}/ack")
def acknowledge_form(
    actor: PageActor,
    services: Svc,
    now: Now,
    alert_id: int,
    note: Annotated[str, Form()] = "",
) -> Response:
    with services.state.begin() as conn:
        done = acknowledge_alert(conn, actor, alert_id, note, now)
    return RedirectResponse(case_href(done.case_id) + "#alerts", 303)
