"""The 督办 verbs: who may take each, the states each needs, the record and the deadline."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from alerts.supervision import InvalidInputError, of_alert, open_supervisions, reply, rule, supervise
from alerts.supervision.service import get
from monitor.access import Actor, ForbiddenError, StateConflictError
from monitor.errors import NotFoundError
from monitor.state.schema import alert_history
from tests.conftest import BJ, Harness, bj
from tests.supervision_helpers import DEPT, OFFICE, OPERATOR, OTHER, RAISED_AT, alert, red_alert, settings_of

NOW = RAISED_AT + timedelta(hours=1)


def _supervise(h: Harness, alert_id: int, actor: Actor = OFFICE, **kw: Any) -> Any:
    args: dict[str, Any] = {"demand": "rectify", "reply_within_days": 5, "note": "请限期整改", "now": NOW}
    args.update(kw)
    with h.app.state.begin() as conn:
        return supervise(conn, actor, alert_id, settings=settings_of(h), **args)


def _reply(h: Harness, alert_id: int, actor: Actor = DEPT, **kw: Any) -> Any:
    args: dict[str, Any] = {
        "kind": "rectified",
        "text": "已于当日补办决定并送达",
        "now": NOW + timedelta(days=1),
    }
    args.update(kw)
    with h.app.state.begin() as conn:
        return reply(conn, actor, alert_id, settings=settings_of(h), **args)


def _rule(h: Harness, alert_id: int, actor: Actor = OFFICE, **kw: Any) -> Any:
    args: dict[str, Any] = {"decision": "accepted", "note": "整改到位", "now": NOW + timedelta(days=2)}
    args.update(kw)
    with h.app.state.begin() as conn:
        return rule(conn, actor, alert_id, settings=settings_of(h), **args)


VERBS = {"supervise": _supervise, "reply": _reply, "rule": _rule}
# Who may take each verb on an alert of 市市场监督管理局, and what the others get.
MATRIX = [
    ("supervise", OFFICE, None),
    ("supervise", DEPT, ForbiddenError),
    ("supervise", OTHER, ForbiddenError),
    ("supervise", OPERATOR, ForbiddenError),
    ("reply", DEPT, None),
    ("reply", OFFICE, ForbiddenError),
    ("reply", OTHER, NotFoundError),
    ("reply", OPERATOR, ForbiddenError),
    ("rule", OFFICE, None),
    ("rule", DEPT, ForbiddenError),
    ("rule", OTHER, ForbiddenError),
    ("rule", OPERATOR, ForbiddenError),
]


@pytest.mark.parametrize(("verb", "actor", "refusal"), MATRIX, ids=lambda v: getattr(v, "name", str(v)))
def test_each_role_takes_or_is_refused_each_verb(
    harness: Harness, verb: str, actor: Actor, refusal: type[Exception] | None
) -> None:
    alert_id = red_alert(harness)
    steps = list(VERBS)[: list(VERBS).index(verb)]
    for earlier in steps:  # the state the verb needs, reached by those allowed to
        VERBS[earlier](harness, alert_id)
    if refusal is None:
        done = VERBS[verb](harness, alert_id, actor)
        assert done.state == {"supervise": "issued", "reply": "replied", "rule": "ruled"}[verb]
        return
    with pytest.raises(refusal) as caught:
        VERBS[verb](harness, alert_id, actor)
    if refusal is ForbiddenError:
        reason = caught.value.reason  # type: ignore[attr-defined]
        assert reason and all(not c.isascii() or not c.isalpha() for c in reason)  # Chinese, shown as is


def test_the_office_may_not_reply_on_the_departments_behalf(harness: Harness) -> None:
    alert_id = red_alert(harness)
    _supervise(harness, alert_id)
    with pytest.raises(ForbiddenError, match="纪检监察室不能代替承办单位答复督办"):
        _reply(harness, alert_id, OFFICE)


def test_an_alert_of_another_department_or_none_at_all_is_not_found(harness: Harness) -> None:
    alert_id = red_alert(harness)
    _supervise(harness, alert_id)
    with pytest.raises(NotFoundError), harness.app.state.connect() as conn:
        of_alert(conn, OTHER, alert_id, now=NOW)
    with pytest.raises(NotFoundError):
        _supervise(harness, alert_id + 100)
    with harness.app.state.connect() as conn:
        assert open_supervisions(conn, OTHER, now=NOW) == []
        assert [s.alert_id for s in open_supervisions(conn, DEPT, now=NOW)] == [alert_id]
        with pytest.raises(ForbiddenError):
            open_supervisions(conn, OPERATOR, now=NOW)


def test_conflicts_answer_409(harness: Harness) -> None:
    alert_id = red_alert(harness)
    with pytest.raises(StateConflictError, match="尚未督办"):
        _reply(harness, alert_id)
    first = _supervise(harness, alert_id)
    with pytest.raises(StateConflictError, match=f"已有未办结的督办（{first.number}）"):
        _supervise(harness, alert_id)
    with pytest.raises(StateConflictError, match="尚未收到承办单位的答复"):
        _rule(harness, alert_id)
    _reply(harness, alert_id)
    with pytest.raises(StateConflictError, match="不能重复答复"):
        _reply(harness, alert_id)
    with pytest.raises(StateConflictError, match="只有承办单位提出申诉时"):
        _rule(harness, alert_id, decision="revoked", note="撤销")
    _rule(harness, alert_id)
    with pytest.raises(StateConflictError, match="已办结"):
        _rule(harness, alert_id)
    with pytest.raises(StateConflictError, match="已解除或已办结"):  # the accepted ruling closed the alert
        _supervise(harness, alert_id)


def test_inputs_are_checked_before_anything_is_written(harness: Harness) -> None:
    alert_id = red_alert(harness)
    with pytest.raises(InvalidInputError):
        _supervise(harness, alert_id, demand="punish")
    for days in (0, 31):
        with pytest.raises(InvalidInputError, match="1至30个工作日"):
            _supervise(harness, alert_id, reply_within_days=days)
    _supervise(harness, alert_id)
    with pytest.raises(InvalidInputError, match="答复内容不能为空"):
        _reply(harness, alert_id, text="  ")
    _reply(harness, alert_id)
    with pytest.raises(InvalidInputError, match="责任人"):
        _rule(harness, alert_id, decision="accountability", note="追责", measure="约谈")
    with pytest.raises(InvalidInputError, match="追责方式"):
        _rule(harness, alert_id, decision="accountability", note="追责", person="张某", measure="罚款")
    with pytest.raises(InvalidInputError, match="审核意见不能为空"):
        _rule(harness, alert_id, decision="rejected", note="")
    done = _rule(
        harness,
        alert_id,
        decision="accountability",
        note="未按时办结",
        person="张某（审批科）",
        measure="诫勉谈话",
    )
    assert (done.decision, done.person, done.measure, done.state) == (
        "accountability",
        "张某（审批科）",
        "诫勉谈话",
        "ruled",
    )


def test_the_reply_deadline_crosses_national_day_and_ends_on_a_make_up_saturday(harness: Harness) -> None:
    # Issued Tuesday 29 September: 9-30, then 10-01..07 国庆节, 10-08, 10-09, and Saturday
    # 10-10, a 调休 working day, is the fourth.
    alert_id = red_alert(harness, now=bj("2026-09-29 09:00"), accepted="2026-09-10 09:00")
    s = _supervise(harness, alert_id, reply_within_days=4, now=bj("2026-09-29 10:00"))
    assert s.reply_due == bj("2026-10-11 00:00")
    assert not s.reply_due_provisional
    assert s.as_json()["reply_due"] == "2026-10-10T16:00:00+00:00"


def test_a_deadline_into_a_year_without_its_notice_is_provisional(harness: Harness) -> None:
    alert_id = red_alert(harness, now=bj("2026-12-24 09:00"), accepted="2026-12-10 09:00")
    s = _supervise(harness, alert_id, reply_within_days=10, now=bj("2026-12-24 10:00"))
    assert s.reply_due_provisional


def test_a_rejected_reply_reopens_the_supervision_with_a_new_deadline(harness: Harness) -> None:
    alert_id = red_alert(harness)
    first = _supervise(harness, alert_id, reply_within_days=3)
    _reply(harness, alert_id, kind="explained", text="系统故障所致")
    ruled_at = bj("2026-11-16 15:00")  # a Monday
    again = _rule(
        harness, alert_id, decision="rejected", note="说明不充分，请整改", now=ruled_at, reply_within_days=2
    )
    assert (again.state, again.round, again.number) == ("issued", 2, first.number)
    assert again.reply_due == bj("2026-11-19 00:00") and again.reply_kind is None
    assert (again.decision, again.ruling_note) == (
        "rejected",
        "说明不充分，请整改",
    )  # why, for the department
    assert alert(harness.app.state, alert_id).state == "open"  # the matter is not settled
    second = _reply(harness, alert_id, text="已整改", now=ruled_at + timedelta(hours=2))
    assert second.state == "replied" and second.round == 2
    _rule(harness, alert_id, now=ruled_at + timedelta(days=1))
    closed = alert(harness.app.state, alert_id)
    assert (closed.state, closed.closed_by) == ("resolved", OFFICE.name)


def test_an_upheld_appeal_revokes_the_card_and_keeps_it(harness: Harness) -> None:
    alert_id = red_alert(harness)
    _supervise(harness, alert_id, demand="explain")
    _reply(harness, alert_id, kind="appeal", text="申请人已撤回申请，系统未同步")
    with pytest.raises(StateConflictError, match="对申诉应作出"):
        _rule(harness, alert_id, decision="accepted")
    from monitor.report import monthly

    kept = red_alert(harness, "OPEN2")
    assert monthly(harness.app.state, "2026-11", BJ)[0]["red"] == 2
    done = _rule(harness, alert_id, decision="revoked", note="申诉理由成立")
    assert done.decision == "revoked" and not done.open
    assert alert(harness.app.state, alert_id).state == "resolved"  # kept, as evidence
    assert monthly(harness.app.state, "2026-11", BJ)[0]["red"] == 1  # out of the assessment
    assert alert(harness.app.state, kept).state == "open"


def test_every_action_is_a_history_row_with_who_what_and_the_text(harness: Harness) -> None:
    alert_id = red_alert(harness)
    s = _supervise(harness, alert_id, note="请说明超期原因")
    _reply(harness, alert_id, kind="explained", text="窗口人员调整，已补办")
    _rule(harness, alert_id, decision="accountability", note="超期三天", person="张某", measure="约谈")
    with harness.app.state.connect() as conn:
        rows = conn.execute(
            select(alert_history)
            .where(alert_history.c.alert_id == alert_id)
            .order_by(alert_history.c.chain_seq)
        ).all()
    acts = [(r.action, r.actor) for r in rows]
    assert acts[1:] == [
        ("supervised", "王监察"),
        ("replied", "李科员"),
        ("ruled", "王监察"),
        ("closed", "王监察"),
    ]
    supervised, replied, ruled = (r.detail for r in rows[1:4])
    assert supervised["number"] == s.number and supervised["note"] == "请说明超期原因"
    assert supervised["reply_due"] == "2026-11-21T00:00:00+08:00" and s.reply_due == bj("2026-11-21 00:00")
    assert (replied["kind"], replied["text"], replied["late"]) == ("explained", "窗口人员调整，已补办", False)
    assert (ruled["decision"], ruled["person"], ruled["measure"], ruled["note"]) == (
        "accountability",
        "张某",
        "约谈",
        "超期三天",
    )
    assert harness.verify().ok


def test_get_and_of_alert_answer_as_the_actor_may_see(harness: Harness) -> None:
    alert_id = red_alert(harness)
    s = _supervise(harness, alert_id)
    with harness.app.state.connect() as conn:
        assert get(conn, DEPT, s.id, now=NOW) == s
        assert [x.id for x in of_alert(conn, DEPT, alert_id, now=NOW)] == [s.id]
        with pytest.raises(NotFoundError):
            get(conn, OTHER, s.id, now=NOW)
        late = get(conn, OFFICE, s.id, now=s.reply_due)
    assert late.overdue and late.as_json()["overdue"] is True
    assert not s.overdue
