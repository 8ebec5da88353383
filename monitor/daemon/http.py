"""The daemon's HTTP endpoints: /metrics, /healthz (alive) and /readyz (able to work)."""

from __future__ import annotations

import errno
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

from monitor.errors import StartupError

StartResponse = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class Reason:
    """One thing /readyz reports: `name` is a dependency (state_db, source_db, smtp) or
    another part (starting, source, rules); a non-blocking reason is said but stays ready."""

    name: str
    text: str
    blocking: bool = True


@dataclass(frozen=True, slots=True)
class Readiness:
    reasons: tuple[Reason, ...] = ()
    summary: str = "ready"

    @property
    def ok(self) -> bool:
        return not any(r.blocking for r in self.reasons)

    def body(self) -> str:
        head = self.summary if self.ok else "not ready"
        return "\n".join([head, *(f"{r.name}: {r.text}" for r in self.reasons)]) + "\n"


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # scrapes every few seconds would flood the log


def make_app(registry: CollectorRegistry, ready: Callable[[], Readiness]) -> Callable[..., Iterable[bytes]]:
    metrics_app = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"ok\n"]
        if path == "/readyz":
            readiness = ready()
            start_response(
                "200 OK" if readiness.ok else "503 Service Unavailable",
                [("Content-Type", "text/plain; charset=utf-8")],
            )
            return [readiness.body().encode()]
        if path == "/metrics":
            result: Iterable[bytes] = metrics_app(environ, start_response)
            return result
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"not found: try /metrics, /healthz or /readyz\n"]

    return app


def serve(
    host: str,
    port: int,
    registry: CollectorRegistry,
    ready: Callable[[], Readiness],
    origin: str = "`metrics.port`",
) -> tuple[WSGIServer, threading.Thread]:
    """Listen and answer in a thread; a port in use is a StartupError naming it."""
    try:
        server = make_server(host, port, make_app(registry, ready), handler_class=_QuietHandler)
    except OSError as exc:
        what = "is in use by another process" if exc.errno == errno.EADDRINUSE else f"cannot be opened: {exc}"
        raise StartupError(
            f"metrics address {host}:{port} {what} (the port is set by {origin}); "
            "stop the other process or choose another port"
        ) from exc
    thread = threading.Thread(target=server.serve_forever, name="sunlight-http", daemon=True)
    thread.start()
    return server, thread
