"""The console's defences over HTTP: CSRF, the login lock, `next`, escaping, headers,
cookies, the session secret."""

from __future__ import annotations

import base64
import json
import stat
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.errors import StartupError
from monitor.web.secret import session_secret
from monitor.web.security import safe_next
from tests.conftest import write_config
from tests.console_support import HOSTILE, IMG, SCRIPT, Console, console, csrf_of, login


@pytest.fixture
def con(tmp_path: Path, sqlite_url: str) -> Iterator[Console]:
    with console(tmp_path, sqlite_url) as c:
        yield c


def test_unsafe_requests_need_the_sessions_csrf_token(con: Console) -> None:
    client = con.client()
    csrf = login(client, "office")
    alert_id = con.alert_of("A-1")
    missing = client.post(f"/alerts/{alert_id}/ack", data={"note": "x"}, follow_redirects=False)
    wrong = client.post(f"/alerts/{alert_id}/ack", data={"note": "x", "csrf_token": csrf + "x"})
    api_missing = client.post(f"/api/alerts/{alert_id}/ack", json={"note": "x"})
    api_wrong = client.post(
        f"/api/alerts/{alert_id}/ack", json={"note": "x"}, headers={"X-CSRF-Token": "nope"}
    )
    for r in (missing, wrong, api_missing, api_wrong):
        assert r.status_code == 403
    assert api_missing.json() == {"detail": "请求校验失败（CSRF），请刷新页面后重试"}
    assert {a.state for a in con.harness.alerts() if a.id == alert_id} == {"open"}
    ok = client.post(f"/api/alerts/{alert_id}/ack", json={"note": "x"}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200


def test_bearer_requests_need_no_csrf_token_and_ignore_the_cookie(con: Console) -> None:
    client = con.client()
    login(client, "office")  # a cookie of the office is present...
    alert_id = con.alert_of("B-1")
    r = client.post(
        f"/api/alerts/{alert_id}/ack",
        json={"note": "x"},
        headers={"Authorization": f"Bearer {con.tokens['dept_a']}"},  # ...but the token is dept_a's
    )
    assert r.status_code == 404
    r = client.post(
        f"/api/alerts/{alert_id}/ack",
        json={"note": "x"},
        headers={"Authorization": f"Bearer {con.tokens['dept_b']}"},
    )
    assert r.status_code == 200


def test_pages_do_not_take_a_token_in_place_of_the_session(con: Console) -> None:
    client = con.client()
    login(client, "office")  # the cookie is there, but a request with a token is judged by it alone
    alert_id = con.alert_of("A-1")
    auth = {"Authorization": f"Bearer {con.tokens['office']}"}
    r = client.post(f"/alerts/{alert_id}/ack", data={"note": "x"}, headers=auth, follow_redirects=False)
    assert r.status_code == 401
    assert client.get("/alerts", headers=auth).status_code == 401
    assert {a.state for a in con.harness.alerts() if a.id == alert_id} == {"open"}


def test_logout_and_login_need_csrf_too(con: Console) -> None:
    client = con.client()
    r = client.post("/login", data={"username": "office", "password": "office-password"})
    assert r.status_code == 403
    login(client, "office")
    assert client.post("/logout", follow_redirects=False).status_code == 403
    assert client.get("/alerts", follow_redirects=False).status_code == 200


def test_logout_ends_the_session(con: Console) -> None:
    client = con.client()
    csrf = login(client, "office")
    assert client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    assert client.get("/alerts", follow_redirects=False).status_code == 303


def _try(client: object, csrf: str, password: str) -> object:
    return client.post(  # type: ignore[attr-defined]
        "/login",
        data={"username": "dept_a", "password": password, "csrf_token": csrf},
        follow_redirects=False,
    )


def test_lockout_after_repeated_failures_and_unlock_after_the_lock_time(con: Console) -> None:
    client = con.client()
    csrf = csrf_of(client.get("/login").text)
    start = con.clock.now
    for i in range(5):  # web.login_max_failures
        con.clock.now = start + timedelta(minutes=i)
        r = _try(client, csrf, "wrong")
        assert r.status_code == 401 and "用户名或密码错误" in r.text  # type: ignore[attr-defined]
    con.clock.now = start + timedelta(minutes=10)
    locked = _try(client, csrf, "dept-a-password")
    assert locked.status_code == 401 and "账户已锁定" in locked.text  # type: ignore[attr-defined]
    con.clock.now = start + timedelta(minutes=4 + 15, seconds=1)  # web.login_lock_minutes after the 5th
    assert _try(client, csrf, "dept-a-password").status_code == 303  # type: ignore[attr-defined]


def test_the_lock_is_shared_by_two_web_processes(con: Console) -> None:
    first, second = con.client(), con.client()
    csrfs = [csrf_of(c.get("/login").text) for c in (first, second)]
    for i in range(5):
        client, csrf = (first, csrfs[0]) if i % 2 else (second, csrfs[1])
        _try(client, csrf, "wrong")
    assert "账户已锁定" in _try(first, csrfs[0], "dept-a-password").text  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("/cases/A-1", "/cases/A-1"),
        ("/alerts?level=red&page=2", "/alerts?level=red&page=2"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("\\\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/\t/evil.example", "/"),
        ("", "/"),
    ],
)
def test_next_is_only_ever_a_local_path(given: str, kept: str) -> None:
    assert safe_next(given) == kept


