"""The console in a real browser (the distribution's Chromium through Playwright), as the
office and a department use it: sign in, filter the reds, open a case, issue a 督办, reply,
rule; a notice's link after login; a department editing the URL to another's case."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser import browser, serving
from tests.console_support import PASSWORDS, A, Console, console


@pytest.fixture
def live(tmp_path: Path, sqlite_url: str) -> Iterator[tuple[Console, str, Any]]:
    with console(tmp_path, sqlite_url) as c, serving(c.app()) as url, browser() as chromium:
        yield c, url, chromium


def _sign_in(page: Any, url: str, name: str) -> None:
    page.goto(f"{url}/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORDS[name])
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_office_issues_a_supervision_the_department_replies_the_office_rules(
    live: tuple[Console, str, Any],
) -> None:
    _, url, chromium = live
    office = chromium.new_context().new_page()
    _sign_in(office, url, "office")
    office.click("nav >> text=预警")
    office.select_option("select[name=level]", "red")
    office.click("form.filters button[type=submit]")
    office.wait_for_url("**/alerts?level=red*")
    rows = office.locator("table.alerts tbody tr")
    expect(rows.first).to_contain_text("红牌")
    assert rows.count() >= 4 and all("红牌" in t for t in rows.all_inner_texts())
    office.click("table.alerts >> text=A-1")
    assert re.search(r"/cases/A-1$", office.url)
    office.select_option("form.supervise select[name=demand]", "rectify")
    office.fill("form.supervise input[name=reply_within_days]", "3")
    office.fill("form.supervise textarea[name=note]", "请于三个工作日内补正受理并书面报告")
    office.click("form.supervise button[type=submit]")
    office.wait_for_load_state()
    record = office.locator(".supervision").first.inner_text()
    assert "〔2026〕1号" in record and "待答复" in record and "2026年11月26日24时" in record

    dept = chromium.new_context().new_page()
    _sign_in(dept, url, "dept_a")
    dept.click("nav >> text=预警")
    listed = dept.locator("table.alerts tbody").inner_text()
    assert "A-1" in listed and "B-1" not in listed  # only its own department's
    dept.click("table.alerts >> text=A-1")
    dept.select_option("form.reply select[name=kind]", "rectified")
    dept.fill("form.reply textarea[name=text]", "已于11月24日补办受理手续并告知申请人")
    dept.click("form.reply button[type=submit]")
    dept.wait_for_load_state()
    assert "已答复" in dept.locator(".supervision").first.inner_text()

    office.reload()
    office.select_option("form.ruling select[name=decision]", "accepted")
    office.fill("form.ruling textarea[name=note]", "整改到位，予以采纳")
    office.click("form.ruling button[type=submit]")
    office.wait_for_load_state()
    assert "采纳" in office.locator(".supervision").first.inner_text()
    history = office.locator(".alert-record").first.inner_text()
    assert "office" in history and "dept_a" in history  # who did what, on the record


def test_a_notice_link_opens_the_case_page_after_login(live: tuple[Console, str, Any]) -> None:
    _, url, chromium = live
    page = chromium.new_context().new_page()
    page.goto(f"{url}/cases/A-1")  # the link a notice carries: no credential in it
    assert "/login" in page.url
    page.fill("input[name=username]", "dept_a")
    page.fill("input[name=password]", PASSWORDS["dept_a"])
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert page.url.endswith("/cases/A-1")
    assert "A-1" in page.locator("h1").inner_text() and A in page.content()


def test_a_department_cannot_reach_another_department_s_case_by_editing_the_url(
    live: tuple[Console, str, Any],
) -> None:
    _, url, chromium = live
    page = chromium.new_context().new_page()
    _sign_in(page, url, "dept_a")
    response = page.goto(f"{url}/cases/B-1")
    assert response is not None and response.status == 404
    assert "B-1" not in page.locator("main").inner_text()
    api = page.goto(f"{url}/api/cases/B-1")
    assert api is not None and api.status == 404
