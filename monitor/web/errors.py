"""The one place the service layer's exceptions become HTTP answers: NotFoundError 404,
ForbiddenError 403, StateConflictError 409, InvalidRequestError 400; JSON `{"detail": ...}`
under /api, an error page elsewhere, a redirect to /login for a page without a session."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response

from monitor.access import ForbiddenError, InvalidRequestError, StateConflictError
from monitor.errors import NotFoundError
from monitor.web.auth import LoginRequiredError, login_url
from monitor.web.rendering import page

NOT_FOUND = "未找到该页面或记录"


def _answer(request: Request, status: int, detail: str, headers: Mapping[str, str] | None = None) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": detail}, status, headers=headers)
    return page(request, "error.html", None, status_code=status, status=status, detail=detail)


def install(app: FastAPI) -> None:
    @app.exception_handler(NotFoundError)
    async def _not_found(request: Request, exc: NotFoundError) -> Response:
        return _answer(request, 404, NOT_FOUND)  # the same words whether absent or not visible

    @app.exception_handler(ForbiddenError)
    async def _forbidden(request: Request, exc: ForbiddenError) -> Response:
        return _answer(request, 403, exc.reason)

    @app.exception_handler(StateConflictError)
    async def _conflict(request: Request, exc: StateConflictError) -> Response:
        return _answer(request, 409, exc.reason)

    @app.exception_handler(InvalidRequestError)
    async def _invalid(request: Request, exc: InvalidRequestError) -> Response:
        return _answer(request, 400, exc.reason)

    @app.exception_handler(LoginRequiredError)
    async def _login(request: Request, exc: LoginRequiredError) -> Response:
        return RedirectResponse(login_url(exc.next_path), 303)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        detail = NOT_FOUND if exc.status_code == 404 else str(exc.detail)
        return _answer(request, exc.status_code, detail, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": "请求参数有误", "errors": exc.errors()}, 422)
        return _answer(request, 400, "请求参数有误")
