"""Deadline rules: where a clock starts and stops, its pauses and extensions, and the
findings about them — all counted by `run_clock`.

A clock never speaks from a record that contradicts itself: a stop step recorded only before
its start, or a stop timed in the future, gives the clock no level (the contradiction or
the future step is a data-quality finding of its own), never "至今没有…的记录".
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from monitor.calendar import WorkCalendar
from monitor.engine import rules as r
from monitor.engine.clock import ClockResult, ClockSpec, Pause, run_clock
from monitor.engine.context import FUTURE_TOLERANCE, CaseContext, Contradiction, finding_for
from monitor.engine.extensions import extensions
from monitor.engine.messages import (
    ClockStory,
    clock_sentence,
    fmt_deadline,
    fmt_instant,
    quoted,
    unit_label,
)
from monitor.model import Case, Category, ClockReport, Event, Finding, Level, LimitUnit
from monitor.timeutil import days, end_of_day, local_date, to_utc

Output = Finding | ClockReport | Contradiction


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
) -> Iterator[Output]:
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
                yield _waiting(rule, ctx, waiting_until, tz)
            return
    if start is None:
        return
    later = tuple(e for e in case.events if e.at >= start.at and e is not start)
    stops = ctx.matching(later, clock.stop, params)
    stop = stops[0] if stops else None
    if stop is None and any(m.kind in ctx.counts for m in clock.stop):
        earlier = [
            e for e in ctx.matching(case.events, clock.stop, params) if e.at < start.at and e is not start
        ]
        if earlier:
            # The stop is on file, timed before the start: the record contradicts itself.
            early = earlier[0]
            yield Contradiction(early, start, ctx.name_of(early, clock.stop))
            name = ctx.name_of(early, clock.stop)
            why = f"“{name}”记录于{fmt_instant(early.at, tz)}，早于起算时间，记录自相矛盾，时限无法计算"
            yield _silent(rule, ctx, start, why, None, tz)
            return
    for step in (start, stop):
        if step is not None and id(step) in ctx.contested:
            # The step's time contradicts the flow chart (a data-quality finding): nothing
            # counted from it, or stopped by it, can be said until the record is corrected.
            why = f"“{ctx.step_name(step)}”的记录时间与办件其他环节相互矛盾，更正前时限不作判断"
            yield _silent(rule, ctx, start, why, None, tz)
            return
    if start.at > ctx.horizon:
        yield _silent(
            rule, ctx, start, "起算环节的记录时间晚于当前时间，尚未起算", start.at - FUTURE_TOLERANCE, tz
        )
        return
    if stop is not None and stop.at > ctx.horizon:
        # Recorded, but timed in the future: neither "in time" nor "not done" can be said.
        why = f"“{ctx.step_name(stop)}”的记录时间（{fmt_instant(stop.at, tz)}）晚于当前时间，无法判断是否按时"
        yield _silent(rule, ctx, start, why, stop.at - FUTURE_TOLERANCE, tz)
        return
    amount, unit = _limit(rule, case)
    if amount is None:
        name = {"promised": "承诺时限", "legal": "法定时限"}.get(str(clock.limit), "时限")
        yield finding_for(rule, Level.YELLOW, f"事项“{case.item_code}”在职权目录中没有{name}，无法计算时限。")
        return
    # A stop a few minutes ahead of `now` (the feeding host's clock) is taken as done.
    at = max(now, stop.at) if stop is not None else now
    pauses = _pauses(clock, later, stop, ctx, params)
    overrun_next = None
    if clock.pause is not None:
        findings, overrun_next = _pause_overruns(rule, ctx, clock.pause, pauses, cal, at, tz)
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

    def count(extension: int) -> ClockResult:
        return run_clock(spec, start.at, stop_at, pauses, extension, cal, at, tz)

    extension = 0
    if clock.extension is not None:
        extension, ext_finding = extensions(rule, clock.extension, ctx, params, later, stop, unit, count, tz)
        if ext_finding is not None:
            yield ext_finding
    result = count(extension)

    def reason() -> str:
        # Written only when read: most clocks of a pass are in time and never shown.
        story = ClockStory(
            unit,
            amount,
            extension,
            ctx.name_of(start, clock.start) if not deemed_note else ctx.step_name(start),
            start.at,
            quoted(ctx.names(clock.stop)),
            ctx.name_of(stop, clock.stop) if stop is not None else None,
            stop_at,
            unit is LimitUnit.NATURAL_DAYS and clock.roll_over_holidays,
            _pause_note(pauses, ctx, tz),
        )
        return clock_sentence(result, story, at, cal, tz) + deemed_note

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
        began = result.due if result.level is Level.RED else result.yellow_at
        yield finding_for(rule, result.level, reason(), result.due, began)


def _silent(
    rule: r.DeadlineRule, ctx: CaseContext, start: Event, why: str, next_change: datetime | None, tz: ZoneInfo
) -> ClockReport:
    """The report of a clock that gives no level because the record does not allow one."""
    started = f"自{ctx.step_name(start)}（{fmt_instant(start.at, tz)}）起计算；"

    def reason() -> str:
        return f"{started}{why}。"

    unit = rule.clock.unit if isinstance(rule.clock.unit, LimitUnit) else LimitUnit.WORKING_DAYS
    return ClockReport(
        rule.id, rule.title, unit, None, start.at, None, None, "", None, (), 0, 0, False, None, reason,
        next_change, rule.category,
    )  # fmt: skip


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
    unless = quoted(ctx.names(deemed.unless), "、")
    began = ctx.name_of(origin, deemed.event)
    note = (
        f"（{began}后{deemed.within}{unit}内，即至{fmt_deadline(window_end, tz)}，"
        f"未作出{unless}，依法视为自{began}之日起受理）"
    )
    return origin, note, None


def _waiting(rule: r.DeadlineRule, ctx: CaseContext, until: datetime, tz: ZoneInfo) -> ClockReport:
    deemed = rule.clock.deemed_start
    assert deemed is not None
    unless = quoted(ctx.names(deemed.unless), "、")
    origin = quoted(ctx.names(deemed.event))

    def reason() -> str:
        return f"尚未起算：如至{fmt_deadline(until, tz)}仍无{unless}的记录，视为自{origin}之日起受理。"

    return ClockReport(
        rule.id, rule.title, LimitUnit.WORKING_DAYS, None, None, None, None, "", None, (), 0, 0, False,
        None, reason, until, rule.category,
    )  # fmt: skip


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
    if clock.pause is None or not any(m.kind in ctx.counts for m in clock.pause.begin):
        return ()  # no step that could begin a pause
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


def _reason_name(ctx: CaseContext, reason: str) -> str:
    """A pause's reason as the notice names it: 专家评审, or the step's name without one."""
    if reason in ctx.vocab.events and reason not in ctx.vocab.values.get("reason", {}):
        return ctx.vocab.step(reason, ctx.case.item)
    return ctx.vocab.value("reason", reason)


def _pause_note(pauses: tuple[Pause, ...], ctx: CaseContext, tz: ZoneInfo) -> str:
    running = [p for p in pauses if p.end is None]
    if not running:
        return ""
    p = running[-1]
    return f"特别程序“{_reason_name(ctx, p.reason)}”自{fmt_instant(p.start, tz)}起不计入时限"


def _pause_overruns(
    rule: r.DeadlineRule,
    ctx: CaseContext,
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
            state = f"至{fmt_instant(p.end, tz)}才恢复计时" if p.end else "至今仍未恢复计时"
            findings.append(
                Finding(
                    f"{rule.id}.pause_overrun",
                    f"{rule.title}（特别程序超期）",
                    Category.TIME_LIMIT,
                    Level.RED,
                    f"特别程序“{_reason_name(ctx, p.reason)}”自{fmt_instant(p.start, tz)}起暂停计时，"
                    f"最长{span}，应于{fmt_deadline(end, tz)}前结束，{state}。",
                    rule.basis,
                    end,
                    rule.notify,
                    end,  # the special procedure overran when its longest span ended
                )
            )
        elif p.end is None:
            next_change = end if next_change is None else min(next_change, end)
    return findings, next_change
