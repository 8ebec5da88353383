"""The `sunlight` command line.

Exit codes: 0 fine, 1 failure, 2 bad usage or bad configuration, each with a one-line reason
on standard error.
"""

from __future__ import annotations

import difflib
import logging
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from sqlalchemy import select

from monitor.audit_cli import audit_app
from monitor.config import Config, load_config
from monitor.errors import ConfigError, NotFoundError, SunlightError
from monitor.logs import setup_logging
from monitor.terminal import cell, json_text, say
from monitor.timeutil import parse_instant, utcnow

app = typer.Typer(
    help="Sunlight (阳光监察): electronic supervision of administrative power.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
alerts_app = typer.Typer(help="List alerts and act on them.", invoke_without_command=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
calendar_app = typer.Typer(help="The working-day calendar.", no_args_is_help=True)
source_app = typer.Typer(help="The source's health: faults that pause evaluation.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")
app.add_typer(db_app, name="db")
app.add_typer(calendar_app, name="calendar")
app.add_typer(audit_app, name="audit")
app.add_typer(source_app, name="source")

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="config.yaml (default: SUNLIGHT_CONFIG or ./config.yaml)"),
]
NowOpt = Annotated[
    str | None, typer.Option("--now", help="Evaluate as of this instant (ISO 8601; default: now)")
]


class _State:
    config_path: Path | None = None


_state = _State()


@app.callback()
def _main(config: ConfigOpt = None) -> None:
    _state.config_path = config


def _config() -> Config:
    return load_config(_state.config_path)


def _now(value: str | None, cfg: Config) -> datetime:
    if value is None:
        return utcnow()
    try:
        return parse_instant(value, cfg.tz)
    except ValueError as exc:
        raise ConfigError(f"--now: {value!r} is not an ISO 8601 time") from exc


def _app(cfg: Config, *, create: bool = False) -> Any:
    """The databases, reached and with Sunlight's schema (upgraded with auto_upgrade); only
    `db upgrade`, `demo` and `run --init` pass create=True (monitor.startup)."""
    from monitor.startup import open_app

    return open_app(cfg, create=create)


def _out(value: Any) -> None:
    typer.echo(json_text(value))


# -- run -------------------------------------------------------------------------------


@app.command()
def run(
    once: Annotated[bool, typer.Option("--once", help="One pass (and one send), then exit")] = False,
    now: NowOpt = None,
    init: Annotated[
        bool, typer.Option("--init", help="Create the database and its schema if they do not exist")
    ] = False,
) -> None:
    """Run the daemon: poll the source, evaluate, raise alerts, send notices."""
    cfg = _config()
    setup_logging(cfg.daemon.log_format, cfg.daemon.log_level)
    if not once:
        # The daemon waits for an unreachable database instead of failing (Daemon.run), and
        # prepares the history's key once the database answers.
        from monitor.app import build
        from monitor.startup import check_files

        check_files(cfg, create=init)
        fixed = _now(now, cfg) if now is not None else None
        _daemon(cfg, build(cfg, create=init), fixed).run(init=init)
        return
    from alerts.dispatch import deliver_all
    from monitor.daemon.poll import poll_once

    at = _now(now, cfg)
    application = _app(cfg, create=init)
    application.prepare_audit()
    daemon = _daemon(cfg, application, at)
    result = poll_once(daemon.pipeline, at)
    calendar = daemon.holder.calendar()
    sent = deliver_all(application.state, daemon.notifier, cfg.notify, calendar, at, cfg.tz)
    daemon.anchor()
    say(
        f"pass as of {at.astimezone(cfg.tz).isoformat()}: {result.events_read} events, "
        f"{result.cases_evaluated} cases evaluated, {result.transitions} alert changes, "
        f"{result.notices} notices queued, {sent.sent} sent ({result.seconds:.2f}s)"
    )
    application.dispose()
    if result.source_fault is not None:
        say(result.source_fault, err=True)
        raise typer.Exit(1)


