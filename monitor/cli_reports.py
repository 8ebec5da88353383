"""`sunlight report` and `sunlight explain`: the month's performance table, one case in words."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine

from monitor.cli_common import NowOpt, current_config, now_from, open_application
from monitor.config import Config
from monitor.errors import ConfigError, NotFoundError
from monitor.terminal import say
from monitor.timeutil import utcnow

report_commands = typer.Typer()


@report_commands.command()
def report(
    month: Annotated[str, typer.Option("--month", help="YYYY-MM")],
    fmt: Annotated[str, typer.Option("--format", help="table, csv, html or xlsx")] = "table",
    mail: Annotated[
        bool, typer.Option("--mail", help="Queue it as a mail to notify.report_recipients")
    ] = False,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            help="department, item or post (the officers the steps name): the scores and ranking; "
            "type: the table by item type. "
            "Default: both (the csv: by item type)",
        ),
    ] = None,
    scheme_file: Annotated[
        Path | None,
        typer.Option("--scheme", help="Score with this proposed scheme, beside the current one (what-if)"),
    ] = None,
    open_unit: Annotated[
        str | None,
        typer.Option(
            "--open",
            help="A department, DEPARTMENT/ITEM_CODE, or with --by post DEPARTMENT/OFFICER: "
            "list the cards and closed cases behind its score",
        ),
    ] = None,
    public: Annotated[
        bool, typer.Option("--public", help="The public version: no case contents, no personal data")
    ] = False,
    out: Annotated[Path | None, typer.Option("--output", help="Write to this file (xlsx needs one)")] = None,
) -> None:
    """The monthly assessment (绩效评估): scores and ranking under the scoring scheme
    (assessment.scheme), and the table by department and item type."""
    from monitor.cli_assessment import Publication, publish, show_behind

    if fmt not in ("table", "csv", "html", "xlsx"):
        raise ConfigError(f"--format must be table, csv, html or xlsx, not {fmt!r}")
    if by not in (None, "department", "item", "post", "type"):
        raise ConfigError(f"--by must be department, item, post or type, not {by!r}")
    if public and (open_unit is not None or mail):
        raise ConfigError("--public is for publishing the results: not with --open or --mail")
    cfg = current_config()
    application = open_application(cfg)
    try:
        if open_unit is not None:
            show_behind(
                application.state, month, open_unit, cfg.tz, by_post=by == "post", source=application.source
            )
        elif mail:
            _mail(cfg, application.state, month)
        else:
            publication = Publication(month, fmt, by, scheme_file, public, out)
            publish(cfg, application.state, application.source, publication)
    finally:
        application.dispose()


def _mail(cfg: Config, state: Engine, month: str) -> None:
    import hashlib

    from alerts.outbox import insert_notice
    from monitor.report import monthly, to_html

    if not cfg.notify.report_recipients:
        raise ConfigError("notify.report_recipients is empty: nobody to mail the report to")
    subject, text, html = to_html(monthly(state, month, cfg.tz, total=True), month)
    at = utcnow()
    with state.begin() as conn:
        for recipient in cfg.notify.report_recipients:
            tag = hashlib.sha256(recipient.encode()).hexdigest()[:10]
            insert_notice(
                conn,
                alert_id=None,
                kind="report",
                route="report",
                recipient=recipient,
                subject=subject,
                body_text=text,
                body_html=html,
                message_id=f"<sunlight.report.{month}.{tag}@sunlight.local>",
                status="pending",
                created_at=at,
                next_attempt_at=at,
            )
    say(f"report for {month} queued for {len(cfg.notify.report_recipients)} recipient(s)")


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
