"""Shared fixtures: real databases, the shipped rules, and a pipeline with an explicit clock.

Tests that need PostgreSQL or MariaDB fail when the server is missing in CI (CI=true) and
skip elsewhere, so a developer without the servers can still run the suite.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import trustme
from sqlalchemy import Engine, make_url, text

from monitor.app import App, build
from monitor.config import Config, load_config
from monitor.daemon.poll import Pipeline
from monitor.daemon.reload import RuleHolder
from monitor.source.importer import import_records
from monitor.source.records import parse_line
from monitor.state.db import make_engine

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"
BJ = ZoneInfo("Asia/Shanghai")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

PG_URL = os.environ.get("SUNLIGHT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MARIADB_URL = os.environ.get(
    "SUNLIGHT_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test?charset=utf8mb4"
)


def bj(text_: str) -> datetime:
    """A Beijing-time instant from 'YYYY-MM-DD HH:MM'."""
    return datetime.fromisoformat(text_).replace(tzinfo=BJ)


def write_config(folder: Path, url: str, **extra: Any) -> Path:
    """A config file in `folder` that uses the shipped rules and the given database."""
    body: dict[str, Any] = {
        "database": {"url": url},
        "rules": {"path": str(RULES), "calendar": str(RULES / "calendar")},
        "metrics": {"enabled": False},
        "notify": {
            "eml_dir": "outbox",
            "routes": {
                "discipline_office": {"recipients": ["jjjc@example.gov.cn"], "levels": ["red"]},
                "department": {
                    "recipients": ["dept@example.gov.cn"],
                    "by_department": {"市市场监督管理局": ["scjg@example.gov.cn"]},
                    "levels": ["yellow", "red"],
                },
            },
        },
    }
    for key, value in extra.items():
        body.setdefault(key, {}).update(value)
    path = folder / "config.yaml"
    path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")  # JSON is YAML
    return path


def upgraded(config: Path) -> Path:
    """The config's database created with its schema, as `sunlight db upgrade` leaves it:
    the other commands refuse a database that does not exist or is empty."""
    app = build(load_config(config, environ={}), create=True)
    try:
        app.upgrade()
    finally:
        app.dispose()
    return config


class Harness:
    """An app on a real database with its own schema, and helpers to feed and poll it."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.app: App = build(config, create=True)
        self.app.upgrade()
        self.app.prepare_audit()  # as `run` does: the key in the config folder's data/
        self.holder = RuleHolder(
            config.path(config.rules.path),
            config.path(config.rules.calendar),
            frozenset(config.notify.routes),
        )
        self.pipeline: Pipeline = self.app.pipeline(self.holder)

    def load(self, *records: dict[str, Any], now: datetime | None = None) -> None:
        parsed = [(f"test:{i}", parse_line(json.dumps(r, ensure_ascii=False))) for i, r in enumerate(records)]
        report = import_records(self.app.source, parsed, now or bj("2026-11-23 09:00"))
        assert not report.errors, report.errors

    def poll(self, now: datetime) -> Any:
        from monitor.daemon.poll import poll_once

        return poll_once(self.pipeline, now)

    def key_id(self) -> str:
        assert self.app.keys is not None
        return self.app.keys.current.key_id

    def verify(self, *anchors: Any) -> Any:
        """`audit verify` of the whole history with the harness's keys and the given anchors."""
        from alerts.audit.verify import verify

        assert self.app.keys is not None
        return verify(self.app.state, self.app.keys.by_id(), anchors)

    def alerts(self) -> list[Any]:
        from sqlalchemy import select

        from monitor.state.schema import alerts

        with self.app.state.connect() as conn:
            return list(conn.execute(select(alerts).order_by(alerts.c.id)))

    def notices(self) -> list[Any]:
        from sqlalchemy import select

        from alerts.render import with_content
        from monitor.state.schema import notices

        # As the sender sees them: a notice a pass queued is rendered from its context.
        with self.app.state.connect() as conn:
            return [with_content(n) for n in conn.execute(select(notices).order_by(notices.c.id))]