def test_login_redirects_to_next_and_refuses_another_site(con: Console) -> None:
    client = con.client()
    r = client.get("/cases/A-1", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fcases%2FA-1"
    page = client.get(r.headers["location"]).text
    assert 'name="next" value="/cases/A-1"' in page
    for target, expected in (("/cases/A-1", "/cases/A-1"), ("//evil.example/x", "/")):
        csrf = csrf_of(client.get("/login").text)
        done = client.post(
            "/login",
            data={"username": "office", "password": "office-password", "next": target, "csrf_token": csrf},
            follow_redirects=False,
        )
        assert done.headers["location"] == expected


def test_hostile_names_are_escaped_in_every_page(con: Console) -> None:
    office, hostile = con.client(), con.client()
    login(office, "office")
    login(hostile, "hostile")
    pages = [
        office.get("/"),
        office.get("/alerts"),
        office.get("/alerts", params={"department": HOSTILE}),
        office.get("/cases/H-1"),
        office.get("/users"),
        hostile.get("/"),
        hostile.get("/alerts"),
        hostile.get("/cases/H-1"),
        office.get("/alerts", params={"item": SCRIPT, "rule": IMG}),  # reflected filters
        office.get("/login", params={"next": f"/{SCRIPT}"}),  # a reflected next
    ]
    for r in pages:
        assert r.status_code == 200, r.url
        assert SCRIPT not in r.text and "<img src=x" not in r.text, r.url
    case_page = pages[3].text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in case_page  # the applicant's name, escaped
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;局" in case_page  # the department's
    assert "&lt;img" in pages[0].text  # the overview's table of departments
    anonymous = con.client()
    csrf = csrf_of(anonymous.get("/login").text)
    refused = anonymous.post("/login", data={"username": SCRIPT, "password": "x", "csrf_token": csrf})
    assert refused.status_code == 401 and SCRIPT not in refused.text and "&lt;script&gt;" in refused.text


def test_security_headers_on_every_answer(con: Console) -> None:
    client = con.client()
    answers = [client.get("/login"), client.get("/api/alerts"), client.get("/static/style.css")]
    login(client, "office")
    answers += [client.get("/"), client.get("/cases/NO-SUCH"), client.get("/api/alerts")]
    for r in answers:
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
    assert "<script>" not in answers[3].text.replace('<script src="/static/app.js" defer></script>', "")


def test_session_cookie_is_signed_httponly_and_lax(con: Console) -> None:
    client = con.client()
    csrf = csrf_of(client.get("/login").text)
    r = client.post(
        "/login",
        data={"username": "office", "password": "office-password", "csrf_token": csrf},
        follow_redirects=False,
    )
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    signed = client.cookies["sunlight_session"]
    payload = base64.b64encode(json.dumps({"user": "office"}).encode()).decode()
    for forged in (
        signed[:-2] + ("xx" if not signed.endswith("xx") else "yy"),
        payload,
        payload + "." + signed.split(".", 1)[1],
    ):
        other = con.client()
        other.cookies.set("sunlight_session", forged)
        assert other.get("/alerts", follow_redirects=False).status_code == 303
    assert client.get("/alerts", follow_redirects=False).status_code == 200


def test_https_base_url_makes_the_cookie_secure(tmp_path: Path, sqlite_url: str) -> None:
    with console(tmp_path, sqlite_url) as con:
        from monitor.config import WebConfig

        con.harness.config = con.harness.config.model_copy(
            update={"web": WebConfig(base_url="https://jiancha.example.gov.cn")}
        )
        client = con.client("https://jiancha.example.gov.cn")
        csrf = csrf_of(client.get("/login").text)
        r = client.post(
            "/login",
            data={"username": "office", "password": "office-password", "csrf_token": csrf},
            follow_redirects=False,
        )
        assert r.status_code == 303
        assert "; secure" in r.headers["set-cookie"].lower()


def test_session_secret_generated_once_for_sqlite(tmp_path: Path, sqlite_url: str) -> None:
    cfg = load_config(write_config(tmp_path, sqlite_url), environ={})
    first = session_secret(cfg)
    path = tmp_path / "data" / "web.secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert session_secret(cfg) == first and len(first) >= 32
    env = load_config(write_config(tmp_path, sqlite_url), environ={"SUNLIGHT_WEB_SECRET": "e" * 40})
    assert session_secret(env) == "e" * 40


def test_session_secret_required_on_a_server_database(tmp_path: Path) -> None:
    cfg = load_config(write_config(tmp_path, "postgresql+psycopg://u@127.0.0.1/x"), environ={})
    with pytest.raises(StartupError, match="SUNLIGHT_WEB_SECRET"):
        session_secret(cfg)
    assert not (tmp_path / "data" / "web.secret").exists()
    short = load_config(
        write_config(tmp_path, "postgresql+psycopg://u@127.0.0.1/x"), environ={"SUNLIGHT_WEB_SECRET": "x"}
    )
    with pytest.raises(StartupError, match="too short"):
        session_secret(short)
