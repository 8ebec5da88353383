"""Every role × 督办 action over the API: who may, who gets 403 with a Chinese reason, and
who gets 404 because the alert is another department's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.console_support import Console, console

SUPERVISE = {"demand": "explain", "reply_within_days": 5, "note": "请书面说明"}
REPLY = {"kind": "explained", "text": "情况说明"}
RULING = {"decision": "accepted", "note": "予以采纳"}


@pytest.fixture
def c(tmp_path: Path, sqlite_url: str) -> Iterator[Console]:
    with console(tmp_path, sqlite_url) as found:
        yield found


def _post(c: Console, who: str, path: str, body: dict[str, Any]) -> Any:
    with c.client() as client:
        return client.post(path, json=body, headers={"Authorization": f"Bearer {c.tokens[who]}"})


def _ready(c: Console, alert_id: int, action: str) -> None:
    """Bring the alert's 督办 to where `action` may be taken."""
    if action in ("reply", "ruling"):
        assert _post(c, "office", f"/api/alerts/{alert_id}/supervise", SUPERVISE).status_code == 200
    if action == "ruling":
        assert _post(c, "dept_a", f"/api/alerts/{alert_id}/reply", REPLY).status_code == 200


@pytest.mark.parametrize(
    ("action", "who", "status", "reason"),
    [
        ("supervise", "office", 200, None),
        ("supervise", "dept_a", 403, "只有纪检监察室可以发出督办"),
        ("supervise", "dept_b", 403, "只有纪检监察室可以发出督办"),
        ("supervise", "operator", 403, "运维人员不能发出督办"),
        ("reply", "office", 403, "纪检监察室不能代替承办单位答复督办"),
        ("reply", "dept_a", 200, None),
        ("reply", "dept_b", 404, None),
        ("reply", "operator", 403, "运维人员不能答复督办"),
        ("ruling", "office", 200, None),
        ("ruling", "dept_a", 403, "只有纪检监察室可以"),
        ("ruling", "dept_b", 403, "只有纪检监察室可以"),
        ("ruling", "operator", 403, "运维人员不能"),
    ],
)
def test_every_role_and_action(c: Console, action: str, who: str, status: int, reason: str | None) -> None:
    alert_id = c.alert_of("A-1")
    _ready(c, alert_id, action)
    body = {"supervise": SUPERVISE, "reply": REPLY, "ruling": RULING}[action]
    r = _post(c, who, f"/api/alerts/{alert_id}/{action}", body)
    assert r.status_code == status, r.text
    if reason is not None:
        assert reason in r.json()["detail"]
    if status == 404:
        assert r.json()["detail"] == "未找到该页面或记录"  # the same words as for no alert at all
