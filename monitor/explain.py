"""`sunlight explain`: a case's timeline and clocks in words, also quoted in every notice."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from monitor.calendar import WorkCalendar
from monitor.engine.messages import fmt_deadline, fmt_instant, unit_label
from monitor.model import Case, ClockReport, Evaluation, Level
from monitor.timeutil import DEFAULT_TZ

EVENT_NAMES = {
    "received": "收件",
    "accepted": "受理",
    "rejected": "不予受理",
    "correction_requested": "补正告知",
    "correction_received": "补正材料收讫",
    "suspended": "暂停计时（特别程序）",
    "resumed": "恢复计时",
    "extended": "延长期限",
    "reviewed": "审查",
    "decided": "作出决定",
    "delivered": "送达",
    "closed": "办结",
    "disclosed": "公开公示",
    "fee_charged": "收费",
    "filed": "立案",
    "investigated": "调查取证",
    "pre_decision_notice": "处罚事先告知",
    "statement_heard": "陈述申辩",
    "statement_waived": "放弃陈述申辩",
    "hearing_notified": "听证告知",
    "hearing_held": "举行听证",
    "legal_review": "法制审核",
    "fine_paid": "缴纳罚款",
}

LEVEL_NAMES = {Level.YELLOW: "黄牌（预警）", Level.RED: "红牌（违规）"}


def event_name(kind: str) -> str:
    return EVENT_NAMES.get(kind, kind)


def timeline_lines(case: Case, tz: ZoneInfo = DEFAULT_TZ) -> list[str]:
    lines = []
    for e in case.events:
        who = f"（{'、'.join(e.actors)}）" if e.actors else ""
        extra = ""
        if e.kind == "suspended" and e.attributes.get("reason"):
            extra = f"，事由：{e.attributes['reason']}"
        elif e.kind == "extended":
            extra = (
                f"，延长{e.attributes.get('days', '?')}日，批准人：{e.attributes.get('approved_by') or '无'}"
            )
        elif e.kind == "decided" and e.attributes.get("result"):
            extra = f"，结果：{e.attributes['result']}"
        lines.append(f"{fmt_instant(e.at, tz)}  {event_name(e.kind)}{who}{extra}")
    return lines


def clock_lines(report: ClockReport, calendar: WorkCalendar, tz: ZoneInfo = DEFAULT_TZ) -> list[str]:
    u = unit_label(report.unit)
    lines = [f"【{report.title}】（{report.rule_id}）"]
    if report.start is None:  # not started yet (waiting for a deemed start)
        return [*lines, f"  当前状态：{report.reason}"]
    start = f"{fmt_instant(report.start, tz)}（起算日当日不计）" if report.start else "—"
    lines.append(f"  起算：{start}；时限：{report.limit}{u}")
    for begin, end, reason in report.paused:
        until = fmt_instant(end, tz) if end else "尚未恢复"
        lines.append(f"  暂停：{fmt_instant(begin, tz)} 至 {until}（{reason}），不计入时限")
    if report.extension_days:
        lines.append(f"  延长：经批准延长{report.extension_days}日")
    if report.due is not None:
        lines.append(f"  期限届满：{fmt_deadline(report.due, tz)}（北京时间）")
        if report.skipped_rest_days:
            lines.append(f"  期间跳过休息日（周末、法定节假日）{report.skipped_rest_days}天")
        if report.provisional:
            lines.append(
                f"  注意：期间含放假安排尚未公布的节假日前后日期（国务院办公厅放假安排已知至"
                f"{calendar.known_until}，其后按《全国年节及纪念日放假办法》推算法定节假日，"
                "补假暂按节后工作日），结果为暂定"
            )
    if report.stop is not None:
        lines.append(f"  完成：{fmt_instant(report.stop, tz)}，用时{report.used or 0:g}{u}")
    else:
        lines.append(f"  已用：{report.used or 0:g}{u}")
    level = LEVEL_NAMES[report.level] if report.level else "正常"
    lines.append(f"  当前状态：{level} — {report.reason}")
    return lines


def explain_text(
    case: Case, evaluation: Evaluation, calendar: WorkCalendar, tz: ZoneInfo = DEFAULT_TZ
) -> str:
    item = case.item
    head = [
        f"办件编号：{case.case_id}",
        f"事项：{item.name if item else '（不在职权目录中）'}（{case.item_code}）",
        f"承办单位：{case.department}",
    ]
    if item:
        promised = (
            f"{item.promised_limit}{unit_label(item.limit_unit)}"
            if item.promised_limit is not None
            else "未设"
        )
        legal = f"{item.legal_limit}{unit_label(item.limit_unit)}" if item.legal_limit is not None else "未设"
        head.append(f"承诺时限：{promised}；法定时限：{legal}")
    out = [*head, "", "办理过程："]
    out += [f"  {line}" for line in timeline_lines(case, tz)] or ["  （无记录）"]
    if evaluation.clocks:
        out += ["", "时限计算："]
        for report in evaluation.clocks:
            out += clock_lines(report, calendar, tz)
    out += ["", "预警与违规："]
    if evaluation.findings:
        for f in evaluation.findings:
            out.append(f"  {LEVEL_NAMES[f.level]} {f.title}（{f.rule_id}）：{f.message}")
            if f.basis:
                out.append(f"    依据：{f.basis}")
    else:
        out.append("  无")
    if evaluation.next_check_at:
        out.append(f"\n下次状态可能变化：{fmt_instant(evaluation.next_check_at, tz)}")
    return "\n".join(out)
