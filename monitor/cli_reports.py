"""`sunlight report` and `sunlight explain`: the month's performance table, one case in words."""

from __future__ import annotations

from typing import Annotated

import typer

from monitor.cli_common import NowOpt, current_config, now_from, open_application
from monitor.errors import ConfigError, NotFoundError
from monitor.terminal import cell, say
from monitor.timeutil import utcnow

report_commands = typer.Typer()


@report_commands.command()
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
    cfg = current_config()
    application = open_application(cfg)
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


@report_commands.command()
def explain(case_id: str, now: NowOpt = None) -> None:
    """A case's timeline, clocks and findings, in words."""
    from monitor.engine import evaluate
    from monitor.engine.messages import fmt_instant
    from monitor.explain import explain_text

    cfg = current_config()
    application = open_application(cfg)
    holder = application.holder()
    reader = application.pipeline(holder).reader
    found = list(reader.load_cases([case_id]))
    application.dispose()
    case = found[0] if found else None
    if case is None or (not case.events and case.item_code == ""):
        raise NotFoundError(f"no case with the id {case_id!r}")
    at = now_from(now, cfg)
    ev = evaluate(case, holder.rules(), holder.calendar(), at, cfg.tz)
    say(f"（截至{fmt_instant(at, cfg.tz)}，北京时间）")
    say(explain_text(case, ev, holder.calendar(), holder.rules().vocabulary, cfg.tz, refs=True))
