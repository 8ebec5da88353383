"""用户 (office only): the accounts, adding one, disabling one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from monitor.access import ROLES, InvalidRequestError, StateConflictError
from monitor.errors import ConfigError
from monitor.users import add_user, disable_user, list_users
from monitor.web.auth import Now, OfficeActor, Svc
from monitor.web.rendering import page

router = APIRouter()


def _users_page(request: Request, actor: OfficeActor, services: Svc, now: Now, **extra: object) -> Response:
    with services.state.connect() as conn:
        found = list_users(conn)
    context = {"users": found, "roles": ROLES, "now": now, "error": "", "done": "", "form": {}, **extra}
    status = 400 if context["error"] else 200
    return page(request, "users.html", actor, status_code=status, **context)


@router.get("/users")
def users_page(request: Request, actor: OfficeActor, services: Svc, now: Now) -> Response:
    done = "已添加用户" if request.query_params.get("added") else ""
    return _users_page(request, actor, services, now, done=done)


@router.post("/users")
def users_add(
    request: Request,
    actor: OfficeActor,
    services: Svc,
    now: Now,
    name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    department: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    try:
        with services.state.begin() as conn:
            add_user(conn, name.strip(), role, department.strip() or None, password, now, by=actor.name)
    except (ConfigError, StateConflictError) as exc:
        form = {"name": name, "role": role, "department": department}
        return _users_page(request, actor, services, now, error=str(exc), form=form)
    return RedirectResponse("/users?added=1", 303)


@router.post("/users/{name}/disable")
def users_disable(actor: OfficeActor, services: Svc, now: Now, name: str) -> Response:
    if name == actor.name:
        raise InvalidRequestError("不能停用自己的账户")
    with services.state.begin() as conn:
        disable_user(conn, name, now, by=actor.name)
    return RedirectResponse("/users", 303)
