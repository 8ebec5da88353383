"""The public pages: no login, no personal data; 办件查询 answers the same for a wrong check as
for no case, and stops a client that keeps guessing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.console_support import IMG, SCRIPT, Console, console, csrf_of

NOT_FOUND = "未查到相符的办件"


@pytest.fixture
def c(tmp_path: Path, sqlite_url: str) -> Iterator[Console]:
    with console(tmp_path, sqlite_url) as found:
        yield found


def _lookup(client: object, case_id: str, check: str) -> object:
    token = csrf_of(client.get("/public/cases").text)  # type: ignore[attr-defined]
    return client.post(  # type: ignore[attr-defined]
        "/public/cases", data={"case_id": case_id, "check": check, "csrf_token": token}
    )


def test_the_lookup_shows_a_case_s_standing_and_nothing_personal(c: Console) -> None:
    with c.client() as client:
        r = _lookup(client, "H-1", "8000")  # the last four digits of the phone on file
        assert r.status_code == 200
        text = r.text
        assert "H-1" in text and "办理中（已超过办理时限）" in text and "受理" in text
        assert "13812348000" not in text and "8000" not in text
        assert "alert(1)&lt;/script" not in text and "alert(1)</script" not in text  # no applicant name
        assert "<img src=x" not in text  # the hostile department name, escaped
        assert "窗口张三" not in text  # nor the officer who handled it


@pytest.mark.parametrize(("case_id", "check"), [("H-1", "1234"), ("NO-SUCH", "8000"), ("A-1", "0000")])
def test_a_wrong_check_and_no_case_get_the_same_answer(c: Console, case_id: str, check: str) -> None:
    with c.client() as client:
        r = _lookup(client, case_id, check)
        assert r.status_code == 200 and NOT_FOUND in r.text
        assert "办理状态" not in r.text


def test_a_client_that_keeps_guessing_is_stopped(c: Console) -> None:
    with c.client() as client:
        answers = [_lookup(client, "H-1", f"{n:04d}").status_code for n in range(12)]
        assert answers[:10] == [200] * 10 and answers[10:] == [429, 429]
        blocked = _lookup(client, "H-1", "8000")  # even the right check, until the minute is over
        assert (
            blocked.status_code == 429 and "查询过于频繁" in blocked.text and "办理状态" not in blocked.text
        )


def test_the_published_assessment_is_public_and_holds_no_personal_data(c: Console) -> None:
    c.clock.now = c.clock.now + timedelta(days=10)  # 3 December: November is published
    with c.client() as client:
        index = client.get("/public")
        assert index.status_code == 200 and "/public/assessment/2026-11" in index.text
        page = client.get("/public/assessment/2026-11")
        assert page.status_code == 200
        assert "2026年11月部门电子监察绩效评估结果" in page.text and "公开版" in page.text
        for private in ("13812348000", SCRIPT, IMG, "窗口张三", "A-1", "B-1", "H-1"):
            assert private not in page.text
        assert client.get("/public/assessment/2026-12").status_code == 404  # not over yet


def test_the_public_pages_can_be_switched_off(c: Console) -> None:
    from fastapi.testclient import TestClient

    from monitor.web.app import create_app
    from tests.console_support import SECRET

    off = c.harness.config.web.model_copy(update={"public_pages": False})  # web.public_pages: false
    app = c.app()
    with TestClient(create_app(app.state.services, off, SECRET, c.clock)) as client:
        assert client.get("/public").status_code == 404
        assert client.get("/public/cases").status_code == 404
