"""绩效评估 in the console: the ranking for the office and the departments, each score opened
into its cards and cases, a department opening only its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.console_support import A, B, Console, console, login


@pytest.fixture
def c(tmp_path: Path, sqlite_url: str) -> Iterator[Console]:
    with console(tmp_path, sqlite_url) as found:
        yield found


def test_the_ranking_and_what_each_score_rests_on(c: Console) -> None:
    with c.client() as office:
        login(office, "office")
        page = office.get("/assessment?month=2026-11")
        assert page.status_code == 200
        text = page.text
        assert "2026年11月部门绩效评估" in text and A in text and B in text and text.count("<svg") == 3
        assert "得分依据" in text
        assert "按承办单位、事项类型统计" in text and "合计" in text  # the same tables as the report
        opened = office.get("/assessment/2026-11/behind", params={"department": A})
        assert opened.status_code == 200
        assert "A-1" in opened.text and "A-2" in opened.text and "红牌" in opened.text
        assert "B-1" not in opened.text
        assert office.get("/assessment?month=2026-13").status_code == 400


def test_a_department_sees_the_ranking_but_opens_only_its_own(c: Console) -> None:
    with c.client() as dept:
        login(dept, "dept_a")
        page = dept.get("/assessment?month=2026-11").text
        assert A in page and B in page  # the intranet publication ranks every department
        assert dept.get("/assessment/2026-11/behind", params={"department": A}).status_code == 200
        assert dept.get("/assessment/2026-11/behind", params={"department": B}).status_code == 404


def test_the_operator_does_not_see_the_assessment(c: Console) -> None:
    with c.client() as operator:
        login(operator, "operator")
        r = operator.get("/assessment")
        assert r.status_code == 403 and "运维人员不能查看绩效评估" in r.text
