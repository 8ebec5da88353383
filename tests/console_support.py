"""A console over a real state database with two departments' cases, for the HTTP tests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from monitor.config import load_config
from monitor.console.context import Services
from monitor.users import add_user, issue_token
from monitor.web.app import create_app
from tests.conftest import Harness, bj, case, event, item, write_config

NOW = bj("2026-11-23 10:00")
A = "市市场监督管理局"
B = "市税务局"
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
HOSTILE = f"{IMG}局"  # a department whose name is an attack
PASSWORDS = {
    "office": "office-password",
    "dept_a": "dept-a-password",
    "dept_b": "dept-b-password",
    "operator": "operator-password",
    "hostile": "hostile-password",
}
SECRET = "s" * 48


class Clock:
    """The app's clock, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Console:
    harness: Harness
    clock: Clock
    tokens: dict[str, str]

    def app(self) -> FastAPI:
        cfg = self.harness.config
        services = Services(
            self.harness.app.state, self.harness.app.source, self.harness.holder, cfg.tz, cfg.notify,
            cfg.scheme_path() if cfg.scheme_path().exists() else None,
        )  # fmt: skip
        return create_app(services, cfg.web, SECRET, self.clock)

    def client(self, base_url: str = "http://127.0.0.1:8080") -> TestClient:
        return TestClient(self.app(), base_url=base_url)

    def alert_of(self, case_id: str) -> int:
        return next(int(a.id) for a in self.harness.alerts() if a.case_id == case_id)


def records() -> list[dict[str, object]]:
    out: list[dict[str, object]] = [
        item("XK-A", department=A),
        item("XK-B", department=B),
        item("XK-H", department=HOSTILE),
    ]
    for case_id, code, dept in (
        ("A-1", "XK-A", A),
        ("A-2", "XK-A", A),
        ("B-1", "XK-B", B),
        ("H-1", "XK-H", HOSTILE),
    ):
        c = case(case_id, code, dept)
        if case_id == "H-1":
            c["applicant"] = {"name": SCRIPT, "id_number": IMG, "phone": "13812348000"}
        out.append(c)
        # Accepted on 2 November with a promise of 5 working days: red by the 23rd.
        out.append(event(case_id, "received", "2026-11-02 09:00", "窗口张三"))
        out.append(event(case_id, "accepted", "2026-11-02 10:00", "窗口张三"))
    return out


@contextmanager
def console(tmp_path: Path, url: str) -> Iterator[Console]:
    config = load_config(write_config(tmp_path, url), environ={})
    h = Harness(config)
    try:
        h.load(*records(), now=bj("2026-11-02 11:00"))
        h.poll(NOW)
        assert {a.case_id for a in h.alerts()} >= {"A-1", "A-2", "B-1", "H-1"}
        tokens = {}
        with h.app.state.begin() as conn:
            add_user(conn, "office", "office", None, PASSWORDS["office"], NOW)
            add_user(conn, "dept_a", "department", A, PASSWORDS["dept_a"], NOW)
            add_user(conn, "dept_b", "department", B, PASSWORDS["dept_b"], NOW)
            add_user(conn, "operator", "operator", None, PASSWORDS["operator"], NOW)
            add_user(conn, "hostile", "department", HOSTILE, PASSWORDS["hostile"], NOW)
            for name in PASSWORDS:
                tokens[name] = issue_token(conn, name, NOW)
        yield Console(h, Clock(NOW), tokens)
    finally:
        h.app.dispose()


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def login(client: TestClient, name: str, password: str | None = None) -> str:
    """Sign in through the form; the session's CSRF token."""
    token = csrf_of(client.get("/login").text)
    r = client.post(
        "/login",
        data={"username": name, "password": password or PASSWORDS[name], "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return csrf_of(client.get("/alerts" if name != "operator" else "/status").text)
