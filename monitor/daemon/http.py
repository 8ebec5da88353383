"""The daemon's HTTP endpoints: /metrics, /healthz (alive) and /readyz (able to work)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

StartResponse = Callable[..., Any]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # scrapes every few seconds would flood the log


def make_app(
    registry: CollectorRegistry, ready: Callable[[], tuple[bool, str]]
) -> Callable[..., Iterable[bytes]]:
    metrics_app = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"ok\n"]
        if path == "/readyz":
            ok, why = ready()
            start_response(
                "200 OK" if ok else "503 Service Unavailable",
                [("Content-Type", "text/plain; charset=utf-8")],
            )
            return [(why + "\n").encode()]
        if path == "/metrics":
            result: Iterable[bytes] = metrics_app(environ, start_response)
            return result
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"not found: try /metrics, /healthz or /readyz\n"]

    return app


def serve(
    host: str, port: int, registry: CollectorRegistry, ready: Callable[[], tuple[bool, str]]
) -> tuple[WSGIServer, threading.Thread]:
    server = make_server(host, port, make_app(registry, ready), handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="sunlight-http", daemon=True)
    thread.start()
    return server, thread
