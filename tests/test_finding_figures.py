"""Every date and count a finding states is the one the clock computed.

Random cases (pauses, extensions with and without approval, equal times, steps out of order,
dates around the Spring Festival and National Day) are evaluated with the shipped rules; the
figures are read back out of each deadline finding's sentence and compared with the clock's
report, with the calendar, and with a deadline recounted extension by extension.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.calendar import WorkCalendar
from monitor.engine import load_ruleset
from monitor.engine.clock import ClockSpec, Pause, run_clock
from monitor.engine.evaluate import evaluate
from monitor.engine.messages import fmt_date, fmt_deadline, fmt_instant
from monitor.engine.rules import DeadlineRule
from monitor.model import Applicant, Case, ClockReport, Event, Finding, ItemType, LimitUnit, PowerItem
from tests.conftest import BJ, RULES

ROUTES = frozenset({"department", "discipline_office", "operators"})
RULESET = load_ruleset(RULES, ROUTES)
CAL = WorkCalendar.default()
DEADLINES = {r.id: r for f in RULESET.files for r in f.spec.rules if isinstance(r, DeadlineRule)}

ITEMS = {
    "licensing": PowerItem(
        "XK-1",
        "食品经营许可",
        ItemType.LICENSING,
        "市市场监督管理局",
        20,
        5,
        LimitUnit.WORKING_DAYS,
        Decimal(0),
    ),
    "penalty": PowerItem(
        "CF-1", "处罚", ItemType.PENALTY, "市市场监督管理局", 90, 90, LimitUnit.NATURAL_DAYS, Decimal(0)
    ),
    "complaint": PowerItem(
        "TS-1", "投诉", ItemType.COMPLAINT, "市政务服务管理办公室", 15, 10, LimitUnit.NATURAL_DAYS, Decimal(0)
    ),
}
FLOW = {  # start, stop, the case's attributes
    "licensing": (
        "accepted",
        "decided",
        {"disclosure_exempt": True, "disclosure_exempt_reason": "涉及个人隐私"},
    ),
    "penalty": ("filed", "decided", {"procedure": "general", "party_type": "person"}),
    "complaint": ("accepted", "replied", {}),
}

# Around the holidays of 2026 (春节 02-15..23 with working Saturdays 02-14 and 02-28, 国庆
# 10-01..07 with working Sunday 09-20 and Saturday 10-10) and ordinary weeks.
DAYS = st.sampled_from(
    [date(2026, 2, 9), date(2026, 2, 12), date(2026, 9, 16), date(2026, 9, 28), date(2026, 11, 2)]
)
OFFSET = st.integers(0, 40 * 24).map(lambda h: timedelta(hours=h))


@st.composite
def cases(draw: Any) -> tuple[Case, datetime]:
    kind = draw(st.sampled_from(sorted(ITEMS)))
    start_kind, stop_kind, attributes = FLOW[kind]
    t0 = datetime.combine(draw(DAYS), datetime.min.time(), BJ) + timedelta(hours=draw(st.integers(0, 23)))
    span = draw(OFFSET) + timedelta(minutes=draw(st.integers(0, 59)))  # from the start to `now`
    # Steps up to `now`, now and then one in the future (a data-quality finding of its own).
    within = st.integers(0, int(span.total_seconds() // 3600)).map(lambda h: timedelta(hours=h))
    offset = within | OFFSET if draw(st.integers(0, 9)) == 0 else within
    steps: list[tuple[str, datetime, dict[str, Any]]] = [(start_kind, t0, {})]
    if kind == "licensing":
        steps.append(("received", t0 - timedelta(hours=draw(st.integers(0, 30))), {}))
    for _ in range(draw(st.integers(0, 2))):  # pauses, their ends sometimes missing or equal
        begin = t0 + draw(offset)
        steps.append(("suspended", begin, {"reason": draw(st.sampled_from(["testing", "expert_review"]))}))
        if draw(st.booleans()):
            steps.append(
                (
                    "resumed",
                    begin + draw(st.sampled_from([timedelta(0), timedelta(days=3), timedelta(days=12)])),
                    {},
                )
            )
    for _ in range(draw(st.integers(0, 3))):  # extensions, valid or not
        extension: dict[str, Any] = {}
        days = draw(st.sampled_from([None, 5, 10, 15, 30, 40]))
        if days is not None:
            extension["days"] = days
        approval = draw(st.sampled_from([None, "head", "government_head", "collective"]))
        if approval is not None:
            extension["approved_by"] = "负责人"
            if approval != "head" or draw(st.booleans()):
                extension["approval"] = approval
        steps.append(("extended", t0 + draw(offset), extension))
    if draw(st.booleans()):  # stopped, sometimes at the start's own instant or before it
        steps.append(
            (stop_kind, t0 + draw(st.sampled_from([timedelta(0), -timedelta(hours=5)]) | offset), {})
        )
    now = t0 + span
    events = tuple(
        Event(i, f"e{i}", "C1", k, at, (), a)
        for i, (k, at, a) in enumerate(sorted(steps, key=lambda s: s[1]))
    )
    item = ITEMS[kind]
    return Case("C1", item.item_code, item.department, Applicant(), attributes, item, events), now


DATE = r"\d{4}年\d{1,2}月\d{1,2}日"
INSTANT = DATE + r"(?:24时|\d{1,2}时(?:\d{1,2}分)?)"
UNIT = r"(个工作日|日|小时)"


def _days_between(unit: LimitUnit, a: date, b: date) -> int:
    """Days in (a, b], in the clock's unit, counted by the calendar directly."""
    return CAL.working_days_between(a, b) if unit is LimitUnit.WORKING_DAYS else (b - a).days