def _daemon(cfg: Config, application: Any, fixed_now: datetime | None) -> Any:
    """The daemon, its rules loaded: a broken rule folder is one line naming it."""
    from monitor.daemon.run import Daemon
    from monitor.errors import RuleError, StartupError

    try:
        return Daemon(application, fixed_now=fixed_now)
    except RuleError as exc:
        application.dispose()
        more = f" (and {len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""
        raise StartupError(
            f"the rules in {cfg.path(cfg.rules.path)} ({cfg.origin('rules.path')}) do not load: "
            f"{exc.problems[0]}{more}; run `sunlight check` for the whole list"
        ) from exc
    except BaseException:
        application.dispose()
        raise


# -- import and demo ---------------------------------------------------------------------


@app.command("import")
def import_(
    files: Annotated[list[Path], typer.Argument(help="JSON-lines files (- for standard input)")],
) -> None:
    """Load exchange-format records into the source database (idempotent)."""
    from monitor.source.importer import import_records, read_lines

    cfg = _config()
    application = _app(cfg)
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
        say(
            f"{path}: {report.items} items, {report.cases} cases, {report.events} events loaded; "
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


@app.command(help=_DEMO_HELP)
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
    cfg = _config()
    if not cfg.database.manages_source:
        raise ConfigError("the source is a separate database that Sunlight does not own; no demo there")
    application = _app(cfg, create=True)
    application.prepare_audit()
    at = _now(now, cfg)
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
        f"{report.cases} cases, {report.events} events loaded"
    )
    if report.errors:
        raise typer.Exit(1)


# -- alerts ------------------------------------------------------------------------------


@alerts_app.callback()
def alerts_list(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    level: Annotated[str | None, typer.Option("--level", help="yellow or red")] = None,
    state: Annotated[str | None, typer.Option("--state", help="open, acknowledged or resolved")] = None,
) -> None:
    """List alerts (newest first)."""
    if ctx.invoked_subcommand is not None:
        return
    if fmt not in ("table", "json"):
        raise ConfigError(f"--format must be table or json, not {fmt!r}")
    if level not in (None, "yellow", "red"):
        raise ConfigError(f"--level must be yellow or red, not {level!r}")
    if state not in (None, "open", "acknowledged", "resolved"):
        raise ConfigError(f"--state must be open, acknowledged or resolved, not {state!r}")
    from monitor.state.schema import alerts

    cfg = _config()
    application = _app(cfg)
    query = select(alerts).order_by(alerts.c.raised_at.desc(), alerts.c.id.desc())
    if level:
        query = query.where(alerts.c.level == level)
    if state:
        query = query.where(alerts.c.state == state)
    with application.state.connect() as conn:
        rows = [_alert_dict(r, cfg) for r in conn.execute(query)]
    application.dispose()
    if fmt == "json":
        _out(rows)
        return
    _table(rows)


def _alert_dict(r: Any, cfg: Config) -> dict[str, Any]:
    def t(v: datetime | None) -> str | None:
        return v.astimezone(cfg.tz).isoformat() if v else None

    return {
        "id": r.id,
        "case_id": r.case_id,
        "item_code": r.item_code,
        "department": r.department,
        "rule": r.rule_id,
        "title": r.title,
        "category": r.category,
        "level": r.level,
        "state": r.state,
        "raised_at": t(r.raised_at),
        "escalated_at": t(r.escalated_at),
        "resolved_at": t(r.resolved_at),
        "due": t(r.due),
        "message": r.message,
    }


def _table(rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_lines=False)
    for name in ("id", "level", "state", "category", "case_id", "department", "rule", "raised_at"):
        table.add_column(name)
    colours = {"red": "bold red", "yellow": "yellow"}
    for r in rows:
        # Cells are Text, never markup: a case number may hold `[/]` or `[link=...]`.
        table.add_row(
            cell(r["id"]),
            cell(r["level"], colours.get(r["level"], "")),
            cell(r["state"]),
            cell(r["category"]),
            cell(r["case_id"]),
            cell(r["department"]),
            cell(r["rule"]),
            cell((r["raised_at"] or "")[:16]),
        )
    Console().print(table)
    say(f"{len(rows)} alerts")


