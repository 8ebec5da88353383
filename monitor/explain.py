"""`sunlight explain`: a case's timeline and clocks in words, also quoted in every notice.

Everything is in Chinese: steps, results and stages by the rule sets' names, dates as
official documents write them. Rule ids appear only in `sunlight explain` itself, as
reference numbers for rule authors; a notice names its own rule once, at its foot.
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from monitor.calendar import WorkCalendar
from monitor.engine.messages import fmt_date, fmt_deadline, fmt_instant, unit_label
from monitor.model import Case, ClockReport, Evaluation, Event, Level, LimitUnit
from monitor.timeutil import DEFAULT_TZ
from monitor.vocabulary import Vocabulary

LEVEL_NAMES = {Level.YELLOW: "黄牌（预警）", Level.RED: "红牌（违规）"}

# Step attributes worth a reader's eye in the timeline, in the order they are shown.
_SHOWN = ("what", "level", "result", "reason", "channel", "amount", "fine_amount", "days", "approval")
_LABELS = {
    "what": "事项",
    "level": "层级",
    "result": "结果",
    "reason": "事由",
    "channel": "方式",
    "amount": "金额",
    "fine_amount": "罚款",
    "days": "延长",
    "approval": "批准",
}


def _step_line(e: Event, case: Case, vocab: Vocabulary, tz: ZoneInfo) -> str:
    return f"{fmt_instant(e.at, tz)}  {step_text(e, case, vocab)}"


def step_text(e: Event, case: Case, vocab: Vocabulary) -> str:
    """One step in words without its time: its Chinese name, who, and the details worth a look."""
    who = f"（{'、'.join(e.actors)}）" if e.actors else ""
    extra = []
    attrs = e.attributes
    for key in _SHOWN:
        if key not in attrs or attrs[key] in (None, ""):
            continue
        value = vocab.value(key, attrs[key])
        if key in ("amount", "fine_amount"):
            value += "元"
        elif key == "days":
            value += "日"
        extra.append(f"{_LABELS[key]}：{value}")
    if e.kind == "extended":
        extra.append(f"批准人：{attrs.get('approved_by') or '无'}")
    tail = f"，{'，'.join(extra)}" if extra else ""
    return f"{vocab.step(e.kind, case.item)}{who}{tail}"


def timeline_lines(case: Case, vocab: Vocabulary, tz: ZoneInfo = DEFAULT_TZ) -> list[str]:
    return [_step_line(e, case, vocab, tz) for e in case.events]


def clock_lines(
    report: ClockReport,
    calendar: WorkCalendar,
    vocab: Vocabulary,
    tz: ZoneInfo = DEFAULT_TZ,
    *,
    refs: bool = False,
) -> list[str]:
    u = unit_label(report.unit)
    ref = f"（规则编号 {report.rule_id}）" if refs else ""
    lines = [f"【{report.title}】{ref}"]
    if report.start is None or report.limit is None:  # not started, or the record allows no count
        return [*lines, f"  当前状态：{report.reason}"]
    lines.append(f"  起算：{fmt_instant(report.start, tz)}（起算当日不计入）；时限：{report.limit}{u}")
    for begin, end, reason in report.paused:
        until = fmt_instant(end, tz) if end else "尚未恢复"
        why = vocab.step(reason) if reason in vocab.events else vocab.value("reason", reason)
        lines.append(f"  暂停（{why}）：{fmt_instant(begin, tz)}至{until}，不计入时限")
    if report.extension_days:
        lines.append(f"  延长：经批准延长{report.extension_days}{u}")
    if report.due is not None:
        lines.append(f"  期限届满：{fmt_deadline(report.due, tz)}（北京时间）")
        if report.skipped_rest_days and report.unit is LimitUnit.NATURAL_DAYS and report.due_date_label:
            # A natural-day clock skips no day; only its last day moves off a rest day.
            due_day = date.fromisoformat(report.due_date_label)
            lines.append(f"  期限届满日为休息日，顺延至{fmt_date(due_day)}")
        elif report.skipped_rest_days and report.unit is LimitUnit.WORKING_DAYS:
            lines.append(f"  期间含休息日（周末、法定节假日）{report.skipped_rest_days}日，不计入时限")
        if report.provisional:
            lines.append(
                "  注意：期间含放假安排尚未公布的节假日前后日期（国务院办公厅放假安排已知至"
                f"{fmt_date(calendar.known_until)}，其后按《全国年节及纪念日放假办法》推算法定节假日，"
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
    case: Case,
    evaluation: Evaluation,
    calendar: WorkCalendar,
    vocab: Vocabulary,
    tz: ZoneInfo = DEFAULT_TZ,
    *,
    refs: bool = False,
) -> str:
    """The case in words. `refs` adds the rule ids (for `sunlight explain`, not notices)."""
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
    out += [f"  {line}" for line in timeline_lines(case, vocab, tz)] or ["  （无记录）"]
    if evaluation.clocks:
        out += ["", "时限计算："]
        for report in evaluation.clocks:
            out += clock_lines(report, calendar, vocab, tz, refs=refs)
    out += ["", "预警与违规："]
    if evaluation.findings:
        for f in evaluation.findings:
            ref = f"（规则编号 {f.rule_id}）" if refs else ""
            said = f"：{f.message}" if f.message and f.message != f.title else ""
            out.append(f"  {LEVEL_NAMES[f.level]} {f.title}{said}{ref}")
            if f.basis:
                out.append(f"    依据：{f.basis}")
    else:
        out.append("  无")
    if evaluation.next_check_at:
        out.append(f"\n下次状态可能变化：{fmt_instant(evaluation.next_check_at, tz)}")
    return "\n".join(out)
