"""The ranking as the office publishes it: a terminal table and a spreadsheet (UTF-8 with a
byte-order mark, Chinese headers), with a what-if column when a proposed scheme is tried."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence

from monitor.assessment.scheme import RateIndicator, Scheme
from monitor.assessment.score import Part, Score


def _value(part: Part, rate: bool) -> str:
    if part.value is None:
        return "不参评"
    return f"{part.value * 100:.1f}%" if rate else str(int(part.value))


def _signed(change: float | None) -> str:
    return "—" if change is None else f"{change:+.2f}"


def headers(scheme: Scheme, by: str, baseline: Mapping[str, Score] | None = None) -> list[str]:
    out = ["排名", UNIT_HEADERS[by], "得分", "较上月", "本年累计"]
    for ind in scheme.indicators:
        out += [ind.name, f"{ind.name}扣分"]
    if baseline is not None:
        out += ["现行方案得分", "现行方案排名"]
    return out


def rows(
    scheme: Scheme, scores: Sequence[Score], baseline: Mapping[str, Score] | None = None
) -> list[list[str]]:
    """One row of text per unit, in rank order; `baseline`: the current scheme's scores, by unit."""
    kinds = {ind.id: isinstance(ind, RateIndicator) for ind in scheme.indicators}
    out = []
    for s in scores:
        row = [str(s.rank), s.unit, f"{s.score:.2f}", _signed(s.change)]
        row.append("—" if s.year_score is None else f"{s.year_score:.2f}")
        for part in s.parts:
            row += [_value(part, kinds[part.indicator]), f"{part.lost:.2f}"]
        if baseline is not None:
            old = baseline.get(s.unit)
            row += ["—", "—"] if old is None else [f"{old.score:.2f}", str(old.rank)]
        out.append(row)
    return out


def compact(scores: Sequence[Score]) -> list[list[str]]:
    """The ranking for a terminal: the score and where its points went, one line a unit."""
    out = []
    for s in scores:
        lost = "；".join(f"{p.name} −{p.lost:g}" for p in s.parts if p.lost > 0) or "—"
        year = "—" if s.year_score is None else f"{s.year_score:.2f}"
        out.append([str(s.rank), s.unit, f"{s.score:.2f}", _signed(s.change), year, lost])
    return out


UNIT_HEADERS = {"department": "承办单位", "item": "承办单位 / 事项编码", "post": "承办单位 / 岗位（承办人）"}


def compact_headers(by: str) -> list[str]:
    return ["排名", UNIT_HEADERS[by], "得分", "较上月", "本年累计", "扣分"]


def to_csv(
    scheme: Scheme, by: str, scores: Sequence[Score], baseline: Mapping[str, Score] | None = None
) -> str:
    """The ranking for a spreadsheet: a byte-order mark so Excel reads the Chinese right."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(headers(scheme, by, baseline))
    writer.writerows(rows(scheme, scores, baseline))
    return "\ufeff" + buf.getvalue()
