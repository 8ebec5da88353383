"""The visibility rule every console page and API call goes through."""

from __future__ import annotations

import pytest

from monitor.access import Actor
from monitor.errors import NotFoundError


def test_office_sees_every_department() -> None:
    office = Actor("王主任", "office")
    assert office.may_see("市场监管局") and office.may_see("公安局")
    assert office.sees_cases


def test_department_sees_only_its_own_and_others_look_absent() -> None:
    clerk = Actor("李科员", "department", "市场监管局")
    assert clerk.may_see("市场监管局")
    assert not clerk.may_see("公安局")
    with pytest.raises(NotFoundError):
        clerk.check_sees("公安局", "case 2026-0001")


def test_operator_sees_no_case_contents() -> None:
    operator = Actor("运维", "operator")
    assert not operator.sees_cases
    assert not operator.may_see("市场监管局")


def test_department_role_needs_a_department() -> None:
    with pytest.raises(ValueError, match="needs a department"):
        Actor("无部门", "department")
