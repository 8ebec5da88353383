"""Users: accounts, the login lock counted in the database, API tokens, `sunlight users`."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.access import Actor, StateConflictError
from monitor.errors import ConfigError
from monitor.state.schema import api_tokens, users
from monitor.users import (
    LockPolicy,
    LoginRefusedError,
    actor_for_token,
    add_user,
    authenticate,
    disable_user,
    issue_token,
)
from tests.conftest import Harness, bj, run_cli, upgraded, write_config

NOW = bj("2026-11-23 09:00")
POLICY = LockPolicy(max_failures=3, window=timedelta(minutes=15), lock=timedelta(minutes=15))


def test_password_is_stored_as_argon2_and_signs_in(any_db_url: str, tmp_path: Path) -> None:
    from monitor.config import load_config

    h = Harness(load_config(write_config(tmp_path, any_db_url), environ={}))
    try:
        with h.app.state.begin() as conn:
            add_user(conn, "wang", "department", "市市场监督管理局", "correct horse 1", NOW)
            stored = conn.execute(select(users.c.password_hash)).scalar_one()
        assert stored.startswith("$argon2id$") and "correct horse" not in stored
        actor = authenticate(h.app.state, "wang", "correct horse 1", NOW)
        assert actor == Actor("wang", "department", "市市场监督管理局")
    finally:
        h.app.dispose()


def test_failures_lock_the_account_until_the_lock_time_passes(any_db_url: str, tmp_path: Path) -> None:
    from monitor.config import load_config

    h = Harness(load_config(write_config(tmp_path, any_db_url), environ={}))
    try:
        with h.app.state.begin() as conn:
            add_user(conn, "li", "office", None, "a long password", NOW)
        for i in range(3):
            with pytest.raises(LoginRefusedError, match="用户名或密码错误"):
                authenticate(h.app.state, "li", "wrong", NOW + timedelta(minutes=i), POLICY)
        # Locked: even the right password is refused until the lock has passed.
        with pytest.raises(LoginRefusedError, match="账户已锁定"):
            authenticate(h.app.state, "li", "a long password", NOW + timedelta(minutes=10), POLICY)
        later = NOW + timedelta(minutes=2 + 15, seconds=1)
        assert authenticate(h.app.state, "li", "a long password", later, POLICY).role == "office"
    finally:
        h.app.dispose()


def test_failures_outside_the_window_do_not_add_up(harness: Harness) -> None:
    with harness.app.state.begin() as conn:
        add_user(conn, "li", "office", None, "a long password", NOW)
    for minutes in (0, 20, 40, 60):  # each in a window of its own
        with pytest.raises(LoginRefusedError, match="密码错误"):
            authenticate(harness.app.state, "li", "wrong", NOW + timedelta(minutes=minutes), POLICY)
    assert (
        authenticate(harness.app.state, "li", "a long password", NOW + timedelta(minutes=61), POLICY).name
        == "li"
    )


def test_unknown_and_disabled_users_are_refused(harness: Harness) -> None:
    with harness.app.state.begin() as conn:
        add_user(conn, "zhao", "operator", None, "a long password", NOW)
        disable_user(conn, "zhao", NOW)
    with pytest.raises(LoginRefusedError, match="用户名或密码错误"):
        authenticate(harness.app.state, "nobody", "a long password", NOW)
    with pytest.raises(LoginRefusedError, match="已停用"):
        authenticate(harness.app.state, "zhao", "a long password", NOW)


def test_new_accounts_are_checked(harness: Harness) -> None:
    with harness.app.state.begin() as conn:
        with pytest.raises(ConfigError, match="必须指定所属部门"):
            add_user(conn, "a", "department", None, "a long password", NOW)
        with pytest.raises(ConfigError, match="角色"):
            add_user(conn, "a", "admin", None, "a long password", NOW)
        with pytest.raises(ConfigError, match="密码至少"):
            add_user(conn, "a", "office", None, "short", NOW)
        add_user(conn, "a", "office", None, "a long password", NOW)
        with pytest.raises(StateConflictError, match="已存在"):
            add_user(conn, "a", "office", None, "a long password", NOW)


def test_tokens_are_stored_hashed_and_stop_with_their_user(harness: Harness) -> None:
    with harness.app.state.begin() as conn:
        add_user(conn, "sun", "office", None, "a long password", NOW)
        token = issue_token(conn, "sun", NOW)
        stored = conn.execute(select(api_tokens.c.token_hash)).scalar_one()
    assert token not in stored and len(stored) == 64
    with harness.app.state.connect() as conn:
        assert actor_for_token(conn, token) == Actor("sun", "office")
        assert actor_for_token(conn, token + "x") is None
    with harness.app.state.begin() as conn:
        disable_user(conn, "sun", NOW)
    with harness.app.state.connect() as conn:
        assert actor_for_token(conn, token) is None


def test_users_cli(tmp_path: Path, sqlite_url: str) -> None:
    config = upgraded(write_config(tmp_path, sqlite_url))
    added = run_cli(
        config,
        *("users", "add", "zhou", "--role", "department", "--department", "市税务局", "--password-stdin"),
        stdin="zhou's password\n",
    )
    assert added.returncode == 0, added.stderr
    assert "zhou added" in added.stdout
    refused = run_cli(
        config, "users", "add", "qian", "--role", "department", "--password-stdin", stdin="x" * 12
    )
    assert refused.returncode == 2 and "所属部门" in refused.stderr
    listed = run_cli(config, "users", "list", "--format", "json")
    assert [(u["name"], u["role"], u["department"], u["disabled"]) for u in json.loads(listed.stdout)] == [
        ("zhou", "department", "市税务局", False)
    ]
    token = run_cli(config, "users", "token", "zhou")
    assert token.returncode == 0 and token.stdout.strip().startswith("sl_")
    assert run_cli(config, "users", "disable", "zhou").returncode == 0
    listed = run_cli(config, "users", "list", "--format", "json")
    assert json.loads(listed.stdout)[0]["disabled"] is True
    missing = run_cli(config, "users", "disable", "nobody")
    assert missing.returncode == 1 and "nobody" in missing.stderr
    assert run_cli(config, "audit", "anchor").returncode == 0
    shown = run_cli(config, "audit", "verify")
    assert shown.returncode == 0, shown.stdout + shown.stderr


def test_account_changes_are_rows_of_the_history(harness: Harness) -> None:
    from monitor.state.schema import alert_history

    with harness.app.state.begin() as conn:
        add_user(conn, "wu", "department", "市税务局", "a long password", NOW, by="office")
        token = issue_token(conn, "wu", NOW, by="office")
        disable_user(conn, "wu", NOW, by="office")
        disable_user(conn, "wu", NOW, by="office")  # already disabled: nothing more to record
    with harness.app.state.connect() as conn:
        rows = list(conn.execute(select(alert_history).order_by(alert_history.c.chain_seq)))
    assert [(r.alert_id, r.action, r.actor) for r in rows] == [
        (0, "user_added", "office"),
        (0, "token_issued", "office"),
        (0, "user_disabled", "office"),
    ]
    assert rows[0].detail == {"user": "wu", "role": "department", "department": "市税务局"}
    assert all(token not in str(r.detail) for r in rows)
    assert harness.verify().ok
