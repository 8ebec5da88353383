"""Deadline rules: where a clock starts and stops, its pauses and extension, and the
findings about them — all counted by `run_clock`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from monitor.calendar import WorkCalendar
from monitor.engine import rules as r
from monitor.engine.clock import ClockSpec, Pause, run_clock
from monitor.engine.context import CaseContext, finding_for
from monitor.engine.messages import deadline_message, fmt_deadline, unit_label
from monitor.model import Case, Category, ClockReport, Event, Finding, Level, LimitUnit
from monitor.timeutil import days, end_of_day, local_date, start_of_day, to_utc


def _span_end(start: datetime, amount: int, unit: LimitUnit, cal: WorkCalendar, tz: ZoneInfo) -> datetime:
    """The instant `amount` units counted from `start` run out: what `run_clock` gives as the
    deadline of a clock without pauses, extension or roll-over (tests/test_clock.py holds
    the two to the same answer), counted directly because every licensing case asks twice."""
    if unit is LimitUnit.HOURS:
        return (to_utc(start) + timedelta(hours=amount)).astimezone(tz)
    day = local_date(start, tz)
    last = cal.add_working_days(day, amount) if unit is LimitUnit.WORKING_DAYS else day + days(amount)
    return end_of_day(last, tz)


def deadline(
    rule: r.DeadlineRule,
    case: Case,
    ctx: CaseContext,
    params: dict[str, Any],
    cal: WorkCalendar,
    now: datetime,
    tz: ZoneInfo,
) -> Iterator[Finding | ClockReport]:
    if rule.when and not ctx.test(rule.when, params):
        return
    clock = rule.clock
    starts = ctx.matching(case.events, clock.start, params)
    start: Event | None = starts[0] if starts else None
    deemed_note = ""
    if clock.deemed_start is not None:
        start, deemed_note, waiting_until = _deemed(
            clock.deemed_start, case, ctx, params, start, cal, now, tz
        )
        if start is None:
            if waiting_until is not None:  # nothing yet, but the deemed start is a coming change
                yield _waiting(rule, waiting_until)
            return
    if start is None:
        return
    later = tuple(e for e in case.events if e.at >= start.at and e is not start)
    stops = ctx.matching(later, clock.stop, params)
    stop = stops[0] if stops else None
    amount, unit = _limit(rule, case)
    if amount is None:
        name = {"promised": "承诺时限", "legal": "法定时限"}.get(str(clock.limit), "时限")
        yield finding_for(rule, Level.YELLOW, f"事项“{case.item_code}”在职权目录中没有{name}，无法计算时限。")
        return
    pauses = _pauses(clock, later, stop, ctx, params)
    overrun_next = None
    if clock.pause is not None:
        findings, overrun_next = _pause_overruns(rule, clock.pause, pauses, cal, now, tz)
        yield from findings
    yellow = rule.yellow
    spec = ClockSpec(
        amount,
        unit,
        clock.roll_over_holidays,
        yellow.share if yellow else None,
        yellow.left if yellow else None,
    )
    stop_at = stop.at if stop else None
    result = run_clock(spec, start.at, stop_at, pauses, 0, cal, now, tz)
    extension, ext_findings = _extension(rule, later, stop, result.due)
    yield from ext_findings
    if extension:
        result = run_clock(spec, start.at, stop_at, pauses, extension, cal, now, tz)

    def reason() -> str:
        return deadline_message(rule.title, result, unit, stop is not None, tz) + deemed_note

    next_change = min((t for t in (result.next_change, overrun_next) if t is not None), default=None)
    yield ClockReport(
        rule.id,
        rule.title,
        unit,
        result.limit,
        start.at,
        stop_at,
        result.due,
        result.due_day.isoformat() if result.due_day else "",
        result.used,
        tuple((p.start, p.end, p.reason) for p in pauses),
        result.skipped_rest_days,
        extension,
        result.provisional,
        result.level,
        reason,
        next_change,
        rule.category,
    )
    if result.level is not None:
        yield finding_for(rule, result.level, reason(), result.due)


def _deemed(
    deemed: r.DeemedStart,
    case: Case,
    ctx: CaseContext,
    params: dict[str, Any],
    start: Event | None,
    cal: WorkCalendar,
    now: datetime,
    tz: ZoneInfo,
) -> tuple[Event | None, str, datetime | None]:
    """(start event, note for the message, when the deemed start will happen if still pending).

    行政许可法 art. 32: an application neither accepted, refused nor answered with a
    correction notice within the period counts as accepted on the day it was received."""
    origins = ctx.matching(case.events, deemed.event, params)
    if not origins:
        return start, "", None
    origin = origins[0]
    window_end = _span_end(origin.at, deemed.within, deemed.unit, cal, tz)
    answers = [e for e in ctx.matching(case.events, deemed.unless, params) if e.at >= origin.at]
    if answers and answers[0].at < window_end:
        return start, "", None  # answered in time: the clock starts at the real acceptance
    if now < window_end:
        return start, "", window_end  # not answered yet, but still in time
    unit = unit_label(deemed.unit)
    note = f"（收件后{deemed.within}{unit}内未作受理决定，视为自收件之日起受理）"
    return origin, note, None


def _waiting(rule: r.DeadlineRule, until: datetime) -> ClockReport:
    def reason() -> str:
        return f"{rule.title}：尚未起算，如至 {fmt_deadline(until)} 仍未答复，视为自收件之日起受理。"

    return ClockReport(
        rule.id,
        rule.title,
        LimitUnit.WORKING_DAYS,
        None,
        None,
        None,
        None,
        "",
        None,
        (),
        0,
        0,
        False,
        None,
        reason,
        until,
        rule.category,
    )


def _limit(rule: r.DeadlineRule, case: Case) -> tuple[int | None, LimitUnit]:
    clock = rule.clock
    item = case.item
    unit = item.limit_unit if clock.unit == "catalogue" and item else clock.unit
    if not isinstance(unit, LimitUnit):
        return None, LimitUnit.WORKING_DAYS
    if isinstance(clock.limit, int):
        return clock.limit, unit
    if item is None:
        return None, unit
    if clock.limit == "promised":
        return (item.promised_limit if item.promised_limit is not None else item.legal_limit), unit
    return item.legal_limit, unit


def _pauses(
    clock: r.ClockDef, later: tuple[Event, ...], stop: Event | None, ctx: CaseContext, params: dict[str, Any]
) -> tuple[Pause, ...]:
    if clock.pause is None:
        return ()
    window = tuple(e for e in later if stop is None or e.at <= stop.at)
    begins = ctx.matching(window, clock.pause.begin, params)
    ends = ctx.matching(window, clock.pause.end, params)
    out: list[Pause] = []
    for begin in begins:
        if out and (out[-1].end is None or out[-1].end > begin.at):
            continue  # a pause inside a running pause adds nothing
        end = next((o for o in ends if o.at >= begin.at), None)
        out.append(Pause(begin.at, end.at if end else None, str(begin.attributes.get("reason", begin.kind))))
    return tuple(out)


def _pause_overruns(
    rule: r.DeadlineRule,
    spec: r.PauseSpec,
    pauses: tuple[Pause, ...],
    cal: WorkCalendar,
    now: datetime,
    tz: ZoneInfo,
) -> tuple[list[Finding], datetime | None]:
    """Findings for pauses longer than their maximum (暂停超期), and when a running pause
    will overrun."""
    findings: list[Finding] = []
    next_change = None
    for p in pauses:
        limit = spec.limit_for(p.reason)
        if limit is None:
            continue
        end = _span_end(p.start, limit.amount, limit.unit, cal, tz)
        if (p.end or now) >= end:
            span = f"{limit.amount}{unit_label(limit.unit)}"
            state = "已结束" if p.end else "仍未恢复"
            findings.append(
                Finding(
                    f"{rule.id}.pause_overrun",
                    f"{rule.title}（特别程序超期）",
                    Category.TIME_LIMIT,
                    Level.RED,
                    f"特别程序“{p.reason}”自{local_date(p.start).isoformat()}起暂停计时，超过最长{span}"
                    f"（应于{fmt_deadline(end)}前结束，{state}）。",
                    rule.basis,
                    end,
                    rule.notify,
                )
            )
        elif p.end is None:
            next_change = end if next_change is None else min(next_change, end)
    return findings, next_change


def _extension(
    rule: r.DeadlineRule, later: tuple[Event, ...], stop: Event | None, due: datetime | None
) -> tuple[int, list[Finding]]:
    """Days of the one valid extension (approved, asked before the deadline, within the
    maximum) and findings for every invalid one (行政许可法 art. 42)."""
    spec = rule.clock.extension
    if spec is None:
        return 0, []
    granted = 0
    findings: list[Finding] = []
    count = 0
    for e in later:
        if e.kind != spec.event or (stop is not None and e.at > stop.at):
            continue
        asked = int(e.attributes.get("days", spec.max_days) or 0)
        problem = None
        if not e.attributes.get("approved_by"):
            problem = "未经负责人批准"
        elif due is not None and e.at >= due:
            problem = "在期限届满后才申请"
        elif count >= spec.max_count:
            problem = f"超过允许的延长次数（{spec.max_count}次）"
        elif asked > spec.max_days:
            problem = f"延长{asked}天，超过上限{spec.max_days}天"
        if problem:
            findings.append(
                Finding(
                    f"{rule.id}.extension",
                    f"{rule.title}（延长期限）",
                    Category.PROCEDURE,
                    Level.RED,
                    f"延长期限无效：{problem}（{local_date(e.at).isoformat()}），不计入办理时限。",
                    rule.basis,
                    None,
                    rule.notify,
                )
            )
            continue
        count += 1
        granted += asked
    return granted, findings


def min_interval(
    rule: r.MinIntervalRule,
    case: Case,
    ctx: CaseContext,
    params: dict[str, Any],
    cal: WorkCalendar,
    now: datetime,
    tz: ZoneInfo,
) -> Iterator[Finding]:
    """A finding when the `to` event came before the last day of the period after `from`.

    "听证的七日前通知": notified on the 1st, the hearing may be held on the 8th (the 7th day
    counted) but not on the 7th. Where the whole period must have passed first (a decision
    only after the party's 5 days to ask for a hearing), the rule counts one more day."""
    froms = ctx.matching(case.events, rule.from_, params)
    if not froms:
        return
    first = froms[0]
    tos = [e for e in ctx.matching(case.events, rule.to, params) if e.at >= first.at]
    if not tos:
        return
    end = _span_end(first.at, rule.at_least.amount, rule.at_least.unit, cal, tz)
    if rule.at_least.unit is LimitUnit.HOURS:
        bound = end
    else:
        bound = start_of_day(local_date(end - timedelta(microseconds=1), tz), tz)  # the last day
    if tos[0].at < bound:
        span = f"{rule.at_least.amount}{unit_label(rule.at_least.unit)}"
        came, began = local_date(tos[0].at, tz).isoformat(), local_date(first.at, tz).isoformat()
        yield finding_for(
            rule,
            rule.level,
            f"{rule.title}：环节“{tos[0].kind}”（{came}）距“{first.kind}”（{began}）不足{span}，"
            f"期间至{fmt_deadline(end, tz)}届满。",
        )
