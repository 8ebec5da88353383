"""Evidence sentences: a rule's `detail`, Chinese text with `{{ CEL }}` placeholders.

    detail: 实收{{ case.fee_charged }}元，职权目录收费标准为{{ case.item.fee_standard }}元。

A placeholder's value is written for a reader, not a program: numbers without a needless
decimal, times as official documents write them, lists joined with 、. A filter after `|`
names the value: `| step` a step kind's Chinese name, `| date` the date of a time, and any
other word the attribute whose value names apply (`| party_type` gives 自然人 for person).
Placeholders are compiled with the rule set, so a mistake in one is a load error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from monitor.engine.messages import fmt_amount, fmt_date, fmt_duration, fmt_instant

if TYPE_CHECKING:
    from monitor.engine.context import CaseContext
    from monitor.engine.rules import DetailPiece

_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
# A filter is the last `| word`: CEL has `||` but no single `|`.
_FILTER = re.compile(r"^(?P<expr>.*?)(?<!\|)\|(?!\|)\s*(?P<filter>[a-z_]+)\s*$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Part:
    text: str  # literal text (when `expr` is None)
    expr: str | None = None
    filter: str | None = None


def parse_template(source: str) -> tuple[Part, ...]:
    """The literal text and placeholders of a template, in order."""
    parts: list[Part] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(source):
        if m.start() > pos:
            parts.append(Part(source[pos : m.start()]))
        inner = m.group(1).strip()
        found = _FILTER.match(inner)
        if found is not None:
            parts.append(Part("", found["expr"].strip(), found["filter"]))
        else:
            parts.append(Part("", inner))
        pos = m.end()
    if pos < len(source):
        parts.append(Part(source[pos:]))
    return tuple(parts)


def template_expressions(source: str) -> list[str]:
    return [p.expr for p in parse_template(source) if p.expr is not None]


def render_detail(
    ctx: CaseContext, pieces: tuple[DetailPiece, ...], params: dict[str, Any], tz: ZoneInfo
) -> str:
    """The evidence sentence for one case: the pieces whose condition holds. A placeholder the
    record cannot answer says so instead of costing the finding."""
    out: list[str] = []
    for piece in pieces:
        try:
            if piece.when and not ctx.test(piece.when, params):
                continue
        except Exception:  # noqa: BLE001, S112 - evidence that cannot be read is left out, not the finding
            continue
        out.append(_render(ctx, piece.text, params, tz))
    return "".join(out)


def _render(ctx: CaseContext, source: str, params: dict[str, Any], tz: ZoneInfo) -> str:
    out: list[str] = []
    parts = parse_template(source)
    for n, part in enumerate(parts):
        if part.expr is None:
            between = 0 < n < len(parts) - 1
            # Whitespace between two placeholders is only the YAML's line breaks.
            if not (between and not part.text.strip()):
                out.append(part.text)
            continue
        try:
            value = ctx.value(part.expr, params)
        except Exception:  # noqa: BLE001 - a missing attribute must not lose the finding
            out.append("（记录中无此项）")
            continue
        out.append(_written(ctx, value, part.filter, tz))
    return "".join(out)


def _written(ctx: CaseContext, value: Any, name: str | None, tz: ZoneInfo) -> str:
    if isinstance(value, list | tuple):
        return "、".join(_written(ctx, v, name, tz) for v in value) or "无"
    if name == "step" and isinstance(value, str):
        return ctx.vocab.step(value, ctx.case.item)
    if isinstance(value, datetime):
        return fmt_date(value.astimezone(tz).date()) if name == "date" else fmt_instant(value, tz)
    if isinstance(value, timedelta):
        return fmt_duration(value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | float):
        return fmt_amount(value)
    if value is None:
        return "无"
    if name is not None and name not in ("date", "step"):
        return ctx.vocab.value(name, value)
    return str(value)
