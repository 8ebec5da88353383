"""/login and /logout. A failed sign-in counts towards the account's lock (monitor.users)."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from monitor.users import LoginRefusedError, authenticate
from monitor.web.auth import Now, Svc
from monitor.web.rendering import page
from monitor.web.security import safe_next

router = APIRouter()


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    return page(request, "login.html", None, next=safe_next(next), error="", username="")


@router.post("/login")
def login(
    request: Request,
    services: Svc,
    now: Now,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    target = safe_next(next)
    try:
        actor = authenticate(services.state, username.strip(), password, now, request.app.state.lock_policy)
    except LoginRefusedError as exc:
        return page(
            request, "login.html", None, status_code=401, next=target, error=exc.reason, username=username
        )
    # A fresh session: nothing from before the sign-in (its CSRF token included) carries over.
    request.session.clear()
    request.session["user"] = actor.name
    request.session["csrf"] = secrets.token_urlsafe(32)
    return RedirectResponse(target, 303)


@router.post("/logout")
def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/login", 303)