def _report(clocks: tuple[ClockReport, ...], rule_id: str) -> ClockReport:
    [report] = [c for c in clocks if c.rule_id == rule_id]
    return report


def _check_clock_sentence(f: Finding, report: ClockReport, case: Case, now: datetime) -> None:
    said = f.message
    assert not re.search(r"\d{4}-\d{2}-\d{2}", said), said  # no ISO dates in Chinese text
    assert report.due is not None and report.start is not None and report.limit is not None
    head = re.search(rf"自(.+?)（({INSTANT})）起(当日内|(\d+){UNIT})(?:（另经批准延长(\d+){UNIT}）)?", said)
    assert head, said
    assert head[2] == fmt_instant(report.start)
    amount = 0 if head[3] == "当日内" else int(head[4])
    assert amount + (int(head[6]) if head[6] else 0) == report.limit
    assert int(head[6] or 0) == report.extension_days
    due = re.search(rf"期限至({INSTANT})届满", said)
    assert due and due[1] == fmt_deadline(report.due) == fmt_deadline(f.due), said
    due_day = (report.due - timedelta(microseconds=1)).astimezone(BJ).date()
    if report.unit is LimitUnit.WORKING_DAYS:
        assert CAL.is_workday(due_day)
    rolled = re.search(rf"（期限届满日({DATE})为休息日，顺延至({DATE})）", said)
    if rolled:
        last = due_day - timedelta(days=report.skipped_rest_days)
        assert rolled[1] == fmt_date(last) and rolled[2] == fmt_date(due_day)
        assert not CAL.is_workday(last) and CAL.next_workday(last) == due_day
    at = report.stop if report.stop is not None else now
    at_day = at.astimezone(BJ).date()
    used = re.search(rf"(?:已用|用时)([\d.]+){UNIT}", said)
    if used:
        assert float(used[1]) == report.used
    late = re.search(r"已超过期限(\d+)(个工作日|日)", said)
    if late:
        assert int(late[1]) == _days_between(report.unit, due_day, at_day) >= 1, said
    if "期限届满后均为休息日" in said:
        assert report.unit is LimitUnit.WORKING_DAYS
        assert CAL.working_days_between(due_day, at_day) == 0
    stop = re.search(rf"；(.+?)于({INSTANT})，", said)
    if report.stop is not None:
        assert stop and stop[2] == fmt_instant(report.stop), said
        assert report.stop >= report.start
    else:
        assert "至今没有" in said, said
        # "no such record" is only said where there is none, before the start or after it
        stops = {m.kind for m in DEADLINES[f.rule_id].clock.stop}
        assert not any(e.kind in stops for e in case.events), said
    today = now.astimezone(BJ).date()
    if "今日24时届满" in said:
        assert today == due_day
    if "明日24时届满" in said:
        assert today + timedelta(days=1) == due_day
    left = re.search(r"(除今日外)?尚余(\d+)(个工作日|日)", said)
    if left:
        n = _days_between(report.unit, today, due_day)
        assert int(left[2]) == n and bool(left[1]) == (
            report.unit is LimitUnit.NATURAL_DAYS or CAL.is_workday(today)
        )


