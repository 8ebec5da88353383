"""Evaluation: a pure function of the case, the rules, the calendar and `now`.

`evaluate` never reads a clock, a database or a file. A rule that cannot be applied to a
case (a missing attribute, an expression error) becomes a data_quality finding for that
case; it never stops the pass. A record that contradicts itself (steps out of the flow
chart's order) is one data_quality finding naming the steps, and no red rests on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from monitor.calendar import WorkCalendar
from monitor.engine import rules as r
from monitor.engine.context import FUTURE_TOLERANCE, CaseContext, Contradiction, Memo, finding_for
from monitor.engine.deadline import Output, deadline
from monitor.engine.flow import chain_contradictions, orders, step_order_finding
from monitor.engine.gates import PlannedRule
from monitor.engine.interval import min_interval
from monitor.engine.loader import CompiledFile, RuleSet
from monitor.engine.messages import fmt_instant, quoted
from monitor.engine.template import render_detail
from monitor.model import Case, Category, ClockReport, Evaluation, Finding, Level
from monitor.timeutil import DEFAULT_TZ, local_date

__all__ = ["FUTURE_TOLERANCE", "evaluate"]


def evaluate(
    case: Case,
    rules: RuleSet,
    calendar: WorkCalendar,
    now: datetime,
    tz: ZoneInfo = DEFAULT_TZ,
    memo: Memo | None = None,
) -> Evaluation:
    """Every finding for `case` as of `now`, and when a level can next change. `memo` holds
    the answers of the time-free conditions for cases of this case's shape (only
    monitor.engine.screen passes one): the same evaluation, without asking them again."""
    ctx = CaseContext(case, rules, now, memo)
    findings: list[Finding] = list(_data_quality(case, ctx, tz))
    clocks: list[ClockReport] = []
    contradictions: list[Contradiction] = []
    next_check: datetime | None = None
    began = local_date(case.events[0].at, tz) if case.events else local_date(now, tz)
    selected: list[tuple[CompiledFile, tuple[Any, ...]]] = []
    for file, planned in rules.plan[case.item.item_type if case.item else None]:
        try:
            if not _selected(file, case, ctx, file.params):
                continue
        except Exception as exc:  # noqa: BLE001 - any failure of one expression is a finding
            findings.append(_failed(f"规则集“{file.spec.title}”", exc))
            continue
        selected.append((file, planned))
        ctx.chains.extend(file.chains)
    try:
        contradictions += chain_contradictions(ctx, ctx.chains)
    except Exception as exc:  # noqa: BLE001 - a stage condition that fails on the case
        findings.append(_failed("流程图环节顺序检查", exc))
    ctx.contested.update(id(e) for c in contradictions for e in (c.early, c.required))
    for file, planned in selected:
        params = file.params
        for p in _gated(planned, ctx, params):
            rule = p.rule
            if p.dated and not _effective(rule, began):
                continue
            try:
                for item in _apply(rule, case, ctx, params, calendar, now, tz):
                    if isinstance(item, Finding):
                        findings.append(item)
                    elif isinstance(item, Contradiction):
                        contradictions.append(item)
                    else:
                        clocks.append(item)
                        nxt = item.next_change
                        if nxt is not None and (next_check is None or nxt < next_check):
                            next_check = nxt
            except Exception as exc:  # noqa: BLE001
                findings.append(_failed(f"规则“{rule.title}”", exc))
    if contradictions:
        findings.append(step_order_finding(ctx, contradictions, tz))
    return Evaluation(case.case_id, tuple(_one_per_rule(findings)), next_check, tuple(clocks))


def _gated(
    planned: tuple[PlannedRule, ...], ctx: CaseContext, params: dict[str, Any]
) -> tuple[PlannedRule, ...]:
    """The rules that may have something to say about the case: their steps' kinds are in it
    (`gates`), their condition is not false, and the steps they need match. A rule left out
    would have said nothing: every kind is silent when its condition is false, and silent
    without the steps it speaks about. A condition or match that fails keeps its rule, whose
    own run reports the failure as before. For cases of one shape the answer is the same
    where none of this reads a time, and the memo keeps it."""
    memo = ctx.memo
    if memo is not None:
        known = memo.rules.get(id(planned))
        if known is not None:
            return known
    counts = ctx.counts
    out = tuple(p for p in planned if _may_speak(p, ctx, counts, params))
    if memo is not None and all(_decided(p, ctx.rules, memo) for p in planned):
        memo.rules[id(planned)] = out
    return out


def _may_speak(p: PlannedRule, ctx: CaseContext, counts: dict[str, int], params: dict[str, Any]) -> bool:
    if p.gates and not p.applies(counts):
        return False
    when = getattr(p.rule, "when", None)
    if when:
        try:
            if not ctx.test(when, params):
                return False
        except Exception:  # noqa: BLE001 - the rule's own run reports it
            return True
    return not p.gates or p.matched(ctx, params)


def _decided(p: PlannedRule, rules: RuleSet, memo: Memo) -> bool:
    """Whether `_may_speak` reads no time for the rule: its answer is the shape's."""
    when = getattr(p.rule, "when", None)
    if when and not all(memo.timeless(step.source) for step in rules.steps[when]):
        return False
    return all(memo.decides(rules, g.matches) for g in p.gates)


