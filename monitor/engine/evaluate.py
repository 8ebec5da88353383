"""Evaluation: a pure function of the case, the rules, the calendar and `now`.

`evaluate` never reads a clock, a database or a file. A rule that cannot be applied to a
case (a missing attribute, an expression error) becomes a data_quality finding for that
case; it never stops the pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from monitor.calendar import WorkCalendar
from monitor.engine import rules as r
from monitor.engine.context import CaseContext, finding_for, kinds_text
from monitor.engine.deadline import deadline, min_interval
from monitor.engine.loader import CompiledFile, RuleSet
from monitor.model import Case, Category, ClockReport, Evaluation, Finding, Level
from monitor.timeutil import DEFAULT_TZ, local_date

FUTURE_TOLERANCE = timedelta(minutes=10)  # clocks of feeding hosts differ a little


def evaluate(
    case: Case, rules: RuleSet, calendar: WorkCalendar, now: datetime, tz: ZoneInfo = DEFAULT_TZ
) -> Evaluation:
    """Every finding for `case` as of `now`, and when a level can next change."""
    ctx = CaseContext(case, rules, now)
    findings: list[Finding] = list(_data_quality(case, rules, now))
    clocks: list[ClockReport] = []
    next_check: datetime | None = None
    began = local_date(case.events[0].at, tz) if case.events else local_date(now, tz)
    counts = ctx.counts
    for file, planned in rules.plan[case.item.item_type if case.item else None]:
        params = file.params
        try:
            if not _selected(file, case, ctx, params):
                continue
        except Exception as exc:  # noqa: BLE001 - any failure of one expression is a finding
            findings.append(_failed(f"ruleset {file.spec.ruleset}", exc))
            continue
        for p in planned:
            rule = p.rule
            if p.dated and not _effective(rule, began):
                continue
            if p.gates and not p.applies(counts):
                continue  # the rule's steps are not in the case: it has nothing to say
            try:
                for item in _apply(rule, case, ctx, params, calendar, now, tz):
                    if isinstance(item, Finding):
                        findings.append(item)
                    else:
                        clocks.append(item)
                        nxt = item.next_change
                        if nxt is not None and (next_check is None or nxt < next_check):
                            next_check = nxt
            except Exception as exc:  # noqa: BLE001
                findings.append(_failed(f"rule {rule.id}", exc))
    return Evaluation(case.case_id, tuple(findings), next_check, tuple(clocks))


def _effective(rule: r._RuleBase, began: Any) -> bool:
    """A rule applies to cases that began while it was in force (no retroactive breach)."""
    if rule.effective_from and began < rule.effective_from:
        return False
    return not (rule.effective_to and began > rule.effective_to)


def _selected(file: CompiledFile, case: Case, ctx: CaseContext, params: dict[str, Any]) -> bool:
    sel = file.spec.select  # item types: already chosen through RuleSet.plan
    if sel.item_codes and case.item_code not in sel.item_codes:
        return False
    if sel.departments and case.department not in sel.departments:
        return False
    return not (sel.when and not ctx.test(sel.when, params))


def _failed(what: str, exc: BaseException) -> Finding:
    return Finding(
        rule_id="data_quality.rule_not_applicable",
        title="办件数据无法适用规则",
        category=Category.DATA_QUALITY,
        level=Level.YELLOW,
        message=f"{what} 无法适用于本办件（{type(exc).__name__}: {exc}），请核对办件数据。",
    )


def _data_quality(case: Case, rules: RuleSet, now: datetime) -> Iterator[Finding]:
    for problem in case.problems:
        yield Finding(
            "data_quality.bad_record",
            "办件记录无法读取",
            Category.DATA_QUALITY,
            Level.YELLOW,
            f"源数据记录有误：{problem}",
        )
    future = [e for e in case.events if e.at > now + FUTURE_TOLERANCE]
    if future:
        e = future[0]
        yield Finding(
            "data_quality.future_event",
            "办件过程时间晚于当前时间",
            Category.DATA_QUALITY,
            Level.YELLOW,
            f"环节“{e.kind}”的时间 {e.at.isoformat()} 晚于当前时间，请核对系统时钟或录入。",
        )
    unknown = sorted({e.kind for e in case.events} - rules.event_kinds)
    if unknown:
        yield Finding(
            "data_quality.unknown_event_kind",
            "未知的办件环节",
            Category.DATA_QUALITY,
            Level.YELLOW,
            f"办件过程含未定义的环节类型：{'、'.join(unknown)}。",
        )


def _apply(
    rule: r.Rule,
    case: Case,
    ctx: CaseContext,
    params: dict[str, Any],
    cal: WorkCalendar,
    now: datetime,
    tz: ZoneInfo,
) -> Iterator[Finding | ClockReport]:
    if isinstance(rule, r.UnlistedRule):
        # Without a case record the item is unknown: that is a data_quality finding already.
        if case.item is None and case.item_code:
            yield finding_for(
                rule,
                rule.level,
                f"办件所属事项“{case.item_code}”不在权力清单（职权目录）内，属清单外行使权力。",
            )
        return
    if isinstance(rule, r.DeadlineRule):
        yield from deadline(rule, case, ctx, params, cal, now, tz)
        return
    when = getattr(rule, "when", None)
    if when and not ctx.test(when, params):
        return
    if isinstance(rule, r.CheckRule):
        yield finding_for(rule, rule.level, f"{rule.title}。")
    elif isinstance(rule, r.PrecedenceRule):
        after = ctx.matching(case.events, rule.after, params)
        if after:
            first = after[0]
            before = [e for e in ctx.matching(case.events, rule.before, params) if e.at <= first.at]
            if not before:
                need = kinds_text(rule.before)
                yield finding_for(rule, rule.level, f"{rule.title}：环节“{first.kind}”之前没有“{need}”。")
    elif isinstance(rule, r.ExistenceRule):
        if not ctx.matching(case.events, rule.event, params):
            need = kinds_text(rule.event)
            yield finding_for(rule, rule.level, f"{rule.title}：缺少环节“{need}”。")
    elif isinstance(rule, r.AbsenceRule):
        found = ctx.matching(case.events, rule.event, params)
        if found:
            yield finding_for(rule, rule.level, f"{rule.title}：出现了不应有的环节“{found[0].kind}”。")
    elif isinstance(rule, r.MinIntervalRule):
        yield from min_interval(rule, case, ctx, params, cal, now, tz)
    elif isinstance(rule, r.AtMostRule):
        found = ctx.matching(case.events, rule.event, params)
        if len(found) > rule.count:
            yield finding_for(
                rule,
                rule.level,
                f"{rule.title}：环节“{found[0].kind}”出现{len(found)}次，最多允许{rule.count}次。",
            )
