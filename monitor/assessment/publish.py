"""The assessment as it is published: an HTML page with charts (the intranet, the public
website with `public`), and an Excel workbook. Both are built from the same scores as the
table and the CSV, so every published figure can be opened into the record behind it."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy import Engine

from monitor.assessment import charts, output
from monitor.assessment.scheme import RateIndicator, Scheme
from monitor.assessment.score import UNIT_NAMES, By, Score, figures_of, ranked
from monitor.report import month_bounds
from monitor.vocabulary import CATEGORY_NAMES


@dataclass(frozen=True, slots=True)
class Year:
    """The year to the month, month by month: for the trend chart."""

    months: tuple[str, ...]
    average: tuple[float | None, ...]  # the units' mean score; None: nothing scored
    red: tuple[int, ...]  # red cards whose breach began in the month


def year_of(
    state: Engine, scheme: Scheme, month: str, tz: ZoneInfo, by: By, source: Engine | None = None
) -> Year:
    year, last = int(month[:4]), int(month[5:7])
    months, average, red = [], [], []
    for m in range(1, last + 1):
        label = f"{year}-{m:02d}"
        start, end = month_bounds(label, tz)
        figures = figures_of(state, source, start, end, by)
        scores = ranked(scheme, figures, by)
        months.append(f"{m}月")
        average.append(round(sum(s.score for s in scores) / len(scores), 2) if scores else None)
        red.append(sum(sum(t.red.values()) for t in figures.values()))
    return Year(tuple(months), tuple(average), tuple(red))


def categories(scores: Sequence[Score]) -> list[tuple[str, float]]:
    """Cards of the month by category, most first."""
    total: Counter[str] = Counter()
    for s in scores:
        total.update(s.tally.red)
        total.update(s.tally.yellow)
    return [(CATEGORY_NAMES.get(k, k), float(n)) for k, n in total.most_common()]


def to_html(
    scheme: Scheme,
    by: By,
    month: str,
    scores: Sequence[Score],
    year: Year,
    type_headers: Sequence[str],
    type_rows: Sequence[Sequence[str]],
    *,
    public: bool,
    now: datetime,
    tz: ZoneInfo,
) -> str:
    what = UNIT_NAMES[by]
    y, m = int(month[:4]), int(month[5:7])
    title = f"{y}年{m}月{what}电子监察绩效评估结果"
    made = now.astimezone(tz)
    env = Environment(
        loader=PackageLoader("monitor.assessment", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
    )
    return env.get_template("report.html.j2").render(
        title=title,
        subtitle=f"{scheme.title}；{'公开版；' if public else ''}"
        f"生成于{made.year}年{made.month}月{made.day}日",
        headers=output.compact_headers(by),
        rows=output.compact(scores),
        ranking_chart=charts.bars(f"{month} 得分排名", [(s.unit, s.score) for s in scores], scheme.base),
        trend_chart=charts.line(f"{y}年各月平均得分", year.months, year.average),
        category_chart=charts.bars(f"{month} 红黄牌按类别分布", categories(scores), unit="张"),
        type_headers=type_headers,
        type_rows=type_rows,
        public=public,
        scheme_note=_scheme_note(scheme),
    )


def _scheme_note(scheme: Scheme) -> str:
    parts = []
    for ind in scheme.indicators:
        if isinstance(ind, RateIndicator):
            parts.append(f"{ind.name}权重{ind.weight:g}分（按未达部分扣分）")
        else:
            cap = f"，最多扣{ind.cap:g}分" if ind.cap else ""
            parts.append(f"{ind.name}每项扣{ind.points_each:g}分{cap}")
    return f"评分办法：基础分{scheme.base:g}分；" + "；".join(parts) + "。"


def to_xlsx(
    scheme: Scheme,
    by: By,
    month: str,
    scores: Sequence[Score],
    type_sheet: tuple[Sequence[str], Sequence[Sequence[Any]]],
) -> bytes:
    """The ranking and the table by item type as an Excel workbook (numbers as numbers)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "得分排名"
    header = output.headers(scheme, by)
    sheet.append([f"{month} {UNIT_NAMES[by]}绩效评估得分与排名（{scheme.title}）"])
    sheet.append(header)
    kinds = {ind.id: isinstance(ind, RateIndicator) for ind in scheme.indicators}
    for s in scores:
        row: list[Any] = [s.rank, s.unit, s.score, s.change, s.year_score]
        for part in s.parts:
            row += [part.value if part.value is not None else "不参评", part.lost]
        sheet.append(row)
        for i, part in enumerate(s.parts):
            if kinds[part.indicator] and part.value is not None:
                sheet.cell(row=sheet.max_row, column=6 + 2 * i).number_format = "0.0%"
    bold, grey = Font(bold=True), PatternFill("solid", fgColor="F0F0F0")
    sheet["A1"].font = Font(bold=True, size=14)
    for cell in sheet[2]:
        cell.font, cell.fill = bold, grey
    sheet.freeze_panes = "C3"
    sheet.column_dimensions["B"].width = 28
    headers, rows = type_sheet
    types = book.create_sheet("按事项类型")
    types.append(list(headers))
    for r in rows:
        types.append(list(r))
    for cell in types[1]:
        cell.font, cell.fill = bold, grey
    types.freeze_panes = "A2"
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()