def _one_per_rule(findings: list[Finding]) -> list[Finding]:
    """An alert is kept per case and rule: several rules that cannot be applied to the case
    are one finding naming each of them, not one that hides the others."""
    failed = [f for f in findings if f.rule_id == NOT_APPLICABLE]
    if len(failed) < 2:
        return findings
    merged = Finding(
        NOT_APPLICABLE,
        failed[0].title,
        Category.DATA_QUALITY,
        Level.YELLOW,
        "；".join(f.message.removesuffix("。") for f in failed) + "。",
        notify=failed[0].notify,
    )
    return [f for f in findings if f.rule_id != NOT_APPLICABLE] + [merged]


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


NOT_APPLICABLE = "data_quality.rule_not_applicable"


def _failed(what: str, exc: BaseException) -> Finding:
    return Finding(
        rule_id=NOT_APPLICABLE,
        title="办件数据无法适用规则",
        category=Category.DATA_QUALITY,
        level=Level.YELLOW,
        message=f"{what}无法适用于本办件：{_why(exc)}，请核对办件数据。",
        notify=("department",),
    )


def _why(exc: BaseException) -> str:
    """What went wrong, in words a records clerk can act on (the key a record lacks)."""
    if isinstance(exc, KeyError):
        return f"缺少数据项“{exc.args[0] if exc.args else ''}”"
    if isinstance(exc, TypeError):
        return "数据项的类型与规则要求不符"
    if isinstance(exc, IndexError):
        return "规则要读取的记录不存在"
    if isinstance(exc, ZeroDivisionError):
        return "计算中出现除以零"
    return "规则条件无法求值"


def _data_quality(case: Case, ctx: CaseContext, tz: ZoneInfo) -> Iterator[Finding]:
    for problem in case.problems:
        yield Finding(
            "data_quality.bad_record",
            "办件记录无法读取",
            Category.DATA_QUALITY,
            Level.YELLOW,
            f"源数据记录有误：{problem}",
            notify=("department",),
        )
    future = [e for e in case.events if e.at > ctx.horizon]
    if future:
        e = future[0]
        yield Finding(
            "data_quality.future_event",
            "办件过程时间晚于当前时间",
            Category.DATA_QUALITY,
            Level.YELLOW,
            f"环节“{ctx.step_name(e)}”的记录时间{fmt_instant(e.at, tz)}晚于当前时间，请核对系统时钟或录入。",
            notify=("department",),
        )
    unknown = sorted({e.kind for e in case.events} - ctx.rules.event_kinds)
    if unknown:
        yield Finding(
            "data_quality.unknown_event_kind",
            "未知的办件环节",
            Category.DATA_QUALITY,
            Level.YELLOW,
            f"办件过程含规则集未定义的环节类型：{quoted(unknown, '、')}，请核对数据对接。",
            notify=("department",),
        )


def _apply(
    rule: r.Rule,
    case: Case,
    ctx: CaseContext,
    params: dict[str, Any],
    cal: WorkCalendar,
    now: datetime,
    tz: ZoneInfo,
) -> Iterator[Output]:
    """What one rule says about the case, its evidence (`detail`) added to its own finding."""
    if not rule.detail:
        return _kind(rule, case, ctx, params, cal, now, tz)
    return _with_detail(rule, _kind(rule, case, ctx, params, cal, now, tz), ctx, params, tz)


