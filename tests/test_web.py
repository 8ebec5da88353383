"""The console over HTTP: every role against every page, API read and ack; department
isolation; the API's shapes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.console_support import A, B, Console, console, login


@pytest.fixture
def con(tmp_path: Path, sqlite_url: str) -> Iterator[Console]:
    with console(tmp_path, sqlite_url) as c:
        yield c


# role, page, expected status (a page a role may not use: 403, or a redirect for the operator)
PAGES = [
    ("office", "/", 200),
    ("office", "/alerts", 200),
    ("office", "/cases/A-1", 200),
    ("office", "/cases/B-1", 200),
    ("office", "/users", 200),
    ("office", "/status", 200),
    ("dept_a", "/", 200),
    ("dept_a", "/alerts", 200),
    ("dept_a", "/cases/A-1", 200),
    ("dept_a", "/cases/B-1", 404),
    ("dept_a", "/users", 403),
    ("dept_a", "/status", 403),
    ("dept_b", "/cases/B-1", 200),
    ("dept_b", "/cases/A-1", 404),
    ("operator", "/", 303),
    ("operator", "/alerts", 403),
    ("operator", "/cases/A-1", 403),
    ("operator", "/users", 403),
    ("operator", "/status", 200),
]


@pytest.mark.parametrize(("role", "path", "status"), PAGES)
def test_pages_by_role(con: Console, role: str, path: str, status: int) -> None:
    client = con.client()
    login(client, role)
    r = client.get(path, follow_redirects=False)
    assert r.status_code == status, r.text
    if status == 200:
        assert "阳光监察" in r.text and r.headers["content-type"].startswith("text/html")
    if status == 403:
        assert "无权操作" in r.text
    if role == "operator" and path == "/":
        assert r.headers["location"] == "/status"


def test_unknown_case_and_another_departments_case_answer_alike(con: Console) -> None:
    client = con.client()
    login(client, "dept_a")
    other, missing = client.get("/cases/B-1"), client.get("/cases/NO-SUCH")
    assert other.status_code == missing.status_code == 404
    assert "市税务局" not in other.text and "B-1" not in other.text.split("<main>")[1]


@pytest.mark.parametrize(
    ("role", "visible"),
    [("office", {"A-1", "A-2", "B-1", "H-1"}), ("dept_a", {"A-1", "A-2"}), ("dept_b", {"B-1"})],
)
def test_api_alerts_show_what_the_role_may_see(con: Console, role: str, visible: set[str]) -> None:
    client = con.client()
    r = client.get("/api/alerts", headers={"Authorization": f"Bearer {con.tokens[role]}"})
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == len(visible)
    assert {i["case_id"] for i in body["items"]} == visible
    first = body["items"][0]
    assert {"id", "case_id", "level", "state", "category", "rule", "department", "message"} <= set(first)


def test_api_department_filter_cannot_widen_a_department(con: Console) -> None:
    client = con.client()
    r = client.get(f"/api/alerts?department={B}", headers={"Authorization": f"Bearer {con.tokens['dept_a']}"})
    assert r.json() == {"total": 0, "items": []}


def test_api_alerts_filters_and_pages(con: Console) -> None:
    client = con.client()
    auth = {"Authorization": f"Bearer {con.tokens['office']}"}
    first = client.get("/api/alerts?limit=2&offset=0", headers=auth).json()
    second = client.get("/api/alerts?limit=2&offset=2", headers=auth).json()
    assert first["total"] == second["total"] == 4
    assert len(first["items"]) == len(second["items"]) == 2
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in second["items"]}
    only_a = client.get(f"/api/alerts?department={A}&level=red&state=open", headers=auth).json()
    assert {i["case_id"] for i in only_a["items"]} == {"A-1", "A-2"}
    assert client.get("/api/alerts?level=purple", headers=auth).status_code == 422


def test_api_operator_reads_no_alerts(con: Console) -> None:
    client = con.client()
    r = client.get("/api/alerts", headers={"Authorization": f"Bearer {con.tokens['operator']}"})
    assert r.status_code == 403
    assert r.json() == {"detail": "运维人员不能查看预警和办件内容"}


@pytest.mark.parametrize(
    ("role", "case_id", "status"),
    [
        ("office", "A-1", 200),
        ("office", "B-1", 200),
        ("dept_a", "A-1", 200),
        ("dept_a", "B-1", 404),
        ("dept_b", "A-1", 404),
        ("operator", "A-1", 403),
        ("office", "NO-SUCH", 404),
    ],
)
def test_api_case_by_role(con: Console, role: str, case_id: str, status: int) -> None:
    client = con.client()
    r = client.get(f"/api/cases/{case_id}", headers={"Authorization": f"Bearer {con.tokens[role]}"})
    assert r.status_code == status
    if status == 200:
        body = r.json()
        assert body["case_id"] == case_id
        assert [s["step"][:2] for s in body["timeline"]] == ["收件", "受理"]
        assert body["clocks"] and any("工作日" in line for c in body["clocks"] for line in c["lines"])
        assert body["findings"][0]["level"] == "red"
        assert body["alerts"][0]["history"][0]["action"] == "raised"
        assert body["chain"]["ok"] is True
    if status == 404:
        assert r.json() == {"detail": "未找到该页面或记录"}


# Who may acknowledge which alert: the office any, a department its own; 404 for another's.
ACKS = [
    ("office", "B-1", 200),
    ("dept_a", "A-1", 200),
    ("dept_a", "B-1", 404),
    ("dept_b", "A-1", 404),
    ("operator", "A-1", 403),
]


@pytest.mark.parametrize(("role", "case_id", "status"), ACKS)
def test_api_ack_by_role(con: Console, role: str, case_id: str, status: int) -> None:
    client = con.client()
    alert_id = con.alert_of(case_id)
    r = client.post(
        f"/api/alerts/{alert_id}/ack",
        json={"note": "已督促承办人办理"},
        headers={"Authorization": f"Bearer {con.tokens[role]}"},
    )
    assert r.status_code == status, r.text
    state = next(a.state for a in con.harness.alerts() if a.id == alert_id)
    if status == 200:
        assert r.json()["state"] == "acknowledged" == state
        history = client.get(
            f"/api/cases/{case_id}", headers={"Authorization": f"Bearer {con.tokens['office']}"}
        ).json()["alerts"][0]["history"]
        assert (history[-1]["action"], history[-1]["actor"], history[-1]["note"]) == (
            "acknowledged",
            role,
            "已督促承办人办理",
        )
        assert con.harness.verify().ok
    else:
        assert state == "open"
    if status == 403:
        assert r.json() == {"detail": "运维人员不能确认预警"}


def test_api_ack_twice_is_a_conflict(con: Console) -> None:
    client = con.client()
    auth = {"Authorization": f"Bearer {con.tokens['office']}"}
    alert_id = con.alert_of("A-1")
    assert client.post(f"/api/alerts/{alert_id}/ack", json={"note": "已阅"}, headers=auth).status_code == 200
    again = client.post(f"/api/alerts/{alert_id}/ack", json={"note": "已阅"}, headers=auth)
    assert again.status_code == 409
    assert "不能再确认" in again.json()["detail"]
    assert client.post(f"/api/alerts/{alert_id}/ack", json={"note": ""}, headers=auth).status_code == 422


@pytest.mark.parametrize(
    ("role", "status"), [("office", 303), ("dept_a", 303), ("dept_b", 404), ("operator", 403)]
)
def test_ack_form_by_role(con: Console, role: str, status: int) -> None:
    client = con.client()
    csrf = login(client, role)
    alert_id = con.alert_of("A-1")
    r = client.post(
        f"/alerts/{alert_id}/ack", data={"note": "已电话督促", "csrf_token": csrf}, follow_redirects=False
    )
    assert r.status_code == status
    if status == 303:
        assert r.headers["location"] == "/cases/A-1#alerts"
        page = client.get("/cases/A-1").text
        assert "已电话督促" in page and "已确认" in page


def test_case_page_shows_the_explain_view(con: Console) -> None:
    client = con.client()
    login(client, "office")
    page = client.get("/cases/A-1").text
    for words in (
        "办理过程",
        "收件",
        "受理",
        "时限计算",
        "起算",
        "工作日",
        "红牌",
        "存证记录校验通过",
        "发出预警",
    ):
        assert words in page, words


def test_api_needs_a_login_or_a_token(con: Console) -> None:
    client = con.client()
    assert client.get("/api/alerts").status_code == 401
    r = client.get("/api/alerts", headers={"Authorization": "Bearer sl_not-a-token"})
    assert r.status_code == 401 and r.json()["detail"] == "令牌无效或账户已停用"


def test_api_by_session_cookie(con: Console) -> None:
    client = con.client()
    login(client, "dept_b")
    assert client.get("/api/me").json() == {"name": "dept_b", "role": "department", "department": B}
    assert client.get("/api/alerts").json()["total"] == 1


def test_users_page_adds_and_disables(con: Console) -> None:
    client = con.client()
    csrf = login(client, "office")
    form = {
        "name": "qian",
        "role": "department",
        "department": B,
        "password": "qian-password",
        "csrf_token": csrf,
    }
    assert client.post("/users", data=form, follow_redirects=False).status_code == 303
    assert "qian" in client.get("/users").text
    bad = client.post("/users", data={**form, "name": "zhou", "department": ""})
    assert bad.status_code == 400 and "必须指定所属部门" in bad.text
    other = TestClient(client.app, base_url="http://127.0.0.1:8080")
    login(other, "qian", "qian-password")
    r = client.post("/users/qian/disable", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    # The signed-in session of a disabled user ends at its next request.
    assert other.get("/alerts", follow_redirects=False).status_code == 303


def test_console_on_every_backend(tmp_path: Path, any_db_url: str) -> None:
    """The list, the isolation, an acknowledgement and its history on SQLite, PostgreSQL, MariaDB."""
    with console(tmp_path, any_db_url) as con:
        client = con.client()
        csrf = login(client, "dept_a")
        listed = client.get("/api/alerts?level=red&state=open").json()
        assert {i["case_id"] for i in listed["items"]} == {"A-1", "A-2"} and listed["total"] == 2
        assert client.get("/cases/B-1").status_code == 404
        alert_id = con.alert_of("A-2")
        r = client.post(
            f"/api/alerts/{alert_id}/ack", json={"note": "已整改"}, headers={"X-CSRF-Token": csrf}
        )
        assert r.status_code == 200
        page = client.get("/cases/A-2").text
        assert "已整改" in page and "dept_a" in page and "存证记录校验通过" in page
        assert client.get("/alerts?state=acknowledged").text.count("/cases/A-2") == 1
        assert con.harness.verify().ok


def test_a_closed_alert_cannot_be_acknowledged(con: Console) -> None:
    from alerts.lifecycle import close

    alert_id = con.alert_of("B-1")
    with con.harness.app.state.begin() as conn:
        close(conn, alert_id, "office", "已办结", con.clock.now)
    auth = {"Authorization": f"Bearer {con.tokens['dept_b']}"}
    r = con.client().post(f"/api/alerts/{alert_id}/ack", json={"note": "x"}, headers=auth)
    assert r.status_code == 409 and r.json() == {"detail": "该预警已解除，不能再确认"}


def test_the_office_cannot_disable_itself(con: Console) -> None:
    client = con.client()
    csrf = login(client, "office")
    r = client.post("/users/office/disable", data={"csrf_token": csrf})
    assert r.status_code == 400 and "不能停用自己的账户" in r.text


def test_the_sms_short_link_opens_the_alerts_case_for_whoever_may_see_it(con: Console) -> None:
    a1, b1 = con.alert_of("A-1"), con.alert_of("B-1")
    anonymous = con.client().get(f"/s/{a1}", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    client = con.client()
    login(client, "dept_a")
    mine = client.get(f"/s/{a1}", follow_redirects=False)
    assert mine.status_code == 303 and mine.headers["location"] == f"/cases/A-1#alert-{a1}"
    assert client.get(f"/s/{b1}", follow_redirects=False).status_code == 404  # another department's
    assert client.get("/s/999999", follow_redirects=False).status_code == 404