@alerts_app.command("show")
def alerts_show(alert_id: int) -> None:
    """One alert with its whole history."""
    from monitor.state.schema import alert_history, alerts

    cfg = _config()
    application = _app(cfg)
    with application.state.connect() as conn:
        row = conn.execute(select(alerts).where(alerts.c.id == alert_id)).first()
        if row is None:
            raise NotFoundError(f"no alert with the id {alert_id}")
        hist = conn.execute(
            select(alert_history)
            .where(alert_history.c.alert_id == alert_id)
            .order_by(alert_history.c.chain_seq)
        ).all()
    application.dispose()
    body = _alert_dict(row, cfg)
    body["history"] = [
        {
            "seq": h.chain_seq,
            "at": h.at.astimezone(cfg.tz).isoformat(),
            "action": h.action,
            "level": h.level,
            "actor": h.actor,
            "detail": h.detail,
        }
        for h in hist
    ]
    _out(body)


@alerts_app.command("ack")
def alerts_ack(
    alert_id: int,
    by: Annotated[str, typer.Option("--by", help="Who acknowledges")],
    note: Annotated[str, typer.Option("--note", help="Why, or what was done")],
    now: NowOpt = None,
) -> None:
    """Acknowledge an open alert, recording who and why."""
    _act(alert_id, "acknowledged", by, note, now, "acknowledged", ("open",))


@alerts_app.command("close")
def alerts_close(
    alert_id: int,
    by: Annotated[str, typer.Option("--by", help="Who closes it")],
    note: Annotated[str, typer.Option("--note", help="Why")],
    now: NowOpt = None,
) -> None:
    """Close an alert after handling (it stays on record and is never reopened)."""
    _act(alert_id, "closed", by, note, now, "resolved", ("open", "acknowledged"))


@alerts_app.command("silence")
def alerts_silence(
    until: Annotated[str, typer.Option("--until", help="Until when (ISO 8601, Beijing time if no offset)")],
    reason: Annotated[str, typer.Option("--reason", help="Why the notices are held back")],
    by: Annotated[str, typer.Option("--by", help="Who decides it")],
    case: Annotated[str | None, typer.Option("--case", help="One case, by its number")] = None,
    rule: Annotated[str | None, typer.Option("--rule", help="One rule, by its id")] = None,
    department: Annotated[str | None, typer.Option("--department", help="One department")] = None,
    now: NowOpt = None,
) -> None:
    """Hold back the notices of a case, a rule or a department until a time (the alerts are
    still raised and recorded; the notices are kept with the status `silenced`)."""
    from alerts import silences

    chosen = [(s, v) for s, v in (("case", case), ("rule", rule), ("department", department)) if v]
    if len(chosen) != 1:
        raise ConfigError("give exactly one of --case, --rule or --department")
    [(scope, value)] = chosen
    cfg = _config()
    if scope == "rule":
        from monitor.engine import load_ruleset

        loaded = load_ruleset(cfg.path(cfg.rules.path), frozenset(cfg.notify.routes))
        known = {r.id for f in loaded.files for r in f.spec.rules}
        if value not in known:
            hint = difflib.get_close_matches(value, sorted(known), n=1)
            raise ConfigError(
                f"--rule {value!r}: no such rule" + (f" (did you mean {hint[0]!r}?)" if hint else "")
            )
    try:
        ends = parse_instant(until, cfg.tz)
    except ValueError as exc:
        raise ConfigError(f"--until: {until!r} is not an ISO 8601 time") from exc
    application = _app(cfg)
    application.prepare_audit()  # the silence is recorded in the history
    at = _now(now, cfg)
    with application.state.begin() as conn:
        silence_id = silences.add(conn, cast(silences.Scope, scope), value, ends, reason, by, at)
    application.dispose()
    shown = ends.astimezone(cfg.tz).isoformat()
    say(f"silence {silence_id}: notices for {scope} {value} held back until {shown}")


