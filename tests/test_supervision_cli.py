"""The 督办 on the command line: the printable letter, `alerts show`, `audit verify`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import update

from alerts.supervision import reply, rule, supervise
from alerts.supervision.letter import render_letter
from monitor.errors import NotFoundError
from monitor.state.schema import alert_history, supervisions
from tests.conftest import Harness, bj
from tests.supervision_helpers import DEPT, OFFICE, OTHER, red_alert, settings_of
from tests.test_cli import sunlight


def _config(h: Harness) -> Path:
    return h.config.base_dir / "config.yaml"


def _loop(h: Harness) -> int:
    alert_id = red_alert(h)
    s = settings_of(h)
    with h.app.state.begin() as conn:
        supervise(
            conn,
            OFFICE,
            alert_id,
            demand="rectify",
            reply_within_days=4,
            note="请查明原因",
            now=bj("2026-11-13 11:00"),
            settings=s,
        )
    with h.app.state.begin() as conn:
        reply(
            conn,
            DEPT,
            alert_id,
            kind="rectified",
            text="已补作许可决定",
            now=bj("2026-11-16 10:00"),
            settings=s,
        )
    with h.app.state.begin() as conn:
        rule(
            conn,
            OFFICE,
            alert_id,
            decision="accepted",
            note="整改到位",
            now=bj("2026-11-17 10:00"),
            settings=s,
        )
    return alert_id


def test_the_letter_is_a_whole_printable_page(harness: Harness) -> None:
    _loop(harness)
    with harness.app.state.connect() as conn:
        page = render_letter(conn, DEPT, 1, now=bj("2026-11-20 10:00"), settings=settings_of(harness))
        with pytest.raises(NotFoundError):
            render_letter(conn, OTHER, 1, now=bj("2026-11-20 10:00"), settings=settings_of(harness))
    assert page.startswith("<!DOCTYPE html>") and "@page { size: A4;" in page and "@media print" in page
    for part in (
        "<h1>工作督办函</h1>",
        "〔2026〕1号",
        "市市场监督管理局：",
        "OPEN1（事项编码 XK-1）",
        "许可决定承诺时限",
        "期限至2026年11月9日24时届满",
        "《行政许可法》第四十二条",
        "<th>办理期限</th><td>2026年11月9日24时</td>",
        "限期整改：请查明原因",
        "2026年11月19日（星期四）24时前（4个工作日）",  # Fri 13 + Mon..Thu
        "纪检监察室<br>2026年11月13日",
    ):
        assert part in page, part
    result = sunlight(
        _config(harness), "supervision", "letter", "1", "--issuer", "市纪委监委驻政务服务中心纪检监察组"
    )
    assert result.returncode == 0, result.stderr
    assert (
        "〔2026〕1号" in result.stdout
        and "市纪委监委驻政务服务中心纪检监察组<br>2026年11月13日" in result.stdout
    )
    assert sunlight(_config(harness), "supervision", "letter", "99").returncode != 0


def test_alerts_show_lists_the_actions_with_who_when_what_and_the_text(harness: Harness) -> None:
    alert_id = _loop(harness)
    shown = sunlight(_config(harness), "alerts", "show", str(alert_id))
    assert shown.returncode == 0, shown.stderr
    body = json.loads(shown.stdout)
    acts = {h["action"]: h for h in body["history"]}
    assert acts["supervised"]["actor"] == "王监察" and acts["supervised"]["at"] == "2026-11-13T11:00:00+08:00"
    assert acts["replied"]["actor"] == "李科员" and acts["replied"]["detail"]["text"] == "已补作许可决定"
    assert acts["ruled"]["detail"]["decision"] == "accepted" and acts["ruled"]["detail"]["note"] == "整改到位"
    [s] = body["supervisions"]
    assert (s["number"], s["state"], s["reply"]["text"], s["ruling"]["decision"]) == (
        "〔2026〕1号",
        "ruled",
        "已补作许可决定",
        "accepted",
    )
    listed = sunlight(_config(harness), "supervision", "list")
    assert listed.returncode == 0 and json.loads(listed.stdout) == []  # ruled: not open


def test_audit_verify_checks_the_actions_and_catches_an_edited_reply(harness: Harness) -> None:
    _loop(harness)
    config = _config(harness)
    assert sunlight(config, "audit", "anchor").returncode == 0
    clean = sunlight(config, "audit", "verify")
    assert clean.returncode == 0, clean.stdout
    with harness.app.state.begin() as conn:  # the reply's text rewritten in the 督办 row
        conn.execute(update(supervisions).values(reply_text="已于期限内整改"))
    edited = sunlight(config, "audit", "verify")
    assert edited.returncode == 1
    assert "differs from its history in reply_text" in edited.stderr
    with harness.app.state.begin() as conn:
        conn.execute(update(supervisions).values(reply_text="已补作许可决定"))
        conn.execute(
            update(alert_history)
            .where(alert_history.c.action == "replied")
            .values(
                detail={
                    "supervision": 1,
                    "number": "〔2026〕1号",
                    "round": 1,
                    "kind": "rectified",
                    "text": "已于期限内整改",
                    "late": False,
                }
            )
        )
        conn.execute(update(supervisions).values(reply_text="已于期限内整改"))
    forged = sunlight(config, "audit", "verify")  # history and row agree, but the HMAC does not
    assert forged.returncode == 1 and "differs from its history" not in forged.stderr
    assert "row_edited" in harness.verify().names()


def test_run_once_raises_the_overdue_alert_and_mails_it(harness: Harness) -> None:
    alert_id = red_alert(harness)
    with harness.app.state.begin() as conn:
        supervise(
            conn,
            OFFICE,
            alert_id,
            demand="explain",
            reply_within_days=3,
            note="",
            now=bj("2026-11-13 11:00"),
            settings=settings_of(harness),
        )
    config = _config(harness)
    before = sunlight(config, "run", "--once", "--now", "2026-11-18T23:59:59+08:00")
    assert before.returncode == 0, before.stderr
    listed = json.loads(sunlight(config, "alerts", "--format", "json").stdout)
    assert [a["category"] for a in listed] == ["time_limit"]
    at = sunlight(config, "run", "--once", "--now", "2026-11-19T00:00:00+08:00")
    assert at.returncode == 0, at.stderr
    listed = json.loads(sunlight(config, "alerts", "--format", "json").stdout)
    overdue = [a for a in listed if a["category"] == "supervision"]
    assert [(a["level"], a["state"], a["title"]) for a in overdue] == [
        ("red", "open", "督办〔2026〕1号逾期未答复")
    ]
    [s] = json.loads(sunlight(config, "supervision", "list", "--now", "2026-11-19T00:00:00+08:00").stdout)
    assert s["overdue"] is True and s["overdue_alert_id"] == overdue[0]["id"]
    mails = list((harness.config.base_dir / "outbox").glob("*.eml"))
    assert any("督办〔2026〕1号逾期未答复" in _subject(m) for m in mails)  # sent in the same run


def _subject(path: Path) -> str:
    from email import message_from_bytes, policy

    return str(message_from_bytes(path.read_bytes(), policy=policy.default)["Subject"])