def _check_extension_finding(f: Finding, case: Case, now: datetime, rule: DeadlineRule) -> None:
    """Recount the deadline in force when each extension was asked, the earlier valid ones
    included, and hold the finding's "届满后" to it."""
    spec_limit = case.item.legal_limit if rule.clock.limit == "legal" else case.item.promised_limit  # type: ignore[union-attr]
    if isinstance(rule.clock.limit, int):
        spec_limit = rule.clock.limit
    unit = case.item.limit_unit if rule.clock.unit == "catalogue" else rule.clock.unit  # type: ignore[union-attr]
    assert spec_limit is not None and isinstance(unit, LimitUnit)
    spec = ClockSpec(spec_limit, unit, rule.clock.roll_over_holidays)
    start = next(e for e in case.events if e.kind == rule.clock.start[0].kind)
    stop = next(
        (
            e
            for e in case.events
            if e.kind in {m.kind for m in rule.clock.stop} and e.at >= start.at and e is not start
        ),
        None,
    )
    pauses = _pauses(case, start, stop)
    lines = {int(m[1]): m[0] for m in re.finditer(r"第(\d+)次[^；]*?（[^）]*提出）：[^第]*", f.message)}
    granted = 0
    steps = [
        e
        for e in case.events
        if e.kind == "extended" and e.at >= start.at and e is not start and (stop is None or e.at <= stop.at)
    ]
    for n, e in enumerate(steps, 1):
        due = run_clock(
            spec,
            start.at,
            stop.at if stop else None,
            pauses,
            granted,
            CAL,
            max(now, stop.at if stop else now),
            BJ,
        ).due
        late = due is not None and e.at >= due
        line = lines.get(n)
        if line is None:
            assert not late
            granted += int(e.attributes.get("days", rule.clock.extension.grants[0].max_days or 0))  # type: ignore[union-attr]
            continue
        assert f"（{fmt_instant(e.at)}提出）" in line
        assert ("届满后才提出" in line) == late, (line, due)
        if late:
            assert f"在期限（{fmt_deadline(due)}）届满后才提出" in line


def _pauses(case: Case, start: Event, stop: Event | None) -> tuple[Pause, ...]:
    out: list[Pause] = []
    window = [
        e for e in case.events if e.at >= start.at and e is not start and (stop is None or e.at <= stop.at)
    ]
    for begin in (e for e in window if e.kind == "suspended"):
        if out and (out[-1].end is None or out[-1].end > begin.at):
            continue
        end = next((e for e in window if e.kind == "resumed" and e.at >= begin.at), None)
        out.append(Pause(begin.at, end.at if end else None, str(begin.attributes.get("reason"))))
    return tuple(out)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_every_figure_in_a_deadline_finding_is_the_clock_s(drawn: tuple[Case, datetime]) -> None:
    case, now = drawn
    ev = evaluate(case, RULESET, CAL, now, BJ)
    for f in ev.findings:
        if f.rule_id in DEADLINES:
            _check_clock_sentence(f, _report(ev.clocks, f.rule_id), case, now)
        elif f.rule_id.endswith(".extension"):
            _check_extension_finding(f, case, now, DEADLINES[f.rule_id.removesuffix(".extension")])
        elif f.rule_id.endswith(".pause_overrun"):
            assert re.search(rf"自({INSTANT})起暂停计时", f.message)
            assert f.due is not None and fmt_deadline(f.due) in f.message


@pytest.mark.parametrize(
    ("start", "now", "words"),
    [
        # Accepted Fri 10-30: the promise (5) ends Fri 11-06 24:00.
        ("2026-10-30 09:00", "2026-11-06 10:00", "今日24时届满"),
        ("2026-10-30 09:00", "2026-11-07 10:00", "已超过期限10小时（期限届满后均为休息日，尚未经过工作日）"),
        ("2026-10-30 09:00", "2026-11-09 10:00", "已超过期限1个工作日"),
    ],
)
def test_the_boundaries_of_a_working_day_limit_in_words(start: str, now: str, words: str) -> None:
    at = datetime.fromisoformat(start).replace(tzinfo=BJ)
    item = ITEMS["licensing"]
    events = (Event(0, "e0", "C1", "received", at, (), {}), Event(1, "e1", "C1", "accepted", at, (), {}))
    case = Case("C1", item.item_code, item.department, Applicant(), FLOW["licensing"][2], item, events)
    ev = evaluate(case, RULESET, CAL, datetime.fromisoformat(now).replace(tzinfo=BJ), BJ)
    [f] = [f for f in ev.findings if f.rule_id == "licensing.decide_within_promise"]
    assert words in f.message
    _check_clock_sentence(
        f, _report(ev.clocks, f.rule_id), case, datetime.fromisoformat(now).replace(tzinfo=BJ)
    )
