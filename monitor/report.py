"""`sunlight report`: the monthly performance table (绩效评估) by department and item type.

Closed cases come from the per-case state (closed time, outcome against the time limit,
share of the limit used); cards from the alerts whose breach or warning began in the month
(`breached_at`: the deadline passed, the step recorded), not the month the daemon noticed
them — a first start in May puts April's breaches in April. A deadline runs out at 24:00 of
its last day, which is also 00:00 of the next: a red counts in the month of that last day
(the month ending at or after its breach), a yellow in the month its warning began. An alert
whose record holds no such instant counts in the month it was raised. A card an upheld
appeal revoked (撤销, alerts.supervision) stays on record but counts nowhere. Rates are of the
cases closed in the month that a time limit measured (`measured`, 计时办结数): on time
(按时办结率, early included), early (提前办结率), overdue (超期率). A closed case no rule
timed has no outcome (monitor.daemon.outcomes.outcome) and counts in `closed` only; a row with
no measured case shows no rate ("—") rather than 100 %.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Engine, and_, func, or_, select

from alerts.render import render_report
from monitor import vocabulary
from monitor.errors import ConfigError
from monitor.state.schema import alerts, case_state, supervisions

ITEM_TYPE_NAMES = {**vocabulary.ITEM_TYPE_NAMES, "unlisted": "清单外", "all": "全部"}
TOTAL = "合计"  # the department column of the totals row


@dataclass
class Row:
    department: str
    item_type: str
    closed: int = 0
    measured: int = 0  # closed cases with an outcome: the rates' denominator
    on_time: int = 0  # early included
    early: int = 0
    overdue: int = 0
    share_sum: float = 0.0
    share_n: int = 0
    yellow: int = 0
    red: int = 0
    cured: int = 0

    def rate(self, n: int) -> float | None:
        return round(n / self.measured, 4) if self.measured else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "department": self.department,
            "item_type": self.item_type,
            "closed": self.closed,
            "measured": self.measured,
            "on_time": self.on_time,
            "early": self.early,
            "overdue": self.overdue,
            "on_time_rate": self.rate(self.on_time),
            "early_rate": self.rate(self.early),
            "overdue_rate": self.rate(self.overdue),
            "avg_limit_share": round(self.share_sum / self.share_n, 4) if self.share_n else None,
            "yellow": self.yellow,
            "red": self.red,
            "cured": self.cured,
        }


def month_bounds(month: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError as exc:
        raise ConfigError(f"--month {month!r} is not YYYY-MM") from exc
    nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return datetime.combine(first, datetime.min.time(), tz), datetime.combine(nxt, datetime.min.time(), tz)


def began_in(start: datetime, end: datetime) -> ColumnElement[bool]:
    """Alerts whose breach or warning began in [start, end): a red in the period of its
    deadline's last day (a deadline at 24:00 on 30 April is 00:00 on 1 May, and counts in
    April), a yellow in the period its warning began; the raised time where the record
    holds no such instant."""
    began = func.coalesce(alerts.c.breached_at, alerts.c.raised_at)
    return or_(
        and_(alerts.c.level == "red", began > start, began <= end),
        and_(alerts.c.level != "red", began >= start, began < end),
    )


def counted() -> ColumnElement[bool]:
    """The alerts an assessment counts: not a card revoked on an upheld appeal (申诉), which
    stays on record as evidence but does not count against the department."""
    revoked = select(supervisions.c.alert_id).where(supervisions.c.decision == "revoked")
    return alerts.c.id.not_in(revoked)


def monthly(state: Engine, month: str, tz: ZoneInfo, *, total: bool = False) -> list[dict[str, Any]]:
    """One row per department and item type; with `total`, a last row (合计, 全部) of every
    count, its rates computed from the summed counts (not averaged over the rows)."""
    start, end = month_bounds(month, tz)
    rows: dict[tuple[str, str], Row] = {}

    def row(dept: str, item_type: str) -> Row:
        return rows.setdefault((dept, item_type), Row(dept, item_type))

    with state.connect() as conn:
        closed = conn.execute(
            select(
                case_state.c.department,
                case_state.c.item_type,
                case_state.c.outcome,
                case_state.c.limit_share,
            )
            .where(case_state.c.closed_at >= start, case_state.c.closed_at < end)
            .execution_options(yield_per=10_000)
        )
        for dept, item_type, result, share in closed:
            r = row(dept, item_type)
            r.closed += 1
            r.measured += result is not None
            r.on_time += result in ("on_time", "early")
            r.early += result == "early"
            r.overdue += result == "overdue"
            if share is not None:
                r.share_sum += share
                r.share_n += 1
        raised = conn.execute(
            select(
                alerts.c.department,
                case_state.c.item_type,
                alerts.c.level,
                alerts.c.resolved_at,
                alerts.c.closed_by,
            )
            .join(case_state, case_state.c.case_id == alerts.c.case_id, isouter=True)
            .where(began_in(start, end), counted())
        )
        for dept, item_type, level, resolved_at, closed_by in raised:
            r = row(dept, item_type or "unlisted")
            r.yellow += level == "yellow"
            r.red += level == "red"
            r.cured += level == "yellow" and resolved_at is not None and closed_by is None
    out = [rows[k].as_dict() for k in sorted(rows)]
    if total and rows:
        out.append(_summed(rows.values()).as_dict())
    return out


def _summed(rows: Iterable[Row]) -> Row:
    total = Row(TOTAL, "all")
    for r in rows:
        for f in fields(Row):
            if f.name not in ("department", "item_type"):
                setattr(total, f.name, getattr(total, f.name) + getattr(r, f.name))
    return total


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


COLUMNS = [
    ("department", "承办单位"),
    ("item_type", "事项类型"),
    ("closed", "办结数"),
    ("measured", "计时办结数"),
    ("on_time_rate", "按时办结率"),
    ("early_rate", "提前办结率"),
    ("overdue_rate", "超期率"),
    ("avg_limit_share", "平均用时占时限"),
    ("yellow", "黄牌"),
    ("red", "红牌"),
    ("cured", "黄牌已纠正"),
]


def _is_share(key: str) -> bool:
    """Whether the column is a fraction (a rate or the share of the limit used)."""
    return key.endswith("_rate") or key == "avg_limit_share"


def cells(row: dict[str, Any]) -> list[str]:
    out = []
    for key, _ in COLUMNS:
        value = row[key]
        if key == "item_type":
            out.append(ITEM_TYPE_NAMES.get(value, value))
        elif _is_share(key):
            out.append(_pct(value))
        else:
            out.append(str(value))
    return out


# The spreadsheet's columns: every count and rate, in Chinese, rates in per cent.
CSV_COLUMNS = [
    ("department", "承办单位"),
    ("item_type", "事项类型"),
    ("closed", "办结数"),
    ("measured", "计时办结数"),
    ("on_time", "按时办结数"),
    ("early", "提前办结数"),
    ("overdue", "超期办结数"),
    ("on_time_rate", "按时办结率（%）"),
    ("early_rate", "提前办结率（%）"),
    ("overdue_rate", "超期率（%）"),
    ("avg_limit_share", "平均用时占时限（%）"),
    ("yellow", "黄牌"),
    ("red", "红牌"),
    ("cured", "黄牌已纠正"),
]


def to_csv(rows: list[dict[str, Any]]) -> str:
    """Every figure, counts and rates, for a spreadsheet: UTF-8 with a byte-order mark, which
    is what makes Excel read the Chinese right when the file is opened by double-click."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([header for _, header in CSV_COLUMNS])
    writer.writerows(csv_values(row) for row in rows)
    return "\ufeff" + buf.getvalue()


def csv_values(row: dict[str, Any]) -> list[object]:
    """A row's values as the spreadsheet columns hold them: names in Chinese, rates in per
    cent, numbers as numbers, an empty cell where there is no rate."""
    out: list[object] = []
    for key, _ in CSV_COLUMNS:
        value = row[key]
        if key == "item_type":
            out.append(ITEM_TYPE_NAMES.get(value, value))
        elif value is None:
            out.append("")
        elif _is_share(key):
            out.append(round(value * 100, 2))
        else:
            out.append(value)
    return out


def to_html(rows: list[dict[str, Any]], month: str) -> tuple[str, str, str]:
    """Subject, plain text and HTML (inline styles only: mail clients drop style sheets)."""
    text = "\n".join("\t".join(cells(r)) for r in rows)
    content = render_report(
        {"month": month, "headers": [h for _, h in COLUMNS], "rows": [cells(r) for r in rows]}
    )
    return content.subject, "\t".join(h for _, h in COLUMNS) + "\n" + text + "\n", content.html
