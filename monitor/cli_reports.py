"""`sunlight report` and `sunlight explain`: the month's performance table, one case in words."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from sqlalchemy import Engine

from monitor.cli_common import NowOpt, current_config, now_from, open_application
from monitor.config import Config
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
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            help="department or item: the scores and ranking (csv too); type: the table by item type. "
            "Default: both as tables, the type table as csv and html",
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
            help="A department (or DEPARTMENT/ITEM_CODE): list the cards and closed cases behind its score",
        ),
    ] = None,
) -> None:
    """The monthly performance table (绩效评估) by department and item type, with the scores
    and ranking of the scoring scheme (assessment.scheme)."""
    from monitor.report import COLUMNS, cells, monthly, to_csv, to_html

    if fmt not in ("table", "csv", "html"):
        raise ConfigError(f"--format must be table, csv or html, not {fmt!r}")
    if by not in (None, "department", "item", "type"):
        raise ConfigError(f"--by must be department, item or type, not {by!r}")
    cfg = current_config()
    application = open_application(cfg)
    if open_unit is not None:
        _open(application.state, month, open_unit, cfg.tz)
        application.dispose()
        return
    if by in ("department", "item") or (by is None and fmt == "table" and not mail):
        ranking = _ranking(
            cfg, application.state, month, "item" if by == "item" else "department", scheme_file
        )
        if fmt == "csv":
            application.dispose()
            say(ranking.csv, nl=False)
            return
        if ranking.table is not None:
            _console().print(ranking.table)
        if by is not None:
            application.dispose()
            return
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
        from rich.table import Table

        table = Table(title=cell(f"{month} 绩效评估"))
        for _, header in COLUMNS:
            table.add_column(header)
        for row in rows:
            table.add_row(*map(cell, cells(row)))
        _console().print(table)


def _console() -> Any:
    """Rich's console; wide enough for the whole table when written to a file or a pipe
    (Rich would cut every column to fit 80 characters)."""
    import sys

    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 240)


def _open(state: Engine, month: str, unit: str, tz: Any) -> None:
    """What a unit's score was computed from: every card and closed case, by time."""
    from rich.table import Table

    from monitor.assessment.figures import behind
    from monitor.engine.messages import fmt_deadline, fmt_instant
    from monitor.report import month_bounds
    from monitor.vocabulary import CATEGORY_NAMES

    department, _, item = unit.partition("/")
    start, end = month_bounds(month, tz)
    found = behind(state, start, end, department.strip(), item.strip() or None)
    table = Table(title=cell(f"{month} {unit} 得分依据（{len(found)}项）"))
    for header in ("时间", "类别", "办件编号", "事项编码", "预警编号", "预警类型", "内容"):
        table.add_column(cell(header))
    for b in found:
        kind = CATEGORY_NAMES.get(b.category, b.category) if b.category else ""
        # A red's breach is a deadline running out: 24:00 of its last day, as the law counts.
        when = fmt_deadline(b.at, tz) if b.what == "红牌" else fmt_instant(b.at, tz)
        table.add_row(*map(cell, (when, b.what, b.case_id, b.item_code, b.alert_id or "", kind, b.title)))
    _console().print(table)


@dataclass(frozen=True, slots=True)
class _Ranking:
    csv: str
    table: Any


def _ranking(
    cfg: Config, state: Engine, month: str, by: Literal["department", "item"], proposed: Path | None
) -> _Ranking:
    """The scores and ranking; with a proposed scheme, its ranking beside the current one."""
    from rich.table import Table

    from monitor.assessment import output
    from monitor.assessment.scheme import load_scheme
    from monitor.assessment.score import assess

    current_path = cfg.scheme_path()
    if proposed is None and cfg.assessment.scheme is None and not current_path.exists():
        return _Ranking("", None)  # no scheme: the table by type only
    scheme = load_scheme(proposed or current_path)
    scores = assess(state, scheme, month, cfg.tz, by)
    baseline = None
    if proposed is not None and current_path.exists():
        baseline = {s.unit: s for s in assess(state, load_scheme(current_path), month, cfg.tz, by)}
    what = "部门" if by == "department" else "事项"
    title = f"{month} {what}绩效评估得分与排名（{scheme.title}{'，拟用方案' if proposed else ''}）"
    table = Table(title=cell(title))
    if baseline is None:
        for header in output.COMPACT:
            table.add_column(cell(header))
        for row in output.compact(scores):
            table.add_row(*map(cell, row))
    else:
        for header in output.headers(scheme, by, baseline):
            table.add_column(cell(header))
        for row in output.rows(scheme, scores, baseline):
            table.add_row(*map(cell, row))
    return _Ranking(output.to_csv(scheme, by, scores, baseline), table)


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
