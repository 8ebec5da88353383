"""Engines and schema upgrades for the source and state databases."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text

from monitor.errors import ConfigError

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLES = {"source": "sunlight_source_version", "state": "sunlight_state_version"}
Branch = Literal["source", "state"]


def make_engine(url: str) -> Engine:
    """An engine with the settings each backend needs for a long-running daemon."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
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
    elif url.startswith(("mysql", "mariadb")):
        connect_args["init_command"] = "SET time_zone = '+00:00'"
    try:
        return create_engine(url, pool_pre_ping=True, pool_recycle=1800, connect_args=connect_args)
    except Exception as exc:
        raise ConfigError(f"cannot use database URL {_redact(url)}: {exc}") from exc


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


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
