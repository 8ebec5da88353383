"""Minimum intervals between two steps (听证的七日前通知, a decision only after the period to
ask for a hearing has run out)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from monitor.calendar import WorkCalendar
from monitor.engine import rules as r
from monitor.engine.context import CaseContext, finding_for
from monitor.engine.deadline import _span_end
from monitor.engine.messages import fmt_date, fmt_deadline, fmt_instant, unit_label
from monitor.model import Case, Finding, LimitUnit
from monitor.timeutil import local_date, start_of_day


def min_interval(
    rule: r.MinIntervalRule,
    case: Case,
    ctx: CaseContext,
    params: dict[str, Any],
    cal: WorkCalendar,
    now: datetime,
    tz: ZoneInfo,
) -> Iterator[Finding]:
    """A finding when the `to` event came too early after `from`.

    "听证的七日前通知": notified on the 1st, the hearing may be held on the 8th (the 7th day
    counted) but not on the 7th. With `whole_period` the period must have run out first (a
    decision only after the party's 5 days to ask for a hearing are over): from the day
    after its last day."""
    froms = ctx.matching(case.events, rule.from_, params)
    if not froms:
        return
    first = froms[0]
    tos = [e for e in ctx.matching(case.events, rule.to, params) if e.at >= first.at]
    if not tos or tos[0].at > ctx.horizon:
        return  # nothing yet, or a step timed in the future (a data-quality finding)
    amount, unit = rule.at_least.amount, rule.at_least.unit
    end = _span_end(first.at, amount, unit, cal, tz)
    if unit is LimitUnit.HOURS or rule.whole_period:
        bound = end
    else:
        bound = start_of_day(local_date(end - timedelta(microseconds=1), tz), tz)  # the last day
    to = tos[0]
    if to.at >= bound or id(to) in ctx.contested or id(first) in ctx.contested:
        return
    span = f"{amount}{unit_label(unit)}"
    began = f"{ctx.name_of(first, rule.from_)}于{fmt_instant(first.at, tz)}"
    came = f"{ctx.name_of(to, rule.to)}于{fmt_instant(to.at, tz)}"
    if rule.whole_period:
        text = f"{began}，{span}的期间至{fmt_deadline(end, tz)}届满；{came}，早于期间届满。"
    elif unit is LimitUnit.HOURS:
        text = f"{began}，须满{span}（至{fmt_deadline(end, tz)}）；{came}，间隔不足。"
    else:
        last = fmt_date(local_date(bound, tz))
        text = f"{began}，{ctx.names(rule.to)[0]}最早应在其后第{span}即{last}；{came}，间隔不足{span}。"
    yield finding_for(rule, rule.level, text, since=to.at)
