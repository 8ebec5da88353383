"""绩效评估 in the console: the month's ranking with its charts, and each score opened into
the cards and closed cases behind it. The ranking is the intranet publication, shown to the
office and to every department; what a score rests on names cases, so a department opens
only its own (NotFoundError otherwise, as everywhere)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from monitor.access import Actor, ForbiddenError, InvalidRequestError
from monitor.assessment import charts, output
from monitor.assessment.figures import behind
from monitor.assessment.publish import categories, year_of
from monitor.assessment.scheme import load_scheme
from monitor.assessment.score import UNIT_NAMES, By, assess
from monitor.engine.messages import fmt_deadline, fmt_instant
from monitor.errors import ConfigError, NotFoundError
from monitor.report import COLUMNS, cells, month_bounds, monthly
from monitor.vocabulary import CATEGORY_NAMES
from monitor.web.auth import Now, PageActor, Svc
from monitor.web.rendering import page

router = APIRouter()


def _month(value: str | None, now: datetime, tz: ZoneInfo) -> str:
    if value:
        try:
            month_bounds(value, tz)
        except ConfigError as exc:
            raise InvalidRequestError("月份应写作YYYY-MM，例如2026-11") from exc
        return value
    local = now.astimezone(tz)
    year, month = (local.year - 1, 12) if local.month == 1 else (local.year, local.month - 1)
    return f"{year}-{month:02d}"  # the last complete month


def _reader(actor: Actor) -> None:
    if not actor.sees_cases:
        raise ForbiddenError("运维人员不能查看绩效评估")


@router.get("/assessment")
def assessment_page(
    request: Request,
    actor: PageActor,
    services: Svc,
    now: Now,
    month: str | None = None,
    by: str = "department",
) -> Response:
    _reader(actor)
    if services.scheme is None:
        raise HTTPException(404)
    unit: By = "item" if by == "item" else "department"
    chosen = _month(month, now, services.tz)
    scheme = load_scheme(services.scheme)
    scores = assess(services.state, scheme, chosen, services.tz, unit, now=now)
    year = year_of(services.state, scheme, chosen, services.tz, unit)
    return page(
        request,
        "assessment.html",
        actor,
        month=chosen,
        by=unit,
        what=UNIT_NAMES[unit],
        scheme=scheme,
        headers=output.compact_headers(unit),
        rows=output.compact(scores),
        scores=scores,
        ranking_chart=charts.bars(f"{chosen} 得分排名", [(s.unit, s.score) for s in scores], scheme.base),
        trend_chart=charts.line(f"{chosen[:4]}年各月平均得分", year.months, year.average),
        category_chart=charts.bars(f"{chosen} 红黄牌按类别分布", categories(scores), unit="张"),
        type_headers=[h for _, h in COLUMNS],
        type_rows=[cells(r) for r in monthly(services.state, chosen, services.tz, total=True)],
    )


@router.get("/assessment/{month}/behind")
def behind_page(
    request: Request, month: str, actor: PageActor, services: Svc, department: str, item: str | None = None
) -> Response:
    _reader(actor)
    if not actor.may_see(department):
        raise NotFoundError(f"department {department} not visible")
    tz = services.tz
    start, end = month_bounds(_month(month, datetime.now(tz), tz), tz)
    rows = [
        {
            "when": fmt_deadline(b.at, tz) if b.what == "红牌" else fmt_instant(b.at, tz),
            "what": b.what,
            "case_id": b.case_id,
            "item_code": b.item_code,
            "alert_id": b.alert_id,
            "category": CATEGORY_NAMES.get(b.category, b.category) if b.category else "",
            "title": b.title,
        }
        for b in behind(services.state, start, end, department, item)
    ]
    unit = f"{department} / {item}" if item else department
    return page(request, "assessment_behind.html", actor, month=month, unit=unit, rows=rows)