def _act(
    alert_id: int,
    action: str,
    by: str,
    note: str,
    now: str | None,
    state: str,
    allowed: tuple[str, ...],
) -> None:
    from alerts.lifecycle import act
    from monitor.state.schema import alerts

    if not by.strip() or not note.strip():
        raise ConfigError("--by and --note must not be empty: the record needs who and why")
    cfg = _config()
    application = _app(cfg)
    application.prepare_audit()  # the action is recorded in the history
    at = _now(now, cfg)
    with application.state.begin() as conn:
        act(conn, alert_id, action, by.strip(), note.strip(), at, state, allowed)
        if action == "closed":
            conn.execute(
                alerts.update().where(alerts.c.id == alert_id).values(closed_by=by.strip(), resolved_at=at)
            )
    application.dispose()
    say(f"alert {alert_id} {action} by {by.strip()}")


# -- check, explain, db, calendar, audit -------------------------------------------------------


@app.command()
def check(
    path: Annotated[
        Path | None, typer.Argument(help="A rule file or folder (default: the configured rules)")
    ] = None,
    connect: Annotated[
        bool,
        typer.Option("--connect", help="Also reach the state and source databases and the SMTP server"),
    ] = False,
) -> None:
    """Check the configuration and the rule files; exit 2 listing every error. With
    --connect, one line per database and the SMTP server; exit 1 if one fails."""
    from monitor.calendar.overlay import read_overlays
    from monitor.calendar.sources import check_lines
    from monitor.calendar.workdays import build_calendar
    from monitor.engine import load_ruleset
    from monitor.errors import RuleError
    from monitor.timeutil import local_date

    cfg = _config()
    target = path or cfg.path(cfg.rules.path)
    try:
        rules = load_ruleset(target, frozenset(cfg.notify.routes))
    except RuleError as exc:
        for problem in exc.problems:
            say(problem, err=True)
        say(f"{len(exc.problems)} error(s) in {target}", err=True)
        raise typer.Exit(2) from exc
    from alerts.audit.keys import key_problems

    key_errors, key_notes = key_problems(cfg)
    if key_errors:
        for problem in key_errors:
            say(problem, err=True)
        say(f"{len(key_errors)} error(s) in the audit key configuration", err=True)
        raise typer.Exit(2)
    overlays, covered = read_overlays(cfg.path(cfg.rules.calendar))
    calendar = build_calendar(overlays, covered)
    line, warnings = check_lines(calendar, overlays, covered, local_date(utcnow(), cfg.tz))
    say(f"ok: configuration valid; {rules.rule_count} rules in {len(rules.files)} files; {line}")
    for warning in warnings:
        say(warning)
    for note in key_notes:
        say(note)
    if connect and not _connect_lines(cfg):
        raise typer.Exit(1)


def _connect_lines(cfg: Config) -> bool:
    """`check --connect`: each dependency on one line; True when all answered."""
    from monitor.startup import Probe, probe_database

    probes = [probe_database(cfg, "state"), probe_database(cfg, "source")]
    smtp = cfg.notify.smtp
    if smtp.url is None:
        probes.append(Probe("smtp", True, f"not used: notices are written to {cfg.path(cfg.notify.eml_dir)}"))
    else:
        from alerts.notify.smtp import SmtpNotifier
        from monitor.errors import UnreachableError

        notifier = SmtpNotifier(smtp)
        try:
            notifier.probe()
            probes.append(Probe("smtp", True, f"{notifier.where} answered EHLO"))
        except UnreachableError as exc:
            probes.append(Probe("smtp", False, str(exc)))
    for probe in probes:
        say(probe.line(), err=not probe.ok)
    return all(p.ok for p in probes)


