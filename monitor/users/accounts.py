"""Accounts: add, list, disable, and a personal API token shown once."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from argon2 import PasswordHasher
from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError

from alerts import history
from alerts.silences import SYSTEM_ALERT
from monitor.access import ROLES, SYSTEM, Actor, Role, StateConflictError
from monitor.errors import ConfigError, NotFoundError
from monitor.state.schema import api_tokens, users

HASHER = PasswordHasher()  # argon2id with the library's current parameters
MIN_PASSWORD = 10
TOKEN_PREFIX = "sl_"  # noqa: S105 - a marker that makes a leaked token recognisable
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True, slots=True)
class UserInfo:
    """An account as the 用户 page and `sunlight users list` show it (never its hash)."""

    name: str
    role: Role
    department: str | None
    disabled: bool
    locked_until: datetime | None
    created_at: datetime

    @property
    def actor(self) -> Actor:
        return Actor(self.name, self.role, self.department)


def _info(row: Any) -> UserInfo:
    return UserInfo(
        row.name, cast(Role, row.role), row.department, bool(row.disabled), row.locked_until, row.created_at
    )


def check_new_user(name: str, role: str, department: str | None, password: str) -> None:
    """Why an account may not be made as asked (ConfigError, in Chinese: the page shows it)."""
    if not _NAME.fullmatch(name):
        raise ConfigError(f"用户名 {name!r} 无效：只能使用字母、数字和 . _ -，不超过64个字符")
    if role not in ROLES:
        raise ConfigError(f"角色 {role!r} 无效：应为 office、department 或 operator")
    if role == "department" and not (department and department.strip()):
        raise ConfigError("办理部门用户必须指定所属部门（--department）")
    if role != "department" and department:
        raise ConfigError("只有办理部门用户才有所属部门")
    if len(password) < MIN_PASSWORD:
        raise ConfigError(f"密码至少{MIN_PASSWORD}个字符")


def _record(conn: Connection, action: str, by: str, now: datetime, **detail: Any) -> None:
    """An account's change as a row of the hash-chained history (about no single alert)."""
    history.append(conn, SYSTEM_ALERT, action, now, actor=by, detail=detail)


def add_user(
    conn: Connection,
    name: str,
    role: str,
    department: str | None,
    password: str,
    now: datetime,
    *,
    by: str = SYSTEM.name,
) -> UserInfo:
    """A new account; StateConflictError when the name is taken. `by`: who added it, for
    the history."""
    department = department.strip() if department else None
    check_new_user(name, role, department, password)
    try:
        with conn.begin_nested():
            conn.execute(
                users.insert().values(
                    name=name,
                    role=role,
                    department=department,
                    password_hash=HASHER.hash(password),
                    disabled=False,
                    failed_logins=0,
                    created_at=now,
                )
            )
    except IntegrityError as exc:
        raise StateConflictError(f"用户名 {name} 已存在") from exc
    _record(conn, "user_added", by, now, user=name, role=role, department=department)
    return get_user(conn, name)


def get_user(conn: Connection, name: str) -> UserInfo:
    row = conn.execute(select(users).where(users.c.name == name)).first()
    if row is None:
        raise NotFoundError(f"no user named {name!r}")
    return _info(row)


def active_actor(conn: Connection, name: str) -> Actor | None:
    """The signed-in person behind a session's name, read again on every request: a disabled
    account (or one whose role changed) takes effect at once."""
    row = conn.execute(select(users).where(users.c.name == name, users.c.disabled.is_(False))).first()
    return None if row is None else _info(row).actor


def list_users(conn: Connection) -> list[UserInfo]:
    return [_info(r) for r in conn.execute(select(users).order_by(users.c.role, users.c.name))]


def disable_user(conn: Connection, name: str, now: datetime, *, by: str = SYSTEM.name) -> UserInfo:
    """Disable an account (kept, never deleted: the history names its actions); its tokens
    stop working with it."""
    done = conn.execute(
        update(users).where(users.c.name == name, users.c.disabled.is_(False)).values(disabled=True)
    )
    if done.rowcount == 1:
        _record(conn, "user_disabled", by, now, user=name)
    return get_user(conn, name)  # NotFoundError for no such user; a second disable changes nothing


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(conn: Connection, name: str, now: datetime, *, by: str = SYSTEM.name) -> str:
    """A new personal API token for `name`; only its SHA-256 is kept, so it is shown once."""
    row = conn.execute(select(users.c.id, users.c.disabled).where(users.c.name == name)).first()
    if row is None:
        raise NotFoundError(f"no user named {name!r}")
    if row.disabled:
        raise StateConflictError(f"用户 {name} 已停用，不能签发令牌")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    conn.execute(api_tokens.insert().values(user_id=row.id, token_hash=token_hash(token), created_at=now))
    _record(conn, "token_issued", by, now, user=name)  # never the token, nor its hash
    return token
