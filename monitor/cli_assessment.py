"""What `sunlight report` prints or writes: the ranking under the scoring scheme (with a
proposed scheme beside it), the table by item type, what a score rests on, and the
published page and workbook."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from monitor.assessment import output
from monitor.assessment.scheme import Scheme, load_scheme
from monitor.assessment.score import UNIT_NAMES, By, Score, assess
from monitor.config import Config
from monitor.errors import ConfigError
from monitor.terminal import cell, say
from monitor.timeutil import utcnow


@dataclass(frozen=True, slots=True)
class Publication:
    month: str
    fmt: str  # table, csv, html, xlsx
    by: str | None  # department, item, post, type; None: the ranking by department and the type table
    proposed: Path | None  # a scheme to try beside the current one
    public: bool
    out: Path | None


def console() -> Any:
    """Rich's console; wide enough for the whole table when written to a file or a pipe
    (Rich would cut every column to fit 80 characters)."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 240)


def _write(text: str | bytes, out: Path | None) -> None:
    if out is not None:
        if isinstance(text, bytes):
            out.write_bytes(text)
        else:
            out.write_text(text, encoding="utf-8")
        say(f"written {out}", err=True)
    elif isinstance(text, bytes):
        if sys.stdout.isatty():
            raise ConfigError("--format xlsx writes a workbook: give --output FILE.xlsx")
        sys.stdout.buffer.write(text)
        sys.stdout.buffer.flush()
    else:
        say(text, nl=False)


def _scheme(cfg: Config, proposed: Path | None) -> Scheme | None:
    path = cfg.scheme_path()
    if proposed is None and cfg.assessment.scheme is None and not path.exists():
        return None  # no scheme in place: the table by item type only
    return load_scheme(proposed or path)


def publish(cfg: Config, state: Engine, source: Engine, p: Publication) -> None:
    from monitor.report import COLUMNS, cells, monthly, to_csv, to_html

    scheme = _scheme(cfg, p.proposed)
    unit: By = p.by if p.by in ("item", "post") else "department"  # type: ignore[assignment]
    ranking = scheme is not None and p.by != "type"
    if p.public and p.by == "post":
        raise ConfigError("--public --by post: the officers' names are personal data, not for the public")
    if scheme is None and (p.by in ("department", "item", "post") or p.fmt == "xlsx" or p.public):
        raise ConfigError(f"no scoring scheme at {cfg.scheme_path()}: set assessment.scheme")
    scores = assess(state, scheme, p.month, cfg.tz, unit, source) if ranking and scheme is not None else []
    baseline = None
    if p.proposed is not None and cfg.scheme_path().exists():
        current = load_scheme(cfg.scheme_path())
        baseline = {s.unit: s for s in assess(state, current, p.month, cfg.tz, unit, source)}
    rows = monthly(state, p.month, cfg.tz, total=True) if p.by in (None, "type") else []
    if p.fmt == "csv":
        if ranking and p.by is not None and scheme is not None:
            _write(output.to_csv(scheme, unit, scores, baseline), p.out)
        else:
            _write(to_csv(rows), p.out)
    elif p.fmt == "html":
        if scheme is None or p.by == "type":
            _write(to_html(rows, p.month)[2] + "\n", p.out)
        else:
            from monitor.assessment.publish import to_html as page
            from monitor.assessment.publish import year_of

            year = year_of(state, scheme, p.month, cfg.tz, unit, source)
            html = page(
                scheme, unit, p.month, scores, year, [h for _, h in COLUMNS], [cells(r) for r in rows],
                public=p.public, now=utcnow(), tz=cfg.tz,
            )  # fmt: skip
            _write(html, p.out)
    elif p.fmt == "xlsx":
        from monitor.assessment.publish import to_xlsx
        from monitor.report import CSV_COLUMNS, csv_values

        assert scheme is not None
        sheet = (
            [h for _, h in CSV_COLUMNS],
            [csv_values(r) for r in monthly(state, p.month, cfg.tz, total=True)],
        )
        _write(to_xlsx(scheme, unit, p.month, scores, sheet), p.out)
    else:
        if ranking and scheme is not None:
            console().print(_table(scheme, unit, p, scores, baseline))
        if p.by in (None, "type"):
            from rich.table import Table

            table = Table(title=cell(f"{p.month} 绩效评估（按承办单位、事项类型）"))
            for _, header in COLUMNS:
                table.add_column(header)
            for row in rows:
                table.add_row(*map(cell, cells(row)))
            console().print(table)


def _table(
    scheme: Scheme, by: By, p: Publication, scores: list[Score], baseline: dict[str, Score] | None
) -> Any:
    from rich.table import Table

    what = UNIT_NAMES[by]
    title = f"{p.month} {what}绩效评估得分与排名（{scheme.title}{'，拟用方案' if p.proposed else ''}）"
    table = Table(title=cell(title))
    headers, body = (
        (output.compact_headers(by), output.compact(scores))
        if baseline is None
        else (output.headers(scheme, by, baseline), output.rows(scheme, scores, baseline))
    )
    for header in headers:
        table.add_column(cell(header))
    for row in body:
        table.add_row(*map(cell, row))
    return table


def show_behind(
    state: Engine, month: str, unit: str, tz: ZoneInfo, *, by_post: bool = False, source: Engine | None = None
) -> None:
    """What a unit's score was computed from: every card and closed case, by time."""
    from rich.table import Table

    from monitor.assessment.figures import behind
    from monitor.engine.messages import fmt_deadline, fmt_instant
    from monitor.report import month_bounds
    from monitor.vocabulary import CATEGORY_NAMES

    department, _, item = unit.partition("/")
    start, end = month_bounds(month, tz)
    second = item.strip() or None
    if by_post:  # DEPARTMENT/OFFICER: the cases whose steps name that person or post
        found = behind(state, start, end, department.strip(), officer=second, source=source)
    else:
        found = behind(state, start, end, department.strip(), second)
    table = Table(title=cell(f"{month} {unit} 得分依据（{len(found)}项）"))
    for header in ("时间", "类别", "办件编号", "事项编码", "预警编号", "预警类型", "内容"):
        table.add_column(cell(header))
    for b in found:
        kind = CATEGORY_NAMES.get(b.category, b.category) if b.category else ""
        # A red's breach is a deadline running out: 24:00 of its last day, as the law counts.
        when = fmt_deadline(b.at, tz) if b.what == "红牌" else fmt_instant(b.at, tz)
        table.add_row(*map(cell, (when, b.what, b.case_id, b.item_code, b.alert_id or "", kind, b.title)))
    console().print(table)