@app.command("test-rules")
def test_rules(
    path: Annotated[
        Path | None, typer.Argument(help="A rule folder (its tests/ are run) or one fixture file")
    ] = None,
    show: Annotated[bool, typer.Option("--show", help="Print every finding's sentence")] = False,
) -> None:
    """Run the rule tests (YAML fixtures); exit 1 when one fails, 2 when a file is invalid."""
    from monitor.calendar import load_calendar
    from monitor.engine import load_ruleset
    from monitor.engine.ruletest import locate, run_fixtures
    from monitor.errors import RuleError

    cfg = _config()
    folder, files = locate(path or cfg.path(cfg.rules.path))
    if not files:
        raise ConfigError(f"{folder}: no rule tests (tests/*.yaml)")
    try:
        rules = load_ruleset(folder, frozenset(cfg.notify.routes))
        outcomes = run_fixtures(files, rules, load_calendar(cfg.path(cfg.rules.calendar)), cfg.tz)
    except RuleError as exc:
        for problem in exc.problems:
            say(problem, err=True)
        raise typer.Exit(2) from exc
    failed = [o for o in outcomes if not o.ok]
    if show:
        for o in outcomes:
            say(f"{'ok  ' if o.ok else 'FAIL'} {o.file.name}: {o.name}")
            for line in o.said:
                say(f"  {line}")
    for o in failed:
        say(f"FAIL {o.file.name}: {o.name}", err=True)
        for line in o.missing:
            say(f"  expected but not raised: {line}", err=True)
        for line in o.unexpected:
            say(f"  raised but not expected: {line}", err=True)
        for line in o.wrong_words:
            say(f"  wrong words: {line}", err=True)
    say(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise typer.Exit(1)


@app.command()
def backtest(
    from_: Annotated[str, typer.Option("--from", help="First day of the window (YYYY-MM-DD)")],
    to: Annotated[str, typer.Option("--to", help="Last day of the window (YYYY-MM-DD)")],
    rules: Annotated[Path | None, typer.Option("--rules", help="The proposed rule folder")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Replay recorded history under a proposed rule set and compare with the current one."""
    from rich.progress import Progress

    from monitor.backtest import backtest as run_backtest
    from monitor.backtest import cases_in_window
    from monitor.engine import load_ruleset
    from monitor.errors import RuleError

    cfg = _config()
    try:
        start, end = date.fromisoformat(from_), date.fromisoformat(to)
    except ValueError as exc:
        raise ConfigError(f"--from and --to must be dates (YYYY-MM-DD): {exc}") from exc
    if end < start:
        raise ConfigError("--to is before --from")
    if fmt not in ("table", "json"):
        raise ConfigError(f"--format must be table or json, not {fmt!r}")
    application = _app(cfg)
    holder = application.holder()
    routes = frozenset(cfg.notify.routes)
    try:
        proposed = load_ruleset(rules, routes) if rules is not None else holder.rules()
    except RuleError as exc:
        for problem in exc.problems:
            say(problem, err=True)
        raise typer.Exit(2) from exc
    ids = cases_in_window(application.source, start, end, cfg.tz)
    until = min(datetime.combine(end, datetime.max.time(), tzinfo=cfg.tz), utcnow())
    reader = application.pipeline(holder).reader
    with Progress(disable=fmt == "json", transient=True) as progress:
        task = progress.add_task("replaying cases", total=len(ids))
        report = run_backtest(
            reader,
            ids,
            holder.rules(),
            proposed,
            holder.calendar(),
            until,
            cfg.tz,
            lambda n: progress.advance(task, n),
        )
    application.dispose()
    _backtest_output(report, fmt)


def _backtest_output(report: Any, fmt: str) -> None:
    keys = sorted(set(report.current) | set(report.proposed))
    rows = [
        {
            "rule": r,
            "department": d,
            "level": lv,
            "current": report.current[(r, d, lv)],
            "proposed": report.proposed[(r, d, lv)],
        }
        for r, d, lv in keys
    ]
    changes = [
        {
            "case_id": c.case_id,
            "department": c.department,
            "only_current": c.only_current,
            "only_proposed": c.only_proposed,
        }
        for c in report.changes
    ]
    if fmt == "json":
        _out(
            {"cases": report.cases, "by_rule": rows, "changed_cases": changes, "truncated": report.truncated}
        )
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=cell(f"{report.cases} cases replayed"))
    for name in ("rule", "department", "level", "current", "proposed", "change"):
        table.add_column(name)
    for r in rows:
        delta = r["proposed"] - r["current"]
        table.add_row(
            *map(cell, (r["rule"], r["department"], r["level"], r["current"], r["proposed"], f"{delta:+d}"))
        )
    Console().print(table)
    say(f"{len(changes)} cases would change")
    for c in changes[:50]:
        say(f"  {c['case_id']} ({c['department']}): -{c['only_current']} +{c['only_proposed']}")


@app.command()
def report(
    month: Annotated[str, typer.Option("--month", help="YYYY-MM")],
    fmt: Annotated[str, typer.Option("--format", help="table, csv or html")] = "table",
    mail: Annotated[
        bool, typer.Option("--mail", help="Queue it as a mail to notify.report_recipients")
    ] = False,
) -> None:
    """The monthly performance table (绩效评估) by department and item type."""
    from monitor.report import COLUMNS, cells, monthly, to_csv, to_html

    if fmt not in ("table", "csv", "html"):
        raise ConfigError(f"--format must be table, csv or html, not {fmt!r}")
    cfg = _config()
    application = _app(cfg)
    rows = monthly(application.state, month, cfg.tz)
    if mail:
        import hashlib

        from alerts.outbox import insert_notice

        if not cfg.notify.report_recipients:
            raise ConfigError("notify.report_recipients is empty: nobody to mail the report to")
        subject, text, html = to_html(rows, month)
        at = utcnow()
        with application.state.begin() as conn:
            for recipient in cfg.notify.report_recipients:
                insert_notice(
                    conn,
                    alert_id=None,
                    kind="report",
                    route="report",
                    recipient=recipient,
                    subject=subject,
                    body_text=text,
                    body_html=html,
                    message_id=f"<sunlight.report.{month}.{hashlib.sha256(recipient.encode()).hexdigest()[:10]}@sunlight.local>",
                    status="pending",
                    created_at=at,
                    next_attempt_at=at,
                )
        say(f"report for {month} queued for {len(cfg.notify.report_recipients)} recipient(s)")
    application.dispose()
    if fmt == "csv":
        say(to_csv(rows), nl=False)
    elif fmt == "html":
        say(to_html(rows, month)[2])
    elif not mail:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=cell(f"{month} 绩效评估"))
        for _, header in COLUMNS:
            table.add_column(header)
        for row in rows:
            table.add_row(*map(cell, cells(row)))
        Console().print(table)


@app.command()
def explain(case_id: str, now: NowOpt = None) -> None:
    """A case's timeline, clocks and findings, in words."""
    from monitor.engine import evaluate
    from monitor.engine.messages import fmt_instant
    from monitor.explain import explain_text

    cfg = _config()
    application = _app(cfg)
    holder = application.holder()
    reader = application.pipeline(holder).reader
    found = list(reader.load_cases([case_id]))
    application.dispose()
    case = found[0] if found else None
    if case is None or (not case.events and case.item_code == ""):
        raise NotFoundError(f"no case with the id {case_id!r}")
    at = _now(now, cfg)
    ev = evaluate(case, holder.rules(), holder.calendar(), at, cfg.tz)
    say(f"（截至{fmt_instant(at, cfg.tz)}，北京时间）")
    say(explain_text(case, ev, holder.calendar(), holder.rules().vocabulary, cfg.tz, refs=True))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the schema to the newest revision."""
    cfg = _config()
    application = _app(cfg, create=True)
    keys = application.prepare_audit()
    application.dispose()
    say(f"schema is up to date; history signed with key {keys.current.key_id}")


@calendar_app.command("due")
def calendar_due(
    start: str,
    amount: int,
    unit: Annotated[str, typer.Option("--unit", help="working_days or natural_days")] = "working_days",
    roll_over_holidays: Annotated[bool, typer.Option("--roll-over-holidays")] = False,
) -> None:
    """The last day of AMOUNT days counted from START (the start day is not counted)."""
    from monitor.calendar import load_calendar

    cfg = _config()
    try:
        day = date.fromisoformat(start)
    except ValueError as exc:
        raise ConfigError(f"START {start!r} is not a date (YYYY-MM-DD)") from exc
    if unit not in ("working_days", "natural_days"):
        raise ConfigError(f"--unit must be working_days or natural_days, not {unit!r}")
    if amount < 0:
        raise ConfigError("AMOUNT must not be negative")
    cal = load_calendar(cfg.path(cfg.rules.calendar))
    if unit == "working_days":
        due = cal.add_working_days(day, amount)
        # As the clock asks: may a notice not yet published move a day the count looked at?
        provisional = cal.provisional_between(day, due)
    else:
        plain = day + timedelta(days=amount)
        due = cal.add_natural_days(day, amount, roll_over_holidays=roll_over_holidays)
        provisional = roll_over_holidays and cal.provisional_between(plain - timedelta(days=1), due)
    span = (due - day).days
    _out(
        {
            "due": due.isoformat(),
            "provisional": provisional,
            "ends_at": f"{due.isoformat()}T24:00 {cfg.timezone}",
            "start": day.isoformat(),
            "amount": amount,
            "unit": unit,
            # Working days: the rest days inside the period; natural days: those the roll-over
            # stepped over at its end.
            "rest_days_skipped": span - cal.working_days_between(day, due)
            if unit == "working_days"
            else span - amount,
            "calendar_known_until": cal.known_until.isoformat(),
        }
    )


@calendar_app.command("show")
def calendar_show(year: int) -> None:
    """The year's holidays, rest weekdays and make-up working days: each with its source,
    whether a notice may still change it (provisional), and what the other sources say."""
    from monitor.calendar.overlay import read_overlays
    from monitor.calendar.sources import DayReport, year_report
    from monitor.calendar.workdays import INDEX_FIRST, INDEX_LAST, build_calendar

    cfg = _config()
    if not INDEX_FIRST.year <= year <= INDEX_LAST.year:
        raise ConfigError(f"YEAR {year} is outside the calendar ({INDEX_FIRST.year}..{INDEX_LAST.year})")
    overlays, covered = read_overlays(cfg.path(cfg.rules.calendar))
    cal = build_calendar(overlays, covered)
    report = year_report(cal, overlays, covered, year)

    def entry(r: DayReport) -> dict[str, Any]:
        out: dict[str, Any] = {
            "date": r.day.isoformat(),
            "weekday": "一二三四五六日"[r.day.weekday()],
            "name": r.name,
            "source": r.source,
            "provisional": r.provisional,
            "also": [{"source": o.source, "workday": o.workday, "name": o.name} for o in r.others],
        }
        if r.disagree:
            out["disagree"] = [f"{o.source}: {_status(o.workday, o.name)}" for o in r.disagree]
        return out

    body: dict[str, Any] = {
        "year": year,
        # What settles the year; without a notice, the law's holidays and Sunlight's 补假.
        "notice": report.notice or "none: statutory holidays from 全国年节及纪念日放假办法, 调休 unknown",
        "provisional": bool(report.provisional),
        "provisional_days": [f"{a}..{b}" for a, b in report.provisional],
        "known_until": cal.known_until.isoformat(),
        "rest_days": [entry(r) for r in report.days if not r.workday],
        "working_days": [entry(r) for r in report.days if r.workday],
        "disagreements": sum(1 for r in report.days if r.disagree),
        "law_check": list(report.law_problems),
    }
    if report.holidays_note:
        body["note"] = report.holidays_note
    _out(body)


def _status(workday: bool, name: str) -> str:
    status = "工作日" if workday else "休息"
    return status if name in ("工作日", "周末") else f"{status}（{name}）"


@source_app.command("status")
def source_status() -> None:
    """Each source table: the rows known, when they were seen, and its fault if it has one."""
    from monitor.source.health import TABLE_NAMES, read_known

    cfg = _config()
    application = _app(cfg)
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
    cfg = _config()
    at = _now(now, cfg)
    application = _app(cfg)
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


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app()  # standalone: usage errors print their reason and exit 2
    except SunlightError as exc:
        say(f"sunlight: {exc}", err=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
