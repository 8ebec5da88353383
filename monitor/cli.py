"""The `sunlight` command line: the app, `run` and `db upgrade`; the other commands live in
monitor/cli_*.py and monitor/audit_cli.py by command group and are registered here, in the
order `sunlight --help` lists them.

Exit codes: 0 fine, 1 failure, 2 bad usage or bad configuration, each with a one-line reason
on standard error.
"""

from __future__ import annotations

import logging
import sys
from datetime import datetime
from typing import Annotated, Any

import typer

from monitor.audit_cli import audit_app
from monitor.cli_alerts import alerts_app
from monitor.cli_calendar import calendar_app
from monitor.cli_common import ConfigOpt, NowOpt, current_config, now_from, open_application, remember_config
from monitor.cli_data import data_commands, source_app
from monitor.cli_people import people_commands
from monitor.cli_reports import report_commands
from monitor.cli_rules import rules_commands
from monitor.cli_supervision import supervision_app
from monitor.cli_users import users_app
from monitor.cli_web import web_commands
from monitor.config import Config
from monitor.errors import SunlightError
from monitor.logs import setup_logging
from monitor.terminal import say

app = typer.Typer(
    help="Sunlight (阳光监察): electronic supervision of administrative power.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.callback()
def _main(config: ConfigOpt = None) -> None:
    remember_config(config)


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
    cfg = current_config()
    setup_logging(cfg.daemon.log_format, cfg.daemon.log_level)
    if not once:
        # The daemon waits for an unreachable database instead of failing (Daemon.run), and
        # prepares the history's key once the database answers.
        from monitor.app import build
        from monitor.startup import check_files

        check_files(cfg, create=init)
        fixed = now_from(now, cfg) if now is not None else None
        _daemon(cfg, build(cfg, create=init), fixed).run(init=init)
        return
    from alerts.dispatch import deliver_all
    from monitor.daemon.poll import poll_once

    at = now_from(now, cfg)
    application = open_application(cfg, create=init)
    application.prepare_audit()
    daemon = _daemon(cfg, application, at)
    result = poll_once(daemon.pipeline, at)
    calendar = daemon.holder.calendar()
    sent = deliver_all(
        application.state,
        daemon.outlets,
        cfg.notify,
        calendar,
        at,
        cfg.tz,
        console_url=cfg.web.base_url,
        reach=application.reach(),
    )
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


# -- db --------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the schema to the newest revision."""
    cfg = current_config()
    application = open_application(cfg, create=True)
    keys = application.prepare_audit()
    application.dispose()
    say(f"schema is up to date; history signed with key {keys.current.key_id}")


# Nameless groups add their commands to the top level: run, import, demo, check, test-rules,
# backtest, report, explain, web, people; then the named groups.
app.add_typer(data_commands)
app.add_typer(rules_commands)
app.add_typer(report_commands)
app.add_typer(web_commands)
app.add_typer(people_commands)
app.add_typer(alerts_app, name="alerts")
app.add_typer(db_app, name="db")
app.add_typer(calendar_app, name="calendar")
app.add_typer(supervision_app, name="supervision")
app.add_typer(audit_app, name="audit")
app.add_typer(source_app, name="source")
app.add_typer(users_app, name="users")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app()  # standalone: usage errors print their reason and exit 2
    except SunlightError as exc:
        say(f"sunlight: {exc}", err=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
