"""督办 → reply → ruling over HTTP: every role × action, the 403s with their Chinese reasons,
the 409s, the forms on the case page, the 督办 page and the printable letter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.console_support import A, Console, console, login

SUPERVISE = {"demand": "rectify", "reply_within_days": 3, "note": "请限期整改并书面报告"}


@pytest.fixture
def c(tmp_path: Path, sqlite_url: str) -> Iterator[Console]:
    with console(tmp_path, sqlite_url) as found:
        yield found


def _api(c: Console, who: str, path: str, body: dict[str, Any]) -> Any:
    with c.client() as client:
        return client.post(path, json=body, headers={"Authorization": f"Bearer {c.tokens[who]}"})


@pytest.mark.parametrize(
    ("who", "status", "reason"),
    [
        ("office", 200, None),
        ("dept_a", 403, "只有纪检监察室可以"),
        ("dept_b", 403, "只有纪检监察室可以"),  # the role is refused before the alert is looked up
        ("operator", 403, "运维人员不能"),
    ],
)
def test_only_the_office_supervises(c: Console, who: str, status: int, reason: str | None) -> None:
    alert_id = c.alert_of("A-1")
    r = _api(c, who, f"/api/alerts/{alert_id}/supervise", SUPERVISE)
    assert r.status_code == status, r.text
    if reason is not None:
        assert reason in r.json()["detail"]
    else:
        body = r.json()
        assert body["alert_id"] == alert_id and body["state"] == "issued" and body["demand"] == "rectify"
        # Issued on Monday 23 November 2026: 3 working days end at 24:00 on Thursday the 26th.
        assert body["reply_due"] == "2026-11-27T00:00:00+08:00"
        assert body["number"].startswith("〔2026〕") and body["number"].endswith("号")


def test_the_loop_over_the_api_with_its_conflicts(c: Console) -> None:
    alert_id = c.alert_of("A-1")
    path = f"/api/alerts/{alert_id}"
    assert _api(c, "office", f"{path}/ruling", {"decision": "accepted"}).status_code == 409  # nothing issued
    assert _api(c, "office", f"{path}/supervise", SUPERVISE).status_code == 200
    assert _api(c, "office", f"{path}/supervise", SUPERVISE).status_code == 409  # one open 督办 an alert
    r = _api(c, "office", f"{path}/ruling", {"decision": "accepted", "note": "同意"})
    assert r.status_code == 409, r.text  # no reply yet
    r = _api(c, "office", f"{path}/reply", {"kind": "rectified", "text": "已整改"})
    assert r.status_code == 403 and "不能代替承办单位答复" in r.json()["detail"]
    r = _api(c, "dept_b", f"{path}/reply", {"kind": "rectified", "text": "已整改"})
    assert r.status_code == 404  # another department's alert does not exist for it
    r = _api(c, "dept_a", f"{path}/reply", {"kind": "rectified", "text": "已于11月24日补办受理并告知申请人"})
    assert r.status_code == 200 and r.json()["state"] == "replied"
    again = _api(c, "dept_a", f"{path}/reply", {"kind": "rectified", "text": "再次答复"})
    assert again.status_code == 409  # a second reply
    r = _api(c, "dept_a", f"{path}/ruling", {"decision": "accepted"})
    assert r.status_code == 403 and "只有纪检监察室可以" in r.json()["detail"]
    r = _api(c, "office", f"{path}/ruling", {"decision": "accepted", "note": "整改到位，予以采纳"})
    assert r.status_code == 200 and r.json()["state"] == "ruled"


def test_accountability_needs_the_person_and_the_measure(c: Console) -> None:
    alert_id = c.alert_of("A-1")
    path = f"/api/alerts/{alert_id}"
    _api(c, "office", f"{path}/supervise", SUPERVISE)
    _api(c, "dept_a", f"{path}/reply", {"kind": "explained", "text": "窗口人员疏忽"})
    r = _api(c, "office", f"{path}/ruling", {"decision": "accountability", "note": "转责任追究"})
    assert r.status_code == 400 and "责任人" in r.json()["detail"]
    ruling = {"decision": "accountability", "note": "转责任追究", "person": "窗口张三", "measure": "约谈"}
    r = _api(c, "office", f"{path}/ruling", ruling)
    assert r.status_code == 200, r.text
    assert r.json()["ruling"]["decision"] == "accountability"


def test_a_bad_body_is_refused_with_422(c: Console) -> None:
    alert_id = c.alert_of("A-1")
    r = _api(c, "office", f"/api/alerts/{alert_id}/supervise", {"demand": "punish", "reply_within_days": 3})
    assert r.status_code == 422
    r = _api(c, "office", f"/api/alerts/{alert_id}/supervise", {**SUPERVISE, "reply_within_days": 999})
    assert r.status_code == 400 and "答复期限" in r.json()["detail"]


def test_the_forms_on_the_case_page_and_the_supervision_page(c: Console) -> None:
    alert_id = c.alert_of("A-1")
    with c.client() as office:
        csrf = login(office, "office")
        page = office.get("/cases/A-1").text
        assert f'action="/alerts/{alert_id}/supervise"' in page  # the office may issue one
        form = {**SUPERVISE, "csrf_token": csrf}
        r = office.post(f"/alerts/{alert_id}/supervise", data=form, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/cases/A-1")
        listed = office.get("/supervisions").text
        assert "A-1" in listed and "待答复" in listed and "〔2026〕" in listed
        assert "B-1" not in listed
    with c.client() as dept:
        csrf = login(dept, "dept_a")
        page = dept.get("/cases/A-1").text
        assert f'action="/alerts/{alert_id}/reply"' in page
        assert f'action="/alerts/{alert_id}/supervise"' not in page
        answer = {"kind": "rectified", "text": "已整改", "csrf_token": csrf}
        r = dept.post(f"/alerts/{alert_id}/reply", data=answer, follow_redirects=False)
        assert r.status_code == 303
        no_csrf = dept.post(f"/alerts/{alert_id}/reply", data={"kind": "rectified", "text": "x"})
        assert no_csrf.status_code == 403
    with c.client() as other:
        login(other, "dept_b")
        assert other.get("/supervisions").text.count("A-1") == 0
        assert other.get("/cases/A-1").status_code == 404


def test_the_letter_prints_and_is_seen_only_by_those_who_may(c: Console) -> None:
    alert_id = c.alert_of("A-1")
    issued = _api(c, "office", f"/api/alerts/{alert_id}/supervise", SUPERVISE).json()
    with c.client() as office:
        login(office, "office")
        letter = office.get(f"/supervisions/{issued['id']}/letter")
        assert letter.status_code == 200
        assert "工作督办函" in letter.text and issued["number"] in letter.text and A in letter.text
        assert "@media print" in letter.text or "print" in letter.text
    with c.client() as other:
        login(other, "dept_b")
        assert other.get(f"/supervisions/{issued['id']}/letter").status_code == 404


def test_the_open_supervisions_api_lists_what_the_caller_may_see(c: Console) -> None:
    for case_id in ("A-1", "B-1"):
        _api(c, "office", f"/api/alerts/{c.alert_of(case_id)}/supervise", SUPERVISE)
    with c.client() as client:

        def listed(who: str) -> set[str]:
            r = client.get("/api/supervisions", headers={"Authorization": f"Bearer {c.tokens[who]}"})
            assert r.status_code == 200, r.text
            return {s["case_id"] for s in r.json()["items"]}

        assert listed("office") == {"A-1", "B-1"}
        assert listed("dept_a") == {"A-1"}


def test_the_overview_counts_open_and_overdue_supervisions(c: Console) -> None:
    from datetime import timedelta

    for case_id in ("A-1", "B-1"):
        assert _api(c, "office", f"/api/alerts/{c.alert_of(case_id)}/supervise", SUPERVISE).status_code == 200
    _api(c, "dept_b", f"/api/alerts/{c.alert_of('B-1')}/reply", {"kind": "rectified", "text": "已整改"})
    c.clock.now = c.clock.now + timedelta(days=4)  # Friday 27 November: A-1's 3 working days are over
    with c.client() as office:
        login(office, "office")
        page = office.get("/").text
        assert "逾期未答复督办（共2件未办结）" in page and '<a href="/supervisions">1</a>' in page
    with c.client() as dept:
        login(dept, "dept_b")
        assert "逾期未答复督办（共1件未办结）" in dept.get("/").text  # its own only, answered


def test_the_supervision_notices_link_to_the_console_and_say_only_what_happens(c: Console) -> None:
    alert_id = c.alert_of("A-1")
    _api(c, "office", f"/api/alerts/{alert_id}/supervise", SUPERVISE)
    [letter] = [n for n in c.harness.notices() if "工作督办函" in n.subject]
    link = f"{c.harness.config.web.base_url}/cases/A-1"
    assert f"在电子监察平台办理（需登录）：{link}" in letter.body_text
    assert link in letter.body_html
    # What an unanswered 督办 leads to, as the system does it: the overdue red to the
    # department's head and the office (nothing is sent to 分管领导 by the system).
    assert "“督办逾期”红牌，通报你单位负责人和纪检监察室" in letter.body_text
    assert "分管领导" not in letter.body_text
