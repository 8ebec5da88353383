"""Opening the databases: each failure one line that says what, where and what to do.

Only `sunlight db upgrade`, `sunlight demo` and `sunlight run --init` create a database
(`create=True`). Everywhere else a SQLite file that does not exist, or a database without
Sunlight's schema, is refused: a mistyped path must not become an empty database that the
daemon then supervises, reporting nothing wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Engine, inspect, text

from monitor.app import App, build
from monitor.config import Config
from monitor.errors import StartupError, UnreachableError
from monitor.metrics import Metrics
from monitor.source.health import TABLE_NAMES
from monitor.state.db import has_schema, sqlite_path
from monitor.urls import redact

Which = Literal["state", "source"]
CREATE_HINT = "create it with `sunlight db upgrade`"
# Server answers that waiting cannot change: PostgreSQL SQLSTATEs (bad password, no such
# database, no such role) and MariaDB error numbers (access denied, unknown database).
PERMANENT_SQLSTATES = frozenset({"28P01", "28000", "3D000"})
PERMANENT_MYSQL = frozenset({1044, 1045, 1049, 1698})
# psycopg gives no SQLSTATE for a refused connection, only the server's FATAL line.
PERMANENT_PG_TEXT = ("does not exist", "password authentication failed", "no pg_hba.conf entry")


def dependency(which: Which) -> str:
    return f"{which}_db"


def url_of(cfg: Config, which: Which) -> str:
    return cfg.state_url if which == "state" else cfg.source_url


def check_files(cfg: Config, *, create: bool, only: tuple[Which, ...] = ("state", "source")) -> None:
    """A SQLite database that should exist, does."""
    for which in only:
        path = sqlite_path(url_of(cfg, which))
        if path is not None and not create and not path.is_file():
            raise StartupError(
                f"no database at {path} (the {which} database, {cfg.database_origin(which)}); {CREATE_HINT}"
            )


def reason(exc: BaseException) -> str:
    """The driver's own first line, without SQLAlchemy's wrapping and links."""
    orig = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(orig).splitlines() if line.strip()]
    return lines[0] if lines else type(orig).__name__


def _permanent(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", None)
    if getattr(orig, "sqlstate", None) in PERMANENT_SQLSTATES:
        return True
    if "FATAL:" in str(orig) and any(text in str(orig) for text in PERMANENT_PG_TEXT):
        return True
    args: tuple[object, ...] = getattr(orig, "args", ())
    return len(args) > 0 and args[0] in PERMANENT_MYSQL


def reach(cfg: Config, engine: Engine, which: Which) -> None:
    """Connect and ask one trivial question; raise UnreachableError (worth waiting for) or
    StartupError (a SQLite file that cannot be opened, a refused login)."""
    url = url_of(cfg, which)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        where = f"the {which} database at {redact(url)} ({cfg.database_origin(which)})"
        if engine.dialect.name == "sqlite":
            raise StartupError(f"cannot open {where}: {reason(exc)}") from exc
        if _permanent(exc):
            raise StartupError(f"{where} refused: {reason(exc)}; fix the URL or the account") from exc
        raise UnreachableError(
            dependency(which),
            f"{where} is unreachable: {reason(exc)}; check that the server runs and the URL is right",
        ) from exc


def engines(app: App) -> list[tuple[Which, Engine]]:
    """The state database, and the source database when it is another one."""
    out: list[tuple[Which, Engine]] = [("state", app.state)]
    if app.source is not app.state:
        out.append(("source", app.source))
    return out


def reach_all(app: App) -> None:
    for which, engine in engines(app):
        reach(app.config, engine, which)


def prepare_schema(app: App, *, create: bool) -> None:
    """Refuse a database without Sunlight's schema unless asked to create it; upgrade it
    when `database.auto_upgrade` (or creating) says so."""
    cfg = app.config
    wanted: list[tuple[Which, Engine]] = [("state", app.state)]
    if cfg.database.manages_source:
        wanted.append(("source", app.source))
    for which, engine in wanted:
        if not create and not has_schema(engine, which):
            raise StartupError(
                f"no Sunlight schema in the {which} database at {redact(url_of(cfg, which))} "
                f"({cfg.database_origin(which)}); "
                f"{CREATE_HINT} (or start the daemon with `sunlight run --init`)"
            )
    if not cfg.database.manages_source:
        present = set(inspect(app.source).get_table_names()) | set(inspect(app.source).get_view_names())
        missing = [t for t in TABLE_NAMES if t not in present]
        if missing:
            raise StartupError(
                f"the source database at {redact(cfg.source_url)} ({cfg.database_origin('source')}) has no "
                f"table or view {', '.join(missing)}; create the views of docs/data-model.md"
            )
    if create or cfg.database.auto_upgrade:
        app.upgrade()


def open_app(cfg: Config, *, create: bool = False, metrics: Metrics | None = None) -> App:
    """The engines of a command that uses the databases now, or a one-line StartupError."""
    check_files(cfg, create=create)
    app = build(cfg, metrics, create=create)
    try:
        reach_all(app)
        prepare_schema(app, create=create)
    except BaseException:
        app.dispose()
        raise
    return app


@dataclass(frozen=True, slots=True)
class Probe:
    """One line of `sunlight check --connect`."""

    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{self.name}: {'ok' if self.ok else 'FAILED'}: {self.detail}"


def probe_database(cfg: Config, which: Which) -> Probe:
    url = url_of(cfg, which)
    name = dependency(which)
    try:
        check_files(cfg, create=False, only=(which,))
        app = build(cfg)
    except StartupError as exc:
        return Probe(name, False, str(exc))
    try:
        engine = app.state if which == "state" else app.source
        reach(cfg, engine, which)
        if (which == "state" or cfg.database.manages_source) and not has_schema(engine, which):
            return Probe(name, False, f"{redact(url)}: no Sunlight schema; {CREATE_HINT}")
    except StartupError as exc:
        return Probe(name, False, str(exc))
    except Exception as exc:  # noqa: BLE001 - reported as the line's reason
        return Probe(name, False, f"{redact(url)}: {reason(exc)}")
    finally:
        app.dispose()
    return Probe(name, True, redact(url))
