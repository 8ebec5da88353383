"""Every notice links to the case's page in the console (`web.base_url`); the link carries
no credential, and opens the page after the sign-in it leads to."""

from __future__ import annotations

import re
from pathlib import Path

from alerts.render import render_notice
from tests.console_support import console, csrf_of

LINK = re.compile(r"http://127\.0\.0\.1:8080/cases/[^\s<\"]+")


def test_notices_link_to_the_console_and_the_link_opens_the_case_after_login(
    tmp_path: Path, sqlite_url: str
) -> None:
    with console(tmp_path, sqlite_url) as con:
        notices = con.harness.notices()
        assert notices
        for n in notices:
            found = LINK.findall(n.body_text)
            assert found and found == LINK.findall(n.body_html), n.body_text
            assert "?" not in found[0] and "token" not in found[0].lower()
        a1 = next(n for n in notices if "A-1" in n.body_text)
        path = LINK.findall(a1.body_text)[0].removeprefix("http://127.0.0.1:8080")
        assert path == "/cases/A-1"
        client = con.client()
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303
        login_page = client.get(r.headers["location"])
        done = client.post(
            "/login",
            data={
                "username": "dept_a",
                "password": "dept-a-password",
                "next": re.search(r'name="next" value="([^"]+)"', login_page.text).group(1),  # type: ignore[union-attr]
                "csrf_token": csrf_of(login_page.text),
            },
        )
        assert done.status_code == 200 and str(done.url).endswith("/cases/A-1")
        assert "办件 A-1" in done.text


def test_a_case_number_with_a_slash_is_one_path_segment_of_the_link(tmp_path: Path, sqlite_url: str) -> None:
    from alerts.render import console_link

    link = console_link("https://jiancha.example.gov.cn/", "2026/许可 #7?x")
    assert link == "https://jiancha.example.gov.cn/cases/2026%2F%E8%AE%B8%E5%8F%AF%20%237%3Fx"


def test_a_notice_queued_before_the_console_renders_without_the_link() -> None:
    context = {
        "recipient_greeting": "市市场监督管理局",
        "action": "raised",
        "alert_id": 1,
        "level": "red",
        "category": "time_limit",
        "rule_id": "r",
        "title": "超期",
        "message": "超期",
        "basis": "",
        "due": "",
        "case_id": "C1",
        "item_code": "XK",
        "item_name": "事项",
        "department": "局",
        "party_label": "申请人",
        "applicant_name": "张*",
        "applicant_id": "—",
        "applicant_phone": "—",
        "case_link": "https://zwfw.example.gov.cn/cases/C1",
        "timeline": "",
        "evidence": True,
    }
    rendered = render_notice(context)
    assert "电子监察平台" not in rendered.text and "zwfw.example.gov.cn/cases/C1" in rendered.text
