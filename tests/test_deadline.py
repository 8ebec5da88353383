"""Deadline and interval rules at the instants where their verdict changes.

Each test puts a step, or `now`, exactly on an instant the rule turns on (a deadline, the end
of a deemed-acceptance window, a pause's maximum, the first day a hearing may be held), and a
microsecond before it, and asserts what a reader of the notice sees: the finding and its
level, the deadline, the next check. A `>=` written as `>` changes one of these answers.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from monitor.calendar import WorkCalendar
from monitor.engine import RuleSet, evaluate, load_ruleset
from monitor.model import (
    Applicant,
    Case,
    Category,
    ClockReport,
    Evaluation,
    Event,
    Finding,
    ItemType,
    Level,
    LimitUnit,
    PowerItem,
)
from monitor.timeutil import DEFAULT_TZ

US = timedelta(microseconds=1)
CAL = WorkCalendar.default()
ITEM = PowerItem("XK-9", "许可", ItemType.LICENSING, "市第一局", 20, 5, LimitUnit.WORKING_DAYS, Decimal(0))


def bj(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=DEFAULT_TZ)


def _rules() -> dict[str, Any]:
    return {
        "ruleset": "edges",
        "title": "边界",
        "select": {"item_types": ["licensing"]},
        "params": {"form": "written"},
        "event_kinds": {"inspection": "检验环节"},
        # a step timed before the first step of an earlier stage contradicts the record
        "flow": [["received", "investigated"], ["accepted", "filed"], ["reviewed", "decided"]],
        "rules": [
            {
                "id": "edges.decide",
                "title": "决定时限",
                "kind": "deadline",
                "category": "procedure",
                "basis": "《行政许可法》第四十二条",
                "notify": ["department"],
                # every condition reads the file's parameters, so each must be given them
                "when": 'params.form == "written" && !has(case.attributes.no_clock)',
                "clock": {
                    "start": [{"kind": "accepted", "when": 'params.form == "written"'}],
                    "stop": [{"kind": "decided", "when": 'params.form == "written"', "name": "许可决定"}],
                    "limit": 5,
                    "unit": "working_days",
                    "pause": {
                        "begin": [{"kind": "suspended", "when": 'params.form == "written"'}],
                        "end": [{"kind": "resumed", "when": 'params.form == "written"'}],
                        "max": {"amount": 3, "unit": "natural_days"},
                        "max_by_reason": {"expert_review": {"amount": 2, "unit": "natural_days"}},
                    },
                    "deemed_start": {
                        "event": [{"kind": "received", "when": 'params.form == "written"'}],
                        "within": 2,
                        "unit": "working_days",
                        "unless": [
                            {"kind": "accepted", "when": 'params.form == "written"'},
                            {"kind": "rejected"},
                        ],
                    },
                    "extension": {
                        "event": "extended",
                        "grants": [
                            {
                                "max_days": 3,
                                "approval": ["head"],
                                "when": 'params.form == "written" && !has(case.attributes.no_extension)',
                            }
                        ],
                    },
                },
                "yellow": {"left": 2},
            },
            {
                "id": "edges.twice",
                "title": "两次延长",
                "kind": "deadline",
                "category": "time_limit",
                "clock": {
                    "start": [{"kind": "filed", "name": "立案登记"}],
                    "stop": [{"kind": "closed", "name": "结案"}],
                    "limit": 10,
                    "unit": "natural_days",
                    # a maximum for one reason only: other pauses may run as long as they need
                    "pause": {
                        "begin": "suspended",
                        "end": "resumed",
                        "max_by_reason": {"expert_review": {"amount": 2, "unit": "natural_days"}},
                    },
                    "extension": {
                        "event": "extended",
                        "grants": [
                            {"max_days": 2, "approval": ["head"]},
                            {"max_days": 1, "approval": ["head"]},
                        ],
                    },
                },
            },
            {
                "id": "edges.correction_once",
                "title": "一次性告知补正",
                "kind": "deadline",
                "category": "procedure",
                # a second correction notice stops the clock the first one started
                "clock": {
                    "start": "correction_requested",
                    "stop": ["correction_requested", "correction_received"],
                    "limit": 5,
                    "unit": "working_days",
                },
            },
            {
                "id": "edges.by_law",
                "title": "法定时限",
                "kind": "deadline",
                "category": "time_limit",
                "clock": {"start": "reviewed", "stop": ["delivered"], "limit": "legal"},
            },
            {
                "id": "edges.by_catalogue",
                "title": "承诺时限",
                "kind": "deadline",
                "category": "time_limit",
                # rolling over is for natural days: a working-day count never ends on a rest day
                "clock": {
                    "start": "reviewed",
                    "stop": ["delivered"],
                    "limit": "promised",
                    "roll_over_holidays": True,
                },
            },
            {
                "id": "edges.hearing_notice",
                "title": "听证通知期间",
                "kind": "min_interval",
                "category": "procedure",
                "from": "hearing_notified",
                "to": "hearing_held",
                "at_least": {"amount": 3, "unit": "working_days"},
            },
            {
                "id": "edges.whole_period",
                "title": "期间届满后决定",
                "kind": "min_interval",
                "category": "procedure",
                "from": "pre_decision_notice",
                "to": "statement_heard",
                "at_least": {"amount": 2, "unit": "natural_days"},
                "whole_period": True,
            },
            {
                "id": "edges.by_params",
                "title": "书面送达后办结",
                "kind": "min_interval",
                "category": "procedure",
                "from": [{"kind": "delivered", "when": "event.attributes.form == params.form"}],
                "to": [{"kind": "closed", "when": "event.attributes.form == params.form"}],
                "at_least": {"amount": 1, "unit": "working_days"},
            },
            {
                "id": "edges.hours",
                "title": "小时间隔",
                "kind": "min_interval",
                "category": "procedure",
                "from": "filed",
                "to": "investigated",
                "at_least": {"amount": 4, "unit": "hours"},
            },
        ],
    }


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    folder = Path(tempfile.mkdtemp(prefix="sunlight-edges-"))
    (folder / "edges.yaml").write_text(yaml.safe_dump(_rules(), allow_unicode=True), encoding="utf-8")
    return load_ruleset(folder, frozenset({"department", "discipline_office"}))


def case(
    *steps: tuple[str, datetime] | tuple[str, datetime, dict[str, Any]],
    item: PowerItem = ITEM,
    attributes: dict[str, Any] | None = None,
) -> Case:
    events = [
        Event(i, f"e{i}", "C1", s[0], s[1], (), s[2] if len(s) > 2 else {})  # type: ignore[misc]
        for i, s in enumerate(steps, 1)
    ]
    events.sort(key=lambda e: (e.at, e.seq))
    return Case("C1", item.item_code, item.department, Applicant(), attributes or {}, item, tuple(events))


def run(rules: RuleSet, c: Case, now: datetime) -> Evaluation:
    return evaluate(c, rules, CAL, now)


def levels(ev: Evaluation) -> dict[str, Level]:
    return {f.rule_id: f.level for f in ev.findings if f.rule_id.startswith("edges.")}


def clock(ev: Evaluation, rule_id: str = "edges.decide") -> ClockReport:
    [report] = [c for c in ev.clocks if c.rule_id == rule_id]
    return report


# Accepted Monday 2026-03-02: 5 working days end on Monday 3-09 at 24:00; yellow with two
# days left, counting today: from Friday 3-06 00:00.
ACCEPTED = bj(2026, 3, 2, 10)
DUE = bj(2026, 3, 10)
YELLOW = bj(2026, 3, 6)


def test_now_on_the_deadline_is_red_and_a_microsecond_before_is_yellow(rules: RuleSet) -> None:
    c = case(("accepted", ACCEPTED))
    before = run(rules, c, DUE - US)
    assert levels(before) == {"edges.decide": Level.YELLOW}
    assert before.next_check_at == DUE
    assert clock(before).due == DUE
    at = run(rules, c, DUE)
    assert levels(at) == {"edges.decide": Level.RED}
    assert at.next_check_at is None
    assert at.findings[0].due == DUE


def test_now_on_the_yellow_instant_is_yellow_and_a_microsecond_before_is_quiet(rules: RuleSet) -> None:
    c = case(("accepted", ACCEPTED))
    quiet = run(rules, c, YELLOW - US)
    assert levels(quiet) == {}
    assert quiet.next_check_at == YELLOW
    assert levels(run(rules, c, YELLOW)) == {"edges.decide": Level.YELLOW}


def test_a_decision_on_the_deadline_is_late_and_a_microsecond_before_is_in_time(rules: RuleSet) -> None:
    later = DUE + timedelta(days=5)
    late = run(rules, case(("accepted", ACCEPTED), ("decided", DUE)), later)
    assert levels(late) == {"edges.decide": Level.RED}
    assert clock(late).stop == DUE
    in_time = run(rules, case(("accepted", ACCEPTED), ("decided", DUE - US)), later)
    assert levels(in_time) == {}
    assert clock(in_time).level is None and clock(in_time).next_change is None


def test_a_decision_at_the_same_instant_as_the_acceptance_stops_the_clock(rules: RuleSet) -> None:
    ev = run(rules, case(("accepted", ACCEPTED), ("decided", ACCEPTED)), DUE + timedelta(days=1))
    assert clock(ev).stop == ACCEPTED
    assert levels(ev) == {}


def test_a_decision_recorded_before_the_acceptance_gives_the_clock_no_level(rules: RuleSet) -> None:
    ev = run(rules, case(("decided", ACCEPTED - US), ("accepted", ACCEPTED)), DUE + timedelta(days=1))
    report = clock(ev)
    assert report.level is None and report.due is None
    assert "早于起算时间" in report.reason
    assert "edges.decide" not in levels(ev)


def test_a_step_up_to_the_tolerance_ahead_of_now_counts_and_one_beyond_it_does_not(rules: RuleSet) -> None:
    now = DUE - timedelta(days=1)
    tolerance = timedelta(minutes=10)
    ok = run(rules, case(("accepted", ACCEPTED), ("decided", now + tolerance)), now)
    assert clock(ok).stop == now + tolerance
    ahead = run(rules, case(("accepted", ACCEPTED), ("decided", now + tolerance + US)), now)
    assert clock(ahead).stop is None and clock(ahead).level is None
    assert "晚于当前时间" in clock(ahead).reason
    assert ahead.next_check_at == now + US  # when the step is no longer in the future
    started_ahead = run(rules, case(("accepted", now + tolerance + US)), now)
    assert clock(started_ahead).due is None
    assert "尚未起算" in clock(started_ahead).reason
    started_ok = run(rules, case(("accepted", now + tolerance)), now)
    assert clock(started_ok).due is not None


# -- the deemed acceptance (行政许可法 art. 32) ------------------------------------------------

RECEIVED = bj(2026, 3, 2, 10)  # Monday: the two working days end on Wednesday 3-04 at 24:00
WINDOW_END = bj(2026, 3, 5)


def test_before_the_window_ends_the_clock_waits_and_on_its_end_it_starts_from_the_receipt(
    rules: RuleSet,
) -> None:
    c = case(("received", RECEIVED))
    waiting = run(rules, c, WINDOW_END - US)
    assert clock(waiting).start is None and clock(waiting).next_change == WINDOW_END
    assert waiting.next_check_at == WINDOW_END
    deemed = run(rules, c, WINDOW_END)
    assert clock(deemed).start == RECEIVED
    assert clock(deemed).due == DUE
    assert "依法视为自" in clock(deemed).reason


def test_an_acceptance_on_the_window_s_end_is_too_late_and_a_microsecond_before_is_in_time(
    rules: RuleSet,
) -> None:
    now = WINDOW_END + timedelta(days=1)
    late = run(rules, case(("received", RECEIVED), ("accepted", WINDOW_END)), now)
    assert clock(late).start == RECEIVED
    in_time = run(rules, case(("received", RECEIVED), ("accepted", WINDOW_END - US)), now)
    assert clock(in_time).start == WINDOW_END - US
    assert "视为" not in clock(in_time).reason


def test_an_answer_before_the_receipt_does_not_count(rules: RuleSet) -> None:
    # A rejection recorded before the receipt is not an answer to it.
    c = case(("rejected", RECEIVED - US), ("received", RECEIVED))
    assert clock(run(rules, c, WINDOW_END)).start == RECEIVED
    same = case(("received", RECEIVED), ("rejected", RECEIVED))
    assert [r.rule_id for r in run(rules, same, WINDOW_END).clocks if r.rule_id == "edges.decide"] == []


# -- pauses and their maximum ------------------------------------------------------------------

SUSPENDED = bj(2026, 3, 3, 10)
PAUSE_MAX = bj(2026, 3, 7)  # 3 natural days from 3-03 end on 3-06 at 24:00


def test_a_pause_ending_on_its_maximum_is_overrun_and_a_microsecond_before_is_not(rules: RuleSet) -> None:
    now = bj(2026, 3, 20)
    over = case(("accepted", ACCEPTED), ("suspended", SUSPENDED), ("resumed", PAUSE_MAX), ("decided", now))
    ev = run(rules, over, now)
    assert levels(ev)["edges.decide.pause_overrun"] is Level.RED
    [message] = [f.message for f in ev.findings if f.rule_id.endswith("pause_overrun")]
    assert "应于2026年3月6日24时前结束，至2026年3月7日0时才恢复计时" in message
    within = case(
        ("accepted", ACCEPTED), ("suspended", SUSPENDED), ("resumed", PAUSE_MAX - US), ("decided", now)
    )
    assert "edges.decide.pause_overrun" not in levels(run(rules, within, now))


def test_a_running_pause_is_overrun_on_its_maximum_and_is_checked_again_there(rules: RuleSet) -> None:
    c = case(("accepted", ACCEPTED), ("suspended", SUSPENDED))
    before = run(rules, c, PAUSE_MAX - US)
    assert levels(before) == {}
    assert before.next_check_at == PAUSE_MAX
    assert clock(before).due is None
    assert "自" in clock(before).reason and "起不计入时限" in clock(before).reason
    at = run(rules, c, PAUSE_MAX)
    assert levels(at) == {"edges.decide.pause_overrun": Level.RED}
    assert "至今仍未恢复计时" in at.findings[0].message


def test_the_maximum_by_reason_is_the_shorter_one(rules: RuleSet) -> None:
    review = {"reason": "expert_review"}
    c = case(("accepted", ACCEPTED), ("suspended", SUSPENDED, review))
    end = bj(2026, 3, 6)  # 2 natural days from 3-03
    assert run(rules, c, end - US).next_check_at == end
    assert levels(run(rules, c, end)) == {"edges.decide.pause_overrun": Level.RED}


def test_a_pause_moves_the_deadline_by_its_working_days(rules: RuleSet) -> None:
    # Suspended Tue 3-03, resumed Thu 3-05: 3-04 and 3-05 do not count, due Wed 3-11.
    c = case(("accepted", ACCEPTED), ("suspended", SUSPENDED), ("resumed", bj(2026, 3, 5, 15)))
    ev = run(rules, c, bj(2026, 3, 6))
    assert clock(ev).due == bj(2026, 3, 12)
    assert clock(ev).paused == ((SUSPENDED, bj(2026, 3, 5, 15), "suspended"),)


def test_a_pause_after_the_decision_is_not_a_pause(rules: RuleSet) -> None:
    decided = bj(2026, 3, 4, 10)
    c = case(("accepted", ACCEPTED), ("decided", decided), ("suspended", decided + US), ("resumed", DUE))
    ev = run(rules, c, DUE)
    assert clock(ev).paused == ()
    on = case(("accepted", ACCEPTED), ("decided", decided), ("suspended", decided), ("resumed", DUE))
    assert len(clock(run(rules, on, DUE)).paused) == 1  # suspended at the very instant: inside


def test_a_second_suspension_inside_a_running_pause_adds_nothing(rules: RuleSet) -> None:
    c = case(
        ("accepted", ACCEPTED),
        ("suspended", SUSPENDED),
        ("suspended", bj(2026, 3, 4, 10)),
        ("resumed", bj(2026, 3, 5, 15)),
        ("suspended", bj(2026, 3, 5, 15)),
        ("resumed", bj(2026, 3, 5, 16)),
    )
    paused = clock(run(rules, c, bj(2026, 3, 6))).paused
    assert [p[0] for p in paused] == [SUSPENDED, bj(2026, 3, 5, 15)]


# -- extension ---------------------------------------------------------------------------------


def test_an_extension_asked_on_the_deadline_is_too_late_and_a_microsecond_before_counts(
    rules: RuleSet,
) -> None:
    approved = {"approved_by": "局长", "days": 3}
    late = run(rules, case(("accepted", ACCEPTED), ("extended", DUE, approved)), DUE + US)
    assert levels(late) == {"edges.decide": Level.RED, "edges.decide.extension": Level.RED}
    assert "届满后才提出" in next(f.message for f in late.findings if f.rule_id.endswith("extension"))
    assert clock(late).extension_days == 0
    ok = run(rules, case(("accepted", ACCEPTED), ("extended", DUE - US, approved)), DUE + US)
    assert clock(ok).extension_days == 3
    assert clock(ok).due == bj(2026, 3, 13)  # three more working days: Wed to Fri
    assert levels(ok) == {}
    assert ok.next_check_at == bj(2026, 3, 11)  # yellow with two days left: Wed 3-11 and Thu 3-12


@pytest.mark.parametrize(
    ("attributes", "days", "wrong"),
    [
        ({"approved_by": "局长", "days": 3}, 3, None),
        ({"approved_by": "局长"}, 3, None),  # no figure: the grant's maximum
        ({"approval": "head", "days": 0}, 0, None),
        ({"approval": "head", "days": 2.0}, 2, None),
        ({"days": 3}, 0, "无批准记录"),
        ({"approval": "government_head", "days": 3}, 0, "而本次延长须经"),
        ({"approved_by": "局长", "days": 4}, 0, "超过本次最多可延长的3"),
        ({"approved_by": "局长", "days": -1}, 0, "延长期限记录有误"),
        ({"approved_by": "局长", "days": 2.5}, 0, "延长期限记录有误"),
        ({"approved_by": "局长", "days": True}, 0, "延长期限记录有误"),
        ({"approved_by": "局长", "days": "3"}, 0, "延长期限记录有误"),
        ({"approval": "", "approved_by": "局长", "days": 1}, 1, None),
    ],
)
def test_an_extension_counts_only_when_approved_within_its_maximum(
    rules: RuleSet, attributes: dict[str, Any], days: int, wrong: str | None
) -> None:
    ev = run(rules, case(("accepted", ACCEPTED), ("extended", bj(2026, 3, 4), attributes)), bj(2026, 3, 5))
    assert clock(ev).extension_days == days
    found = [f.message for f in ev.findings if f.rule_id == "edges.decide.extension"]
    if wrong is None:
        assert found == []
    else:
        [message] = found
        assert wrong in message and message.startswith("延长期限无效")


def test_a_second_extension_is_refused_and_the_first_still_counts(rules: RuleSet) -> None:
    approved = {"approved_by": "局长", "days": 2}
    c = case(
        ("accepted", ACCEPTED), ("extended", bj(2026, 3, 3), approved), ("extended", bj(2026, 3, 4), approved)
    )
    ev = run(rules, c, bj(2026, 3, 5))
    assert clock(ev).extension_days == 2
    [message] = [f.message for f in ev.findings if f.rule_id == "edges.decide.extension"]
    assert "第2次延长2个工作日" in message and "超过允许的延长次数（1次）" in message
    assert "第1次" not in message


def test_an_extension_after_the_decision_is_not_looked_at(rules: RuleSet) -> None:
    decided = bj(2026, 3, 4)
    c = case(("accepted", ACCEPTED), ("decided", decided), ("extended", decided + US, {"days": 9}))
    ev = run(rules, c, bj(2026, 3, 5))
    assert clock(ev).extension_days == 0
    assert levels(ev) == {}


# -- limits from the catalogue -----------------------------------------------------------------


def test_the_promised_limit_comes_from_the_catalogue_and_falls_back_to_the_legal_one(rules: RuleSet) -> None:
    reviewed = bj(2026, 3, 2, 10)
    promised = run(rules, case(("reviewed", reviewed)), bj(2026, 3, 3))
    assert clock(promised, "edges.by_catalogue").limit == 5
    legal_only = PowerItem(
        "XK-9", "许可", ItemType.LICENSING, "局", 20, None, LimitUnit.NATURAL_DAYS, Decimal(0)
    )
    ev = run(rules, case(("reviewed", reviewed), item=legal_only), bj(2026, 3, 3))
    assert clock(ev, "edges.by_catalogue").limit == 20
    # natural days, the catalogue's unit: 3-22 is a Sunday, rolled over to Monday
    assert clock(ev, "edges.by_catalogue").due == bj(2026, 3, 24)
    none = PowerItem("XK-9", "许可", ItemType.LICENSING, "局", None, None, LimitUnit.WORKING_DAYS, Decimal(0))
    ev = run(rules, case(("reviewed", reviewed), item=none), bj(2026, 3, 3))
    [finding] = [f for f in ev.findings if f.rule_id == "edges.by_catalogue"]
    assert finding.level is Level.YELLOW and "没有承诺时限" in finding.message


# -- minimum intervals -------------------------------------------------------------------------

NOTIFIED = bj(2026, 3, 2, 15)  # Monday: three working days counted, the hearing may be on Thursday


def test_a_hearing_on_the_first_allowed_day_is_in_time_and_a_microsecond_before_is_too_early(
    rules: RuleSet,
) -> None:
    first_day = bj(2026, 3, 5)
    now = bj(2026, 3, 10)
    ok = run(rules, case(("hearing_notified", NOTIFIED), ("hearing_held", first_day)), now)
    assert "edges.hearing_notice" not in levels(ok)
    early = run(rules, case(("hearing_notified", NOTIFIED), ("hearing_held", first_day - US)), now)
    [finding] = [f for f in early.findings if f.rule_id == "edges.hearing_notice"]
    assert finding.level is Level.RED
    assert "最早应在其后第3个工作日即2026年3月5日" in finding.message


def test_a_whole_period_ends_at_midnight_after_its_last_day(rules: RuleSet) -> None:
    end = bj(2026, 3, 5)  # 2 natural days from 3-02 end on 3-04 at 24:00
    now = bj(2026, 3, 10)
    ok = run(rules, case(("pre_decision_notice", NOTIFIED), ("statement_heard", end)), now)
    assert "edges.whole_period" not in levels(ok)
    early = run(rules, case(("pre_decision_notice", NOTIFIED), ("statement_heard", end - US)), now)
    [finding] = [f for f in early.findings if f.rule_id == "edges.whole_period"]
    assert "早于期间届满" in finding.message


def test_an_interval_in_hours_ends_on_the_instant(rules: RuleSet) -> None:
    filed = bj(2026, 3, 2, 9)
    now = bj(2026, 3, 3)
    ok = run(rules, case(("filed", filed), ("investigated", filed + timedelta(hours=4))), now)
    assert "edges.hours" not in levels(ok)
    early = run(rules, case(("filed", filed), ("investigated", filed + timedelta(hours=4) - US)), now)
    [finding] = [f for f in early.findings if f.rule_id == "edges.hours"]
    assert "间隔不足" in finding.message
    same = run(rules, case(("filed", filed), ("investigated", filed)), now)
    assert "edges.hours" in levels(same)  # equal times: the interval is zero


def test_an_interval_step_in_the_future_is_not_judged(rules: RuleSet) -> None:
    now = NOTIFIED + timedelta(hours=1)
    ahead = now + timedelta(minutes=10) + US
    ev = run(rules, case(("hearing_notified", NOTIFIED), ("hearing_held", ahead)), now)
    assert "edges.hearing_notice" not in levels(ev)
    on = run(rules, case(("hearing_notified", NOTIFIED), ("hearing_held", ahead - US)), now)
    assert "edges.hearing_notice" in levels(on)


@pytest.mark.parametrize(
    ("attributes", "named"),
    [
        ({"reason": "expert_review"}, "特别程序“专家评审”"),  # a reason the vocabulary names
        ({}, "特别程序“暂停计时（特别程序）”"),  # no reason: the step's own name
        ({"reason": "检验检测"}, "特别程序“检验检测”"),  # a reason as written
    ],
)
def test_the_notice_names_a_pause_by_its_reason(
    rules: RuleSet, attributes: dict[str, Any], named: str
) -> None:
    c = case(("accepted", ACCEPTED), ("suspended", SUSPENDED, attributes))
    running = clock(run(rules, c, SUSPENDED + US))
    assert f"；{named}自2026年3月3日10时起不计入时限，计时暂停中" in running.reason
    overrun = run(rules, c, bj(2026, 3, 20))
    [message] = [f.message for f in overrun.findings if f.rule_id == "edges.decide.pause_overrun"]
    assert message.startswith(f"{named}自2026年3月3日10时起暂停计时")


def test_the_running_pause_the_note_names_is_the_last_one(rules: RuleSet) -> None:
    c = case(
        ("accepted", ACCEPTED),
        ("suspended", SUSPENDED, {"reason": "检验检测"}),
        ("resumed", bj(2026, 3, 3, 11)),
        ("suspended", bj(2026, 3, 3, 12), {"reason": "expert_review"}),
    )
    note = clock(run(rules, c, bj(2026, 3, 3, 13))).reason
    assert "特别程序“专家评审”自2026年3月3日12时起不计入时限" in note
    assert "检验检测" not in note
    resumed = case(("accepted", ACCEPTED), ("suspended", SUSPENDED), ("resumed", bj(2026, 3, 3, 11)))
    # a pause that resumed the same day moves nothing and is not mentioned
    assert clock(run(rules, resumed, bj(2026, 3, 3, 13))).reason == (
        "自受理（2026年3月2日10时）起5个工作日，期限至2026年3月9日24时届满；已用1个工作日。"
    )


def test_interval_steps_are_matched_with_the_file_s_parameters(rules: RuleSet) -> None:
    written = {"form": "written"}
    delivered = bj(2026, 3, 2, 9)
    early = case(("delivered", delivered, written), ("closed", delivered + timedelta(hours=1), written))
    assert levels(run(rules, early, bj(2026, 3, 3))) == {"edges.by_params": Level.RED}
    oral = case(
        ("delivered", delivered, {"form": "oral"}), ("closed", delivered + timedelta(hours=1), written)
    )
    assert levels(run(rules, oral, bj(2026, 3, 3))) == {}


def test_a_pause_reason_named_both_as_a_step_and_as_a_reason_reads_as_the_reason(rules: RuleSet) -> None:
    c = case(("accepted", ACCEPTED), ("suspended", SUSPENDED, {"reason": "inspection"}))
    assert "特别程序“检验”自" in clock(run(rules, c, SUSPENDED + US)).reason


def test_a_pause_without_a_reason_reads_as_the_catalogue_names_the_step(rules: RuleSet) -> None:
    own = PowerItem(
        "XK-9", "许可", ItemType.LICENSING, "局", 20, 5, LimitUnit.WORKING_DAYS, Decimal(0),
        {"step_names": {"suspended": "中止审查"}},
    )  # fmt: skip
    c = case(("accepted", ACCEPTED), ("suspended", SUSPENDED), item=own)
    assert "特别程序“中止审查”自" in clock(run(rules, c, SUSPENDED + US)).reason


def test_the_waiting_clock_says_which_answers_it_waits_for(rules: RuleSet) -> None:
    report = clock(run(rules, case(("received", RECEIVED)), RECEIVED + US))
    assert (
        report.reason
        == "尚未起算：如至2026年3月4日24时仍无“受理”、“不予受理”的记录，视为自“收件”之日起受理。"
    )


def test_an_interval_from_or_to_a_contested_step_is_not_judged(rules: RuleSet) -> None:
    filed = bj(2026, 3, 2, 9)
    early = filed + timedelta(hours=1)
    now = bj(2026, 3, 3)
    plain = case(("filed", filed), ("investigated", early))
    assert "edges.hours" in levels(run(rules, plain, now))
    # filed before the acceptance (an earlier stage): `from` is contested
    from_contested = case(("accepted", filed + timedelta(hours=2)), ("filed", filed), ("investigated", early))
    assert "edges.hours" not in levels(run(rules, from_contested, now))
    # investigated before the receipt: `to` is contested
    to_contested = case(("received", filed + timedelta(hours=2)), ("filed", filed), ("investigated", early))
    assert "edges.hours" not in levels(run(rules, to_contested, now))


def test_a_clock_stopped_by_a_contested_step_gives_no_level(rules: RuleSet) -> None:
    c = case(("accepted", ACCEPTED), ("reviewed", DUE), ("decided", DUE - US))
    report = clock(run(rules, c, DUE + timedelta(days=3)))
    assert report.level is None and report.due is None
    assert "相互矛盾" in report.reason


UTC_ZONE = ZoneInfo("UTC")


def test_in_another_zone_the_intervals_count_and_speak_in_that_zone(rules: RuleSet) -> None:
    now = bj(2026, 3, 10)
    ev = evaluate(
        case(("hearing_notified", NOTIFIED), ("hearing_held", bj(2026, 3, 5, 7))), rules, CAL, now, UTC_ZONE
    )
    [message] = [f.message for f in ev.findings if f.rule_id == "edges.hearing_notice"]
    # notified 3-02 07:00 UTC: the third working day after it begins 3-05 00:00 UTC (08:00 in Beijing)
    assert message == (
        "听证通知于2026年3月2日7时，举行听证最早应在其后第3个工作日即2026年3月5日；"
        "举行听证于2026年3月4日23时，间隔不足3个工作日。"
    )
    filed = bj(2026, 3, 2, 9)
    ev = evaluate(
        case(("filed", filed), ("investigated", filed + timedelta(hours=1))), rules, CAL, now, UTC_ZONE
    )
    [message] = [f.message for f in ev.findings if f.rule_id == "edges.hours"]
    assert (
        message
        == "立案于2026年3月2日1时，须满4小时（至2026年3月2日5时）；调查取证于2026年3月2日2时，间隔不足。"
    )
    heard = bj(2026, 3, 4, 9)
    ev = evaluate(
        case(("pre_decision_notice", NOTIFIED), ("statement_heard", heard)), rules, CAL, now, UTC_ZONE
    )
    [message] = [f.message for f in ev.findings if f.rule_id == "edges.whole_period"]
    assert message == (
        "处罚事先告知于2026年3月2日7时，2日的期间至2026年3月4日24时届满；"
        "听取陈述申辩于2026年3月4日1时，早于期间届满。"
    )


def test_in_another_zone_the_waiting_clock_speaks_in_that_zone(rules: RuleSet) -> None:
    early = bj(2026, 3, 2, 7)  # still Sunday 3-01 in UTC: two working days end on 3-03
    ev = evaluate(case(("received", early)), rules, CAL, early + US, UTC_ZONE)
    assert clock(ev).reason.startswith("尚未起算：如至2026年3月3日24时仍无")
    assert clock(run(rules, case(("received", early)), early + US)).reason.startswith(
        "尚未起算：如至2026年3月4日24时"
    )


def test_an_extension_where_the_law_allows_none_is_refused(rules: RuleSet) -> None:
    c = case(
        ("accepted", ACCEPTED),
        ("extended", bj(2026, 3, 4, 9), {"approved_by": "局长", "days": 3}),
        attributes={"no_extension": True},
    )
    ev = run(rules, c, bj(2026, 3, 5))
    assert clock(ev).extension_days == 0
    [message] = [f.message for f in ev.findings if f.rule_id == "edges.decide.extension"]
    assert (
        message
        == "延长期限无效，不计入办理时限：第1次延长3个工作日（2026年3月4日9时提出）：本办件依法不得延长期限。"
    )


def test_an_extension_asked_at_the_instant_of_the_decision_counts(rules: RuleSet) -> None:
    at = bj(2026, 3, 4)
    c = case(("accepted", ACCEPTED), ("extended", at, {"approved_by": "局长", "days": 3}), ("decided", at))
    report = clock(run(rules, c, bj(2026, 3, 5)))
    assert report.extension_days == 3
    assert report.due == bj(2026, 3, 13)


def test_in_another_zone_a_late_extension_names_the_deadline_in_that_zone(rules: RuleSet) -> None:
    due_utc = datetime(2026, 3, 10, tzinfo=UTC_ZONE)  # 5 working days from 3-02 02:00 UTC
    c = case(("accepted", ACCEPTED), ("extended", due_utc, {"approved_by": "局长", "days": 3}))
    ev = evaluate(c, rules, CAL, due_utc + US, UTC_ZONE)
    [message] = [f.message for f in ev.findings if f.rule_id == "edges.decide.extension"]
    assert message == (
        "延长期限无效，不计入办理时限：第1次延长3个工作日（2026年3月10日0时提出）："
        "在期限（2026年3月9日24时）届满后才提出。"
    )


def test_two_grants_allow_two_extensions_and_refuse_a_third(rules: RuleSet) -> None:
    approved = {"approved_by": "局长"}
    c = case(
        ("filed", bj(2026, 3, 2, 9)),
        ("extended", bj(2026, 3, 3, 9), approved),
        ("extended", bj(2026, 3, 4, 9), approved),
        ("extended", bj(2026, 3, 5, 9), approved),
    )
    ev = run(rules, c, bj(2026, 3, 6))
    assert clock(ev, "edges.twice").extension_days == 3  # the first grant's 2 days, the second's 1
    [message] = [f.message for f in ev.findings if f.rule_id == "edges.twice.extension"]
    assert message == (
        "延长期限无效，不计入办理时限：第3次延长期限（2026年3月5日9时提出）："
        "已有2次有效延长，超过允许的延长次数（2次）。"
    )


def test_every_invalid_extension_is_named_with_every_fault(rules: RuleSet) -> None:
    c = case(
        ("accepted", ACCEPTED),
        ("extended", bj(2026, 3, 3, 9), {"days": 4}),
        ("extended", bj(2026, 3, 4, 9), {"approved_by": "局长", "days": "三"}),
    )
    ev = run(rules, c, bj(2026, 3, 5))
    [finding] = [f for f in ev.findings if f.rule_id == "edges.decide.extension"]
    assert finding == Finding(
        "edges.decide.extension",
        "决定时限（延长期限）",
        Category.PROCEDURE,
        Level.RED,
        "延长期限无效，不计入办理时限："
        "第1次延长4个工作日（2026年3月3日9时提出）：无批准记录（须经本行政机关负责人批准）；"
        "延长4个工作日，超过本次最多可延长的3个工作日；"
        "第2次延长期限（2026年3月4日9时提出）：延长期限记录有误（“三”）。",
        "《行政许可法》第四十二条",
        None,
        ("department",),
    )


def test_a_pause_overrun_is_a_red_time_limit_finding_due_at_the_maximum(rules: RuleSet) -> None:
    ev = run(rules, case(("accepted", ACCEPTED), ("suspended", SUSPENDED)), PAUSE_MAX)
    [finding] = ev.findings
    assert finding == Finding(
        "edges.decide.pause_overrun",
        "决定时限（特别程序超期）",
        Category.TIME_LIMIT,
        Level.RED,
        "特别程序“暂停计时（特别程序）”自2026年3月3日10时起暂停计时，最长3日，"
        "应于2026年3月6日24时前结束，至今仍未恢复计时。",
        "《行政许可法》第四十二条",
        PAUSE_MAX,
        ("department",),
        PAUSE_MAX,  # the breach began when the longest pause ran out
    )


def test_the_deemed_acceptance_is_told_in_the_clock_s_sentence(rules: RuleSet) -> None:
    deemed = clock(run(rules, case(("received", RECEIVED)), WINDOW_END))
    assert deemed.reason.endswith(
        "（收件后2个工作日内，即至2026年3月4日24时，未作出“受理”、“不予受理”，依法视为自收件之日起受理）"
    )
    early = bj(2026, 3, 2, 7)  # Sunday 3-01 in UTC: the window ends on 3-03 at 24:00 UTC
    in_utc = clock(
        evaluate(case(("received", early)), rules, CAL, datetime(2026, 3, 4, tzinfo=UTC_ZONE), UTC_ZONE)
    )
    assert in_utc.reason.endswith(
        "即至2026年3月3日24时，未作出“受理”、“不予受理”，依法视为自收件之日起受理）"
    )


def test_a_clock_that_starts_for_real_adds_no_note(rules: RuleSet) -> None:
    answered = clock(run(rules, case(("received", RECEIVED), ("accepted", RECEIVED)), RECEIVED + US))
    assert (
        answered.reason
        == "自受理（2026年3月2日10时）起5个工作日，期限至2026年3月9日24时届满；已用0个工作日。"
    )
    # accepted before the receipt was recorded, and the window still open: the acceptance counts
    before = clock(run(rules, case(("accepted", ACCEPTED), ("received", ACCEPTED + US)), ACCEPTED + US))
    assert (
        before.reason == "自受理（2026年3月2日10时）起5个工作日，期限至2026年3月9日24时届满；已用0个工作日。"
    )


def test_a_silent_clock_reports_no_figure_but_its_start(rules: RuleSet) -> None:
    c = case(("accepted", ACCEPTED), ("reviewed", DUE), ("decided", DUE - US))
    report = clock(run(rules, c, DUE + timedelta(days=3)))
    expected = ClockReport(
        "edges.decide", "决定时限", LimitUnit.WORKING_DAYS, None, ACCEPTED, None, None, "", None, (), 0, 0,
        False, None, lambda: "", None, Category.PROCEDURE,
    )  # fmt: skip
    assert report == expected
    assert report.reason == (
        "自受理（2026年3月2日10时）起计算；“作出决定”的记录时间与办件其他环节相互矛盾，更正前时限不作判断。"
    )
    in_utc = clock(evaluate(c, rules, CAL, DUE + timedelta(days=3), UTC_ZONE))
    assert in_utc.reason.startswith("自受理（2026年3月2日2时）起计算；")


def test_a_silent_clock_keeps_its_rule_s_unit_and_the_catalogue_s_falls_back(rules: RuleSet) -> None:
    now = bj(2026, 3, 2, 9)
    future = now + timedelta(hours=1)
    ev = run(rules, case(("filed", future), ("reviewed", future)), now)
    assert clock(ev, "edges.twice").unit is LimitUnit.NATURAL_DAYS
    assert clock(ev, "edges.by_catalogue").unit is LimitUnit.WORKING_DAYS
    assert clock(ev, "edges.twice").next_change == future - timedelta(minutes=10)


def test_a_pause_without_a_maximum_is_passed_over_for_the_next_one(rules: RuleSet) -> None:
    c = case(
        ("filed", bj(2026, 3, 2, 9)),
        ("suspended", bj(2026, 3, 3, 9)),
        ("resumed", bj(2026, 3, 4, 9)),
        ("suspended", bj(2026, 3, 5, 9), {"reason": "expert_review"}),
    )
    ev = run(rules, c, bj(2026, 3, 8))
    [finding] = [f for f in ev.findings if f.rule_id == "edges.twice.pause_overrun"]
    assert finding.due == bj(2026, 3, 8)


def test_in_another_zone_a_pause_overrun_speaks_in_that_zone(rules: RuleSet) -> None:
    c = case(("accepted", ACCEPTED), ("suspended", SUSPENDED), ("resumed", bj(2026, 3, 7, 9)))
    ev = evaluate(c, rules, CAL, bj(2026, 3, 8), UTC_ZONE)
    [message] = [f.message for f in ev.findings if f.rule_id == "edges.decide.pause_overrun"]
    assert message == (
        "特别程序“暂停计时（特别程序）”自2026年3月3日2时起暂停计时，最长3日，"
        "应于2026年3月6日24时前结束，至2026年3月7日1时才恢复计时。"
    )


def test_a_clock_whose_condition_fails_does_not_run(rules: RuleSet) -> None:
    c = case(("accepted", ACCEPTED), attributes={"no_clock": True})
    ev = run(rules, c, DUE)
    assert [r for r in ev.clocks if r.rule_id == "edges.decide"] == []
    assert levels(ev) == {}


def test_a_stop_before_the_start_does_not_matter_once_one_comes_after_it(rules: RuleSet) -> None:
    decided = ACCEPTED + timedelta(days=1)
    c = case(("decided", ACCEPTED - timedelta(hours=1)), ("accepted", ACCEPTED), ("decided", decided))
    report = clock(run(rules, c, DUE + timedelta(days=1)))
    assert report.stop == decided and report.due == DUE


def test_a_stop_recorded_only_before_the_start_is_named_in_the_clock_s_sentence(rules: RuleSet) -> None:
    c = case(("decided", ACCEPTED - US), ("accepted", ACCEPTED))
    ev = run(rules, c, DUE + timedelta(days=1))
    assert clock(ev).reason == (
        "自受理（2026年3月2日10时）起计算；“许可决定”记录于2026年3月2日9时59分，早于起算时间，"
        "记录自相矛盾，时限无法计算。"
    )
    in_utc = clock(evaluate(c, rules, CAL, DUE + timedelta(days=1), UTC_ZONE)).reason
    assert in_utc.startswith("自受理（2026年3月2日2时）起计算；“许可决定”记录于2026年3月2日1时59分，")


def test_a_clock_that_stops_on_its_own_kind_starts_with_the_first_and_stops_with_the_second(
    rules: RuleSet,
) -> None:
    first = bj(2026, 3, 2, 10)
    once = clock(run(rules, case(("correction_requested", first)), bj(2026, 3, 3)), "edges.correction_once")
    assert (once.start, once.stop, once.due) == (first, None, bj(2026, 3, 10))
    again = bj(2026, 3, 4, 10)
    twice = case(("correction_requested", first), ("correction_requested", again))
    assert clock(run(rules, twice, bj(2026, 3, 5)), "edges.correction_once").stop == again


def test_a_pause_resumed_at_the_instant_it_began_is_closed(rules: RuleSet) -> None:
    c = case(("accepted", ACCEPTED), ("suspended", SUSPENDED), ("resumed", SUSPENDED))
    report = clock(run(rules, c, bj(2026, 3, 4)))
    assert report.paused == ((SUSPENDED, SUSPENDED, "suspended"),)
    assert report.due == DUE


def test_a_clock_started_for_real_says_so_without_a_note(rules: RuleSet) -> None:
    report = clock(run(rules, case(("filed", bj(2026, 3, 2, 9))), bj(2026, 3, 3)), "edges.twice")
    assert report.reason == "自立案登记（2026年3月2日9时）起10日，期限至2026年3月12日24时届满；已用1日。"


NEW_YORK = ZoneInfo("America/New_York")
AUCKLAND = ZoneInfo("Pacific/Auckland")


def test_a_contradiction_names_the_stop_as_the_rule_names_it(rules: RuleSet) -> None:
    ev = run(rules, case(("decided", ACCEPTED - US), ("accepted", ACCEPTED)), DUE)
    texts = [f.message for f in ev.findings if f.rule_id.startswith("data_quality")]
    assert any("许可决定" in t for t in texts), texts


def test_a_start_or_stop_in_the_future_is_told_in_the_evaluation_zone(rules: RuleSet) -> None:
    now = bj(2026, 3, 3, 9)
    ahead = now + timedelta(hours=1)
    start = clock(evaluate(case(("accepted", ahead)), rules, CAL, now, UTC_ZONE))
    assert start.reason == "自受理（2026年3月3日2时）起计算；起算环节的记录时间晚于当前时间，尚未起算。"
    stop = clock(evaluate(case(("accepted", ACCEPTED), ("decided", ahead)), rules, CAL, now, UTC_ZONE))
    assert stop.reason == (
        "自受理（2026年3月2日2时）起计算；“作出决定”的记录时间（2026年3月3日2时）晚于当前时间，无法判断是否按时。"
    )


def test_a_catalogue_without_a_legal_limit_is_a_yellow_finding(rules: RuleSet) -> None:
    none = PowerItem("XK-9", "许可", ItemType.LICENSING, "局", None, 5, LimitUnit.WORKING_DAYS, Decimal(0))
    ev = run(rules, case(("reviewed", bj(2026, 3, 2, 10)), item=none), bj(2026, 3, 3))
    [finding] = [f for f in ev.findings if f.rule_id == "edges.by_law"]
    assert (finding.level, finding.message) == (
        Level.YELLOW,
        "事项“XK-9”在职权目录中没有法定时限，无法计算时限。",
    )


def test_a_stop_just_ahead_of_now_is_judged_as_of_the_stop(rules: RuleSet) -> None:
    # the feeding host's clock runs a few minutes ahead: the decision at 00:04 is late
    c = case(("accepted", ACCEPTED), ("decided", DUE + timedelta(minutes=4)))
    ev = run(rules, c, DUE - timedelta(minutes=1))
    assert levels(ev) == {"edges.decide": Level.RED}


def test_the_waiting_report_has_no_figure_but_when_it_starts(rules: RuleSet) -> None:
    report = clock(run(rules, case(("received", RECEIVED)), RECEIVED + US))
    assert report == ClockReport(
        "edges.decide", "决定时限", LimitUnit.WORKING_DAYS, None, None, None, None, "", None, (), 0, 0,
        False, None, lambda: "", WINDOW_END, Category.PROCEDURE,
    )  # fmt: skip


def test_a_running_pause_is_told_in_the_evaluation_zone(rules: RuleSet) -> None:
    c = case(("accepted", ACCEPTED), ("suspended", SUSPENDED))
    note = clock(evaluate(c, rules, CAL, SUSPENDED + US, NEW_YORK)).reason
    assert "特别程序“暂停计时（特别程序）”自2026年3月2日21时起不计入时限" in note


def test_in_new_york_and_auckland_the_intervals_count_their_own_days(rules: RuleSet) -> None:
    now = bj(2026, 3, 10)
    filed = bj(2026, 3, 2, 9)  # 3-01 20:00 in New York
    ev = evaluate(
        case(("filed", filed), ("investigated", filed + timedelta(hours=1))), rules, CAL, now, NEW_YORK
    )
    [message] = [f.message for f in ev.findings if f.rule_id == "edges.hours"]
    assert (
        message
        == "立案于2026年3月1日20时，须满4小时（至2026年3月1日24时）；调查取证于2026年3月1日21时，间隔不足。"
    )
    # notified Monday 3-02 02:00 in New York: the hearing may be held from Thursday 3-05 there
    held = datetime(2026, 3, 5, tzinfo=NEW_YORK) - US
    ev = evaluate(case(("hearing_notified", NOTIFIED), ("hearing_held", held)), rules, CAL, now, NEW_YORK)
    [message] = [f.message for f in ev.findings if f.rule_id == "edges.hearing_notice"]
    assert "最早应在其后第3个工作日即2026年3月5日；" in message
    # notified Monday 3-02 20:00 in Auckland: from Thursday 3-05 there, still 3-04 in Beijing
    held = datetime(2026, 3, 5, tzinfo=AUCKLAND) - US
    ev = evaluate(case(("hearing_notified", NOTIFIED), ("hearing_held", held)), rules, CAL, now, AUCKLAND)
    [message] = [f.message for f in ev.findings if f.rule_id == "edges.hearing_notice"]
    assert "最早应在其后第3个工作日即2026年3月5日；" in message


def test_a_roll_over_is_told_for_natural_days_only(rules: RuleSet) -> None:
    reviewed = bj(2026, 3, 2, 10)
    working = clock(run(rules, case(("reviewed", reviewed)), bj(2026, 3, 3)), "edges.by_catalogue")
    assert (
        working.reason == "自审查（2026年3月2日10时）起5个工作日，期限至2026年3月9日24时届满；已用1个工作日。"
    )
    natural_item = PowerItem(
        "XK-9", "许可", ItemType.LICENSING, "局", 20, None, LimitUnit.NATURAL_DAYS, Decimal(0)
    )
    natural = clock(
        run(rules, case(("reviewed", reviewed), item=natural_item), bj(2026, 3, 3)), "edges.by_catalogue"
    )
    assert "届满（期限届满日2026年3月22日为休息日，顺延至2026年3月23日）" in natural.reason


def test_a_clock_stopped_late_reports_every_figure(rules: RuleSet) -> None:
    filed, closed = bj(2026, 3, 2, 9), bj(2026, 3, 13, 9)
    c = case(("filed", filed), ("closed", closed))
    report = clock(run(rules, c, bj(2026, 3, 20)), "edges.twice")
    assert report == ClockReport(
        "edges.twice", "两次延长", LimitUnit.NATURAL_DAYS, 10, filed, closed, bj(2026, 3, 13), "2026-03-12",
        11.0, (), 0, 0, False, Level.RED, lambda: "", None, Category.TIME_LIMIT,
    )  # fmt: skip
    assert report.reason.startswith("自立案登记（2026年3月2日9时）起10日，期限至2026年3月12日24时届满；")
    assert "结案" in report.reason


def test_a_red_clock_s_finding_says_what_its_report_says(rules: RuleSet) -> None:
    ev = run(rules, case(("accepted", ACCEPTED)), DUE)
    report = clock(ev)
    assert report == ClockReport(
        "edges.decide", "决定时限", LimitUnit.WORKING_DAYS, 5, ACCEPTED, None, DUE, "2026-03-09", 6.0, (),
        2, 0, False, Level.RED, lambda: "", None, Category.PROCEDURE,
    )  # fmt: skip
    [finding] = ev.findings
    assert finding.message == report.reason
    assert (finding.level, finding.due, finding.category) == (Level.RED, DUE, Category.PROCEDURE)
    paused = clock(run(rules, case(("accepted", ACCEPTED), ("suspended", SUSPENDED)), SUSPENDED + US))
    assert (paused.due, paused.due_date_label) == (None, "")
