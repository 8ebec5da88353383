"""Extensions of a clock (行政许可法 art. 42; 市场监督管理行政处罚程序规定 art. 64): which
`extended` steps are valid, and the one finding naming every invalid one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from monitor.engine import rules as r
from monitor.engine.clock import ClockResult
from monitor.engine.context import CaseContext
from monitor.engine.messages import fmt_deadline, fmt_instant, unit_label
from monitor.model import Category, Event, Finding, Level, LimitUnit


def _approval(e: Event) -> str | None:
    """The authority that approved an extension step: its `approval`, else the head
    (本机关负责人) when only the approver's name is recorded."""
    given = e.attributes.get("approval")
    if isinstance(given, str) and given:
        return given
    return "head" if e.attributes.get("approved_by") else None


def extensions(
    rule: r.DeadlineRule,
    spec: r.ExtensionSpec,
    ctx: CaseContext,
    params: dict[str, Any],
    later: tuple[Event, ...],
    stop: Event | None,
    unit: LimitUnit,
    count: Callable[[int], ClockResult],  # the clock with this many days of extension
    tz: ZoneInfo,
) -> tuple[int, Finding | None]:
    """The days of the valid extensions and one finding naming every invalid one.

    Each `extended` step is judged in time order under the next grant the law allows the
    case (行政许可法 art. 42; 市场监督管理行政处罚程序规定 art. 64): against the deadline in
    force when it was asked (the earlier valid extensions included), the approval that grant
    needs, its maximum, and the number of grants."""
    if spec.event not in ctx.counts:
        return 0, None  # no extension asked: the grants need not be looked at
    grants = [g for g in spec.grants if not g.when or ctx.test(g.when, params)]
    u = unit_label(unit)
    granted = 0
    used = 0
    problems: list[str] = []
    steps = [e for e in later if e.kind == spec.event and (stop is None or e.at <= stop.at)]
    for n, e in enumerate(steps, 1):
        wrong: list[str] = []
        grant = grants[min(used, len(grants) - 1)] if grants else None
        if grant is None:
            wrong.append("本办件依法不得延长期限")
        elif used >= len(grants) and not grant.repeat:
            wrong.append(f"已有{used}次有效延长，超过允许的延长次数（{len(grants)}次）")
            grant = None
        due = count(granted).due
        if due is not None and e.at >= due:
            wrong.append(f"在期限（{fmt_deadline(due, tz)}）届满后才提出")
        asked: int | None = None
        raw = e.attributes.get("days")
        if raw is not None:
            if (
                isinstance(raw, int | float)
                and not isinstance(raw, bool)
                and float(raw).is_integer()
                and raw >= 0
            ):
                asked = int(raw)
            else:
                wrong.append(f"延长期限记录有误（“{raw}”）")
        if grant is not None:
            approval = _approval(e)
            need = "或".join(ctx.vocab.value("approval", a) for a in grant.approval)
            if approval is None:
                wrong.append(f"无批准记录（须经{need}）")
            elif approval not in grant.approval:
                wrong.append(f"经{ctx.vocab.value('approval', approval)}，而本次延长须经{need}")
            if raw is None and grant.max_days is None:
                wrong.append("未载明延长期限")
            if asked is not None and grant.max_days is not None and asked > grant.max_days:
                wrong.append(f"延长{asked}{u}，超过本次最多可延长的{grant.max_days}{u}")
            if asked is None and raw is None:
                asked = grant.max_days
        if wrong:
            days_text = f"延长{asked}{u}" if asked is not None else "延长期限"
            problems.append(f"第{n}次{days_text}（{fmt_instant(e.at, tz)}提出）：{'；'.join(wrong)}")
            continue
        used += 1
        granted += asked or 0
    if not problems:
        return granted, None
    message = "延长期限无效，不计入办理时限：" + "；".join(problems) + "。"
    return granted, Finding(
        f"{rule.id}.extension",
        f"{rule.title}（延长期限）",
        Category.PROCEDURE,
        Level.RED,
        message,
        rule.basis,
        None,
        rule.notify,
    )
