"""Who is asking: the session cookie or `Authorization: Bearer TOKEN`, checked against the
users table on every request (a disabled account is out at once)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import Depends, HTTPException, Request

from monitor.access import Actor, ForbiddenError
from monitor.console.context import Services
from monitor.users import active_actor, actor_for_token
from monitor.web.security import uses_token


class LoginRequiredError(Exception):
    """A page asked for without a session: the handler redirects to /login with `next`."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path
        super().__init__(next_path)


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def now(request: Request) -> datetime:
    """The app's clock (tests inject one)."""
    at: datetime = request.app.state.clock()
    return at


def _session_actor(request: Request) -> Actor | None:
    name = request.session.get("user")
    if not isinstance(name, str):
        return None
    with services(request).state.connect() as conn:
        actor = active_actor(conn, name)
    if actor is None:
        request.session.clear()
    return actor


def _token_actor(request: Request) -> Actor:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(
            401, "身份验证失败：请使用 Authorization: Bearer 令牌", {"WWW-Authenticate": "Bearer"}
        )
    with services(request).state.connect() as conn:
        actor = actor_for_token(conn, token.strip())
    if actor is None:
        raise HTTPException(401, "令牌无效或账户已停用", {"WWW-Authenticate": "Bearer"})
    return actor


def api_actor(request: Request) -> Actor:
    """The caller of an API route: a token when one is sent (never the cookie then), else the session."""
    if uses_token(request):
        return _token_actor(request)
    actor = _session_actor(request)
    if actor is None:
        raise HTTPException(401, "请先登录")
    return actor


def page_actor(request: Request) -> Actor:
    """The person of a page or a form: the session only. A request with an Authorization
    header is refused here, since the CSRF check lets such requests through on the promise
    that the token alone authenticates them."""
    if uses_token(request):
        raise HTTPException(401, "网页需要登录；令牌只能用于 /api")
    actor = _session_actor(request)
    if actor is None:
        target = quote(request.url.path)
        if request.url.query:
            target += "?" + request.url.query
        raise LoginRequiredError(target)
    return actor


def login_url(next_path: str) -> str:
    return "/login?" + urlencode({"next": next_path})


def office_only(actor: Annotated[Actor, Depends(page_actor)]) -> Actor:
    if actor.role != "office":
        raise ForbiddenError("用户管理仅限纪检监察室")
    return actor


ApiActor = Annotated[Actor, Depends(api_actor)]
PageActor = Annotated[Actor, Depends(page_actor)]
OfficeActor = Annotated[Actor, Depends(office_only)]
Now = Annotated[datetime, Depends(now)]
Svc = Annotated[Services, Depends(services)]