def server_or_skip(url: str, name: str) -> Engine:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means the server is not there
        engine.dispose()
        if IN_CI:
            pytest.fail(f"{name} is required in CI but unreachable at {url}: {exc}")
        pytest.skip(f"{name} not reachable at {url}")
    return engine


@contextmanager
def scratch_database(kind: str) -> Iterator[str]:
    """A database of its own on the PostgreSQL or MariaDB server, dropped afterwards, so
    tests (and two test runs) never see each other's tables."""
    base = PG_URL if kind == "postgres" else MARIADB_URL
    admin = server_or_skip(base, kind)
    name = f"sunlight_test_{uuid.uuid4().hex[:12]}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if kind == "postgres":
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            else:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'sunlight.db'}"


@pytest.fixture(params=["sqlite", "postgres", "mariadb"])
def any_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same test on all three backends."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'sunlight.db'}"
        return
    with scratch_database(request.param) as url:
        yield url


@pytest.fixture
def harness(tmp_path: Path, sqlite_url: str) -> Iterator[Harness]:
    h = Harness(load_config(write_config(tmp_path, sqlite_url), environ={}))
    yield h
    h.app.dispose()


# -- record builders ----------------------------------------------------------------------


def item(
    code: str = "XK-1",
    *,
    item_type: str = "licensing",
    promised: int | None = 5,
    legal: int | None = 20,
    unit: str = "working_days",
    fee: float = 0,
    department: str = "市市场监督管理局",
    **attributes: Any,
) -> dict[str, Any]:
    return {
        "type": "item",
        "item_code": code,
        "name": f"测试事项{code}",
        "item_type": item_type,
        "department": department,
        "legal_limit": legal,
        "promised_limit": promised,
        "limit_unit": unit,
        "fee_standard": fee,
        "attributes": attributes,
    }


def case(
    case_id: str, code: str = "XK-1", department: str = "市市场监督管理局", **attributes: Any
) -> dict[str, Any]:
    return {
        "type": "case",
        "case_id": case_id,
        "item_code": code,
        "department": department,
        "applicant": {"name": "张三", "id_number": "110101199001011234", "phone": "13812348000"},
        "attributes": attributes,
    }


def event(case_id: str, kind: str, at: str, *actors: str, **attributes: Any) -> dict[str, Any]:
    return {
        "type": "event",
        "case_id": case_id,
        "kind": kind,
        "at": bj(at).isoformat(),
        "actors": list(actors),
        "attributes": attributes,
    }


def demo_cases(tmp_path: Path, now: datetime, cases: int = 400) -> list[Any]:
    """The demo data set's cases as the reader builds them (through an SQLite file)."""
    from sqlalchemy import select

    from monitor.demo import demo_records
    from monitor.source.reader import SourceReader
    from monitor.state.schema import cases as case_table

    h = Harness(load_config(write_config(tmp_path, f"sqlite:///{tmp_path / 'demo.db'}"), environ={}))
    try:
        h.load(*demo_records(now, cases=cases), now=now)
        with h.app.source.connect() as conn:
            ids = list(conn.execute(select(case_table.c.case_id)).scalars())
        return list(SourceReader(h.app.source).load_cases(ids))
    finally:
        h.app.dispose()


def run_cli(
    config: Path, *args: str, stdin: str | None = None, timeout: float = 120, **env: str
) -> subprocess.CompletedProcess[str]:
    """`sunlight ARGS` in a process of its own, as an operator runs it: the configuration
    from SUNLIGHT_CONFIG, no other SUNLIGHT_ variable of the test run's leaking in."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("SUNLIGHT_")}
    base.update(SUNLIGHT_CONFIG=str(config), **env)
    return subprocess.run(
        [sys.executable, "-m", "monitor.cli", *args],
        capture_output=True,
        text=True,
        env=base,
        input=stdin,
        timeout=timeout,
        check=False,
    )


# -- TLS for the in-process SMTP servers (test_smtp, test_sender_claims) ----------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
    return ctx


@pytest.fixture(scope="module")
def client_tls(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx
