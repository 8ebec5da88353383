"""The 督办's mail as a 纪检监察 officer and a department clerk read it: every date true,
all Chinese, nothing missing, rendered by the sender from what the verb queued."""

from __future__ import annotations

import re
from typing import Any

from alerts.supervision import reply, rule, supervise
from tests.conftest import Harness, bj
from tests.supervision_helpers import DEPT, OFFICE, red_alert, settings_of

# What may be ASCII letters in a notice: the case number, the item code, links, addresses.
ALLOWED_ASCII = re.compile(r"https?://\S+|OPEN1|XK-1|[\w.-]+@[\w.-]+")


def _mail(h: Harness, kind: str) -> list[Any]:
    return [n for n in h.notices() if n.kind == kind]


def _no_identifiers(text: str) -> None:
    rest = ALLOWED_ASCII.sub("", text)
    assert not re.search(r"[A-Za-z]{2,}", rest), re.findall(r"[A-Za-z_]{2,}", rest)
    assert "None" not in text and "{{" not in text


def _loop(h: Harness) -> int:
    alert_id = red_alert(h)
    s = settings_of(h)
    with h.app.state.begin() as conn:
        supervise(
            conn,
            OFFICE,
            alert_id,
            demand="rectify",
            reply_within_days=3,
            note="请查明超期原因",
            now=bj("2026-11-13 11:00"),
            settings=s,
        )
    with h.app.state.begin() as conn:
        reply(
            conn,
            DEPT,
            alert_id,
            kind="rectified",
            text="已补作决定并送达申请人。\n经办人已作检讨。",
            now=bj("2026-11-19 09:30"),
            settings=s,
        )
    with h.app.state.begin() as conn:
        rule(
            conn,
            OFFICE,
            alert_id,
            decision="rejected",
            note="未说明超期原因",
            now=bj("2026-11-19 15:00"),
            settings=s,
        )
    return alert_id


def test_the_department_gets_the_letter_with_number_case_finding_demand_and_deadline(
    harness: Harness,
) -> None:
    _loop(harness)
    [letter] = _mail(harness, "supervision")
    assert (letter.route, letter.recipient, letter.status) == ("department", "scjg@example.gov.cn", "pending")
    assert (
        letter.subject == "【阳光监察·工作督办函】〔2026〕1号｜市市场监督管理局｜办件 OPEN1"
        "｜请于2026年11月18日（星期三）24时前答复"
    )
    text = letter.body_text
    for line in (
        "督办文号：〔2026〕1号",
        "办件：OPEN1（事项编码 XK-1）",
        "发现的问题：红牌　许可决定承诺时限",
        "期限至2026年11月9日24时届满",  # the finding's own evidence
        "预警时间：2026年11月13日10时",
        "督办要求：限期整改",
        "督办意见：请查明超期原因",
        "答复期限：2026年11月18日（星期三）24时（3个工作日）",  # Friday the 13th + Mon, Tue, Wed
        "签发：王监察（纪检监察室），2026年11月13日11时",
        "查看办件：https://zwfw.example.gov.cn/cases/OPEN1",
    ):
        assert line in text, line
    _no_identifiers(letter.subject + text)
    assert "〔2026〕1号" in letter.body_html and "2026年11月18日（星期三）24时" in letter.body_html


def test_the_office_gets_the_reply_with_its_text_and_that_it_came_late(harness: Harness) -> None:
    _loop(harness)
    [mail] = _mail(harness, "reply")
    assert (mail.route, mail.recipient) == ("discipline_office", "jjjc@example.gov.cn")
    assert (
        mail.subject == "【阳光监察·督办答复】〔2026〕1号｜市市场监督管理局｜已整改（逾期答复）｜办件 OPEN1"
    )
    text = mail.body_text
    assert text.startswith("纪检监察室（效能监察科）：")
    assert "答复人：李科员（市市场监督管理局）" in text
    assert "答复时间：2026年11月19日9时30分（已超过答复期限）" in text
    assert "已补作决定并送达申请人。\n经办人已作检讨。" in text
    assert "（采纳、不予采纳或转责任追究）" in text
    _no_identifiers(mail.subject + text)


def test_the_department_gets_the_ruling_and_the_new_deadline(harness: Harness) -> None:
    _loop(harness)
    [mail] = _mail(harness, "ruling")
    text = mail.body_text
    assert "审核结论：不予采纳" in text and "审核意见：未说明超期原因" in text
    # Thursday 11-19 15:00 + 3 working days: Fri 20, Mon 23, Tue 24.
    assert "答复期限：2026年11月24日（星期二）24时（3个工作日）" in text
    _no_identifiers(mail.subject + text)


def test_hostile_text_is_escaped_in_the_html(harness: Harness) -> None:
    alert_id = red_alert(harness)
    s = settings_of(harness)
    with harness.app.state.begin() as conn:
        supervise(
            conn,
            OFFICE,
            alert_id,
            demand="explain",
            reply_within_days=3,
            note="<script>x</script>",
            now=bj("2026-11-13 11:00"),
            settings=s,
        )
    [letter] = _mail(harness, "supervision")
    assert "<script>" not in letter.body_html and "&lt;script&gt;" in letter.body_html
    assert "督办意见：<script>x</script>" in letter.body_text  # plain text is not HTML
