"""Engines and schema upgrades for the source and state databases."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect, text

from monitor.errors import ConfigError
from monitor.urls import redact

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLES = {"source": "sunlight_source_version", "state": "sunlight_state_version"}
Branch = Literal["source", "state"]


CONNECT_TIMEOUT = 10  # seconds: a server that does not answer is unreachable, not slow


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for another database or an in-memory one."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1] if "///" in url else ""
    return Path(path) if path and path != ":memory:" else None


def make_engine(url: str, *, create: bool = False) -> Engine:
    """An engine with the settings each backend needs for a long-running daemon.

    A SQLite file is opened read-write only (`mode=rw`): a mistyped path is an error at the
    first connection, never a new empty database that the daemon would then supervise.
    Only `create=True` (`db upgrade`, `demo`, `run --init`) may make the file."""
    path = sqlite_path(url)
    if url.startswith("sqlite"):
        if path is not None and create:
            path.parent.mkdir(parents=True, exist_ok=True)
        elif path is not None:
            url = f"sqlite:///file:{quote(str(path))}?mode=rw&uri=true"
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            # WAL lets the CLI read while the daemon writes; NORMAL is durable under WAL.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    # Sessions in UTC: a timestamptz column or a view's NOW() must mean the same instant to
    # every host, whatever the server's or the client's own zone is.
    connect_args: dict[str, Any] = {}
    if url.startswith("postgresql"):
        # No JIT: a batch's statements are short, and the planner's estimate for reading five
        # thousand whole cases passes the JIT threshold, whose compiling then costs more than
        # the query (12 of 110 ms, measured at two million cases).
        connect_args["options"] = "-c timezone=UTC -c jit=off"
        connect_args["connect_timeout"] = CONNECT_TIMEOUT
    elif url.startswith(("mysql", "mariadb")):
        connect_args["init_command"] = "SET time_zone = '+00:00'"
        connect_args["connect_timeout"] = CONNECT_TIMEOUT
    try:
        return create_engine(url, pool_pre_ping=True, pool_recycle=1800, connect_args=connect_args)
    except Exception as exc:
        raise ConfigError(f"cannot use database URL {redact(url)}: {exc}") from exc


def _config(branch: Branch) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["version_table"] = VERSION_TABLES[branch]
    return cfg


def upgrade(engine: Engine, branch: Branch) -> None:
    """Bring one branch of the schema to its newest revision (idempotent)."""
    cfg = _config(branch)
    with engine.begin() as conn:
        # Replicas starting together must not both create the tables: serialise on a lock.
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(74661570)"))
        elif conn.dialect.name in ("mysql", "mariadb"):
            conn.execute(text("SELECT GET_LOCK('sunlight_schema', 120)"))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, f"{branch}@head")
        if conn.dialect.name in ("mysql", "mariadb"):
            conn.execute(text("SELECT RELEASE_LOCK('sunlight_schema')"))


def is_current(engine: Engine, branch: Branch) -> bool:
    cfg = _config(branch)
    script = ScriptDirectory.from_config(cfg)
    head = script.revision_map.get_current_head(branch)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLES[branch]})
        return head in set(ctx.get_current_heads())


def has_schema(engine: Engine, branch: Branch) -> bool:
    """Whether the database holds this branch of Sunlight's schema (its version table)."""
    with engine.connect() as conn:
        return inspect(conn).has_table(VERSION_TABLES[branch])
