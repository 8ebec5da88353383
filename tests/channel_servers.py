"""An in-process HTTP server standing in for the SMS gateway, the DingTalk, WeCom and Feishu
APIs and a webhook receiver, on 127.0.0.1 in a thread.

Each request is recorded (method, path, query, headers, parsed JSON). SMS and webhook
deliveries are counted by their idempotency key (`outId`, X-Sunlight-Delivery), as the real
gateway and a careful receiver would, so a test can tell distinct deliveries from retries.
Replies are scriptable: the next N are a 500, a 429 with Retry-After, a malformed body, or a
given error body; `stop()` closes the port, so the next connection is refused.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

OK_REPLIES: dict[str, dict[str, Any]] = {
    "/sms": {"code": "OK", "message": "OK"},
    "/robot/send": {"errcode": 0, "errmsg": "ok"},
    "/cgi-bin/webhook/send": {"errcode": 0, "errmsg": "ok"},
    "/open-apis/bot/v2/hook/": {"code": 0, "msg": "success", "data": {}},
    "/gettoken": {"errcode": 0, "errmsg": "ok", "access_token": "dt-token-1", "expires_in": 7200},
    "/topapi/message/corpconversation/asyncsend_v2": {"errcode": 0, "errmsg": "ok", "task_id": 1},
    "/cgi-bin/gettoken": {"errcode": 0, "errmsg": "ok", "access_token": "wc-token-1", "expires_in": 7200},
    "/cgi-bin/message/send": {"errcode": 0, "errmsg": "ok", "invaliduser": ""},
    "/open-apis/auth/v3/tenant_access_token/internal": {
        "code": 0,
        "tenant_access_token": "t-1",
        "expire": 7200,
    },
    "/open-apis/im/v1/messages": {"code": 0, "msg": "success", "data": {"message_id": "om_1"}},
    "/hook": {},
}


@dataclass(frozen=True, slots=True)
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names in lower case
    body: bytes
    json: Any


@dataclass(slots=True)
class Reply:
    status: int = 200
    body: bytes | dict[str, Any] | None = None  # None: the path's documented success
    headers: dict[str, str] = field(default_factory=dict)
    path: str | None = None  # only for requests whose path starts with this
    delay: float = 0.0  # seconds between taking the request and answering: a reply in flight


class ChannelServer:
    def __init__(self, port: int = 0) -> None:
        self.requests: list[Recorded] = []
        self.delivered: dict[str, Recorded] = {}  # idempotency key -> first accepted request
        self.accepted = 0  # requests answered with success, duplicates included
        self._script: list[Reply] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.start()
        self._running = True

    # -- scripting ---------------------------------------------------------------
    def then(self, *replies: Reply) -> ChannelServer:
        with self._lock:
            self._script.extend(replies)
        return self

    def fail(self, n: int = 1, status: int = 500, path: str | None = None) -> ChannelServer:
        return self.then(*[Reply(status, b"internal error", path=path) for _ in range(n)])

    def rate_limit(self, n: int = 1, retry_after: str = "7", path: str | None = None) -> ChannelServer:
        return self.then(*[Reply(429, b"slow down", {"Retry-After": retry_after}, path) for _ in range(n)])

    def malformed(self, n: int = 1, path: str | None = None) -> ChannelServer:
        return self.then(*[Reply(200, b"<html>gateway</html>", path=path) for _ in range(n)])

    def error(
        self, body: dict[str, Any], n: int = 1, status: int = 200, path: str | None = None
    ) -> ChannelServer:
        return self.then(*[Reply(status, body, path=path) for _ in range(n)])

    def stop(self) -> None:
        """The service goes away: its port is closed, a connection is refused."""
        if self._running:
            self._running = False
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=2)

    def on(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path.startswith(path)]

    # -- serving -----------------------------------------------------------------
    def _next_reply(self, path: str) -> Reply:
        with self._lock:
            for i, reply in enumerate(self._script):
                if reply.path is None or path.startswith(reply.path):
                    return self._script.pop(i)
        return Reply()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: a batch's requests share a connection

            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    parsed = json.loads(body) if body else None
                except ValueError:
                    parsed = None
                recorded = Recorded(
                    self.command,
                    parts.path,
                    dict(parse_qsl(parts.query)),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    parsed,
                )
                with server._lock:
                    server.requests.append(recorded)
                reply = server._next_reply(parts.path)
                payload = reply.body
                if payload is None:
                    payload = next((v for k, v in OK_REPLIES.items() if parts.path.startswith(k)), {})
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                if 200 <= reply.status < 300 and reply.body is None:
                    server._count(recorded)
                if reply.delay:
                    time.sleep(reply.delay)  # accepted, the answer not yet sent
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def _count(self, recorded: Recorded) -> None:
        key = None
        if recorded.path.startswith("/sms"):
            key = (recorded.json or {}).get("outId") if isinstance(recorded.json, dict) else None
            key = key or recorded.query.get("outId")
        elif recorded.path.startswith("/hook"):
            key = recorded.headers.get("x-sunlight-delivery")
        with self._lock:
            self.accepted += 1
            if key and key not in self.delivered:
                self.delivered[key] = recorded


@contextmanager
def channel_server() -> Iterator[ChannelServer]:
    server = ChannelServer()
    try:
        yield server
    finally:
        server.stop()