def _with_detail(
    rule: r.Rule, outputs: Iterator[Output], ctx: CaseContext, params: dict[str, Any], tz: ZoneInfo
) -> Iterator[Output]:
    for out in outputs:
        if rule.detail and isinstance(out, Finding) and out.rule_id == rule.id:
            detail = render_detail(ctx, rule.detail, params, tz)
            message = out.message if out.message != rule.title else ""
            out = Finding(
                out.rule_id,
                out.title,
                out.category,
                out.level,
                message + detail,
                out.basis,
                out.due,
                out.notify,
                out.since,
            )
        yield out


def _kind(
    rule: r.Rule,
    case: Case,
    ctx: CaseContext,
    params: dict[str, Any],
    cal: WorkCalendar,
    now: datetime,
    tz: ZoneInfo,
) -> Iterator[Output]:
    if isinstance(rule, r.UnlistedRule):
        # Without a case record the item is unknown: that is a data_quality finding already.
        if case.item is None and case.item_code:
            yield finding_for(
                rule,
                rule.level,
                f"办件所属事项“{case.item_code}”不在权力清单（职权目录）内。",
            )
        return
    if isinstance(rule, r.DeadlineRule):
        yield from deadline(rule, case, ctx, params, cal, now, tz)
        return
    when = getattr(rule, "when", None)
    if when and not ctx.test(when, params):
        return
    if isinstance(rule, r.CheckRule):
        yield finding_for(rule, rule.level, rule.title)
    elif isinstance(rule, r.PrecedenceRule):
        yield from _precedence(rule, case, ctx, params, tz)
    elif isinstance(rule, r.ExistenceRule):
        if not ctx.matching(case.events, rule.event, params):
            yield finding_for(rule, rule.level, f"办件没有{quoted(ctx.names(rule.event))}的记录。")
    elif isinstance(rule, r.AbsenceRule):
        found = ctx.matching(case.events, rule.event, params)
        if found:
            e = found[0]
            yield finding_for(
                rule,
                rule.level,
                f"办件有不应有的环节“{ctx.name_of(e, rule.event)}”（{fmt_instant(e.at, tz)}）。",
                since=e.at,
            )
    elif isinstance(rule, r.MinIntervalRule):
        yield from min_interval(rule, case, ctx, params, cal, now, tz)
    elif isinstance(rule, r.AtMostRule):
        found = ctx.matching(case.events, rule.event, params)
        if len(found) > rule.count:
            times = "、".join(fmt_instant(e.at, tz) for e in found)
            yield finding_for(
                rule,
                rule.level,
                f"“{ctx.name_of(found[0], rule.event)}”共{len(found)}次（{times}），最多允许{rule.count}次。",
                since=found[rule.count].at,  # the first time beyond what is allowed
            )


def _precedence(
    rule: r.PrecedenceRule, case: Case, ctx: CaseContext, params: dict[str, Any], tz: ZoneInfo
) -> Iterator[Output]:
    """The first `after` step needs a `before` step at or before it.

    A `before` step recorded only later is the breach the rule describes ("陈述申辩晚于决定")
    unless the flow chart orders the two steps: then the record contradicts itself (an
    acceptance timed after the decision) and the contradiction stands in the red's place."""
    after = ctx.matching(case.events, rule.after, params)
    if not after or after[0].at > ctx.horizon:
        return  # not yet, or timed in the future (a data-quality finding)
    first = after[0]
    befores = ctx.matching(case.events, rule.before, params)
    if any(b.at <= first.at for b in befores):
        return
    first_text = f"{ctx.name_of(first, rule.after)}（{fmt_instant(first.at, tz)}）"
    if befores:
        b = befores[0]
        if b.at > ctx.horizon or id(b) in ctx.contested or id(first) in ctx.contested:
            return  # rests on a time the record contradicts: the data-quality finding asks for it
        if orders(ctx, ctx.chains, b, first):
            yield Contradiction(first, b)
            return
        yield finding_for(
            rule,
            rule.level,
            f"{ctx.name_of(b, rule.before)}于{fmt_instant(b.at, tz)}，晚于{first_text}。",
            since=first.at,
        )
        return
    yield finding_for(
        rule, rule.level, f"{first_text}之前没有{quoted(ctx.names(rule.before))}的记录。", since=first.at
    )
