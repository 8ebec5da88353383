"""The console's ASGI app: middleware, the error mapping, and one router per area.

The 督办 page and its actions (supervise, reply, ruling) are routers of their own to be
added beside these (routes/supervision.py), over their own service module.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from monitor.config import WebConfig
from monitor.console.context import Services
from monitor.console.public import Throttle
from monitor.timeutil import utcnow
from monitor.users import LockPolicy
from monitor.web import errors
from monitor.web.routes import alerts as alert_pages
from monitor.web.routes import api, assessment, cases, login, overview, public, status, supervision, users
from monitor.web.security import csrf_guard, security_headers

STATIC = Path(__file__).parent / "static"
SESSION_COOKIE = "sunlight_session"


def create_app(
    services: Services, web: WebConfig, secret: str, clock: Callable[[], datetime] = utcnow
) -> FastAPI:
    app = FastAPI(
        title="阳光监察 电子监察平台 API",
        version="1",
        docs_url=None,  # the interactive docs load scripts from a CDN, which the CSP refuses
        redoc_url=None,
        openapi_url="/api/openapi.json",
        dependencies=[Depends(csrf_guard)],
    )
    app.state.services = services
    app.state.clock = clock
    app.state.web = web
    app.state.lock_policy = LockPolicy(
        max_failures=web.login_max_failures,
        window=timedelta(minutes=web.login_window_minutes),
        lock=timedelta(minutes=web.login_lock_minutes),
    )
    app.middleware("http")(security_headers)
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie=SESSION_COOKIE,
        max_age=int(web.session_hours * 3600),
        same_site="lax",
        https_only=web.secure_cookies,
    )
    errors.install(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in (
        login.router,
        overview.router,
        alert_pages.router,
        cases.router,
        users.router,
        status.router,
        supervision.router,
        assessment.router,
        public.router,
    ):
        app.include_router(router, include_in_schema=False)
    app.include_router(api.router)
    app.include_router(supervision.api)
    app.state.public_throttle = Throttle(web.public_lookups_per_minute, 60.0)
    return app
