"""Pages from Jinja2 templates: autoescaped always, strict about undefined names, each
given the person, the CSRF token and the Chinese names of levels, states and categories."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from alerts.supervision.model import DECISION_NAMES, DEMAND_NAMES, MEASURES, REPLY_NAMES
from monitor.access import ROLE_NAMES, Actor
from monitor.console.alerts import STATE_NAMES
from monitor.engine.messages import fmt_deadline, fmt_instant
from monitor.vocabulary import CATEGORY_NAMES
from monitor.web.security import CSRF_FIELD, csrf_token

TEMPLATES = Path(__file__).parent / "templates"
LEVEL_NAMES = {"yellow": "黄牌", "red": "红牌"}

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,  # every template, whatever its name: values from the source are hostile
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.globals.update(
    SUP_DEMAND=DEMAND_NAMES,
    SUP_REPLY=REPLY_NAMES,
    SUP_DECISION=DECISION_NAMES,
    SUP_MEASURES=MEASURES,
    fmt_deadline=fmt_deadline,
    fmt_instant=fmt_instant,
    LEVEL_NAMES=LEVEL_NAMES,
    STATE_NAMES=STATE_NAMES,
    CATEGORY_NAMES=CATEGORY_NAMES,
    ROLE_NAMES=ROLE_NAMES,
    CSRF_FIELD=CSRF_FIELD,
    NOTICE_STATUS={
        "pending": "待发送",
        "sending": "发送中",
        "held": "待汇总",
        "digested": "已汇总发送",
        "silenced": "已静默",
        "sent": "已发送",
        "failed": "发送失败",
    },
)


def page(
    request: Request, name: str, actor: Actor | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    body = _env.get_template(name).render(
        request=request,
        actor=actor,
        csrf=csrf_token(request),
        nav=request.url.path,
        tz=request.app.state.services.tz,
        **context,
    )
    return HTMLResponse(body, status_code=status_code)
