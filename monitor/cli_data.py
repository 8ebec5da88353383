"""`sunlight import`, `sunlight demo` and `sunlight source …`: the source's records and health."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from monitor.cli_common import NowOpt, current_config, now_from, open_application
from monitor.errors import ConfigError, NotFoundError
from monitor.terminal import say
from monitor.timeutil import utcnow

data_commands = typer.Typer()
source_app = typer.Typer(help="The source's health: faults that pause evaluation.", no_args_is_help=True)


# -- import and demo ---------------------------------------------------------------------


@data_commands.command("import")
def import_(
    files: Annotated[list[Path], typer.Argument(help="JSON-lines files (- for standard input)")],
) -> None:
    """Load exchange-format records into the source database (idempotent)."""
    from monitor.source.importer import import_records, read_lines

    cfg = current_config()
    application = open_application(cfg)
    if not cfg.database.manages_source:
        raise ConfigError(
            "the source is a separate database that Sunlight does not own; import into it there"
        )
    total_errors = 0
    for path in files:
        if str(path) == "-":
            lines: Any = sys.stdin
        elif not path.exists():
            raise NotFoundError(f"{path}: no such file")
        else:
            # A line that is not UTF-8 is reported by read_lines, not a crash mid-file.
            lines = path.open(encoding="utf-8", errors="surrogateescape")
        report = import_records(application.source, read_lines(lines, str(path)), utcnow())
        for err in report.errors:
            say(err, err=True)
        total_errors += len(report.errors)
        persons = f"; {report.persons} persons loaded" if report.persons else ""
        say(
            f"{path}: {report.items} items, {report.cases} cases, {report.events} events loaded{persons}; "
            f"{report.unchanged} unchanged; {len(report.errors)} bad lines"
        )
    application.dispose()
    if total_errors:
        raise typer.Exit(1)


_DEMO_HELP = (
    "Fill the embedded database with realistic demo data relative to today.\n\n"
    "Only into a database without cases, events or catalogue items: on any other it refuses "
    "(exit 2) and writes nothing, because a second demo would rewrite the first one's cases "
    "under the same case numbers. --reset first removes what an earlier demo loaded and "
    "everything recorded about it (alerts, their history, notices), and refuses data the demo "
    "did not load; --if-empty leaves a database that holds data as it is and exits 0."
)


@data_commands.command(help=_DEMO_HELP)
def demo(
    cases: Annotated[int, typer.Option("--cases", min=1, help="How many cases")] = 400,
    seed: Annotated[int, typer.Option("--seed", help="Random seed")] = 1,
    now: NowOpt = None,
    reset: Annotated[
        bool,
        typer.Option(
            "--reset",
            help="Replace what an earlier `sunlight demo` loaded, with its alerts and notices "
            "(stop the daemon first)",
        ),
    ] = False,
    if_empty: Annotated[
        bool,
        typer.Option("--if-empty", help="On a database that holds data, write nothing and exit 0"),
    ] = False,
) -> None:
    """Fill the embedded database with realistic demo data relative to today."""
    from monitor.demoload import held, load_demo

    if reset and if_empty:
        raise ConfigError("--reset and --if-empty exclude each other")
    cfg = current_config()
    if not cfg.database.manages_source:
        raise ConfigError("the source is a separate database that Sunlight does not own; no demo there")
    application = open_application(cfg, create=True)
    application.prepare_audit()
    at = now_from(now, cfg)
    try:
        if if_empty:
            with application.source.connect() as conn:
                there = held(conn)
            if not there.empty:
                say(f"demo data not loaded: the database already holds {there}")
                return
        loaded = load_demo(application.source, application.state, at, cases, seed, reset=reset)
    finally:
        application.dispose()
    report = loaded.report
    for err in report.errors:
        say(err, err=True)
    if loaded.replaced is not None:
        say(f"removed the earlier demo's {loaded.replaced}, with its alerts and notices")
        # The history restarted from its first row: the anchors of the old one would make
        # every later `audit verify` report a truncation. They are kept, not deleted.
        anchors = cfg.path(cfg.audit.anchor_file)
        if anchors.exists():
            aside = anchors.with_name(f"{anchors.name}.before-reset-{at.astimezone(cfg.tz):%Y%m%d%H%M%S}")
            anchors.replace(aside)
            say(f"the history restarted; the earlier demo's anchors are kept in {aside}")
    say(
        f"demo data as of {at.astimezone(cfg.tz):%Y-%m-%d %H:%M}: {report.items} items, "
        f"{report.cases} cases, {report.events} events loaded; {report.persons} persons in the directory"
    )
    if report.errors:
        raise typer.Exit(1)


# -- source ------------------------------------------------------------------------------


@source_app.command("status")
def source_status() -> None:
    """Each source table: the rows known, when they were seen, and its fault if it has one."""
    from monitor.source.health import TABLE_NAMES, read_known

    cfg = current_config()
    application = open_application(cfg)
    with application.state.connect() as conn:
        known = read_known(conn)
    application.dispose()
    for name in TABLE_NAMES:
        k = known.get(name)
        if k is None:
            say(f"{name}: not checked yet")
        else:
            seen = k.seen_at.astimezone(cfg.tz).isoformat(timespec="seconds")
            say(f"{name}: {k.rows} rows seen at {seen}" + (f"; FAULT: {k.fault}" if k.fault else ""))


@source_app.command("accept")
def source_accept(
    by: Annotated[str, typer.Option("--by", help="Who confirms the source as it is")],
    note: Annotated[str, typer.Option("--note", help="Why: what removed the rows")],
    now: NowOpt = None,
) -> None:
    """Confirm the source as it is now (a genuine mass deletion): evaluation resumes."""
    from monitor.source.health import accept, read_known, wait_for_cursor
    from monitor.state import store

    if not by.strip() or not note.strip():
        raise ConfigError("--by and --note must not be empty")
    cfg = current_config()
    at = now_from(now, cfg)
    application = open_application(cfg)
    try:
        with application.state.begin() as conn:
            wait_for_cursor(conn, at)
            before = read_known(conn)
            cursor = accept(application.source, conn, store.read_cursor(conn), by.strip(), note.strip(), at)
            store.write_cursor(conn, cursor, at)
            after = read_known(conn)
    finally:
        application.dispose()
    for name, k in after.items():
        was = before.get(name)
        say(
            f"{name}: {was.rows if was else 0} -> {k.rows} rows"
            + (" (was at fault)" if was and was.fault else "")
        )
    say(f"source accepted by {by.strip()}; evaluation resumes at the next pass")
