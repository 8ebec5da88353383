"""Signing in: password checks with a lock after repeated failures, and API tokens.

The counters live in the user's row and change by conditional updates, so several web
processes count one person's failures together. An unknown name costs one argon2 check too,
so the answer's timing does not tell which names exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, Engine, and_, or_, select, update

from monitor.access import Actor, Role
from monitor.engine.messages import fmt_instant
from monitor.errors import SunlightError
from monitor.state.schema import api_tokens, users
from monitor.timeutil import DEFAULT_TZ
from monitor.users.accounts import HASHER, token_hash

_DUMMY = HASHER.hash("not a password of anyone's")
BAD_LOGIN = "用户名或密码错误"


@dataclass(frozen=True, slots=True)
class LockPolicy:
    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lock: timedelta = timedelta(minutes=15)


class LoginRefusedError(SunlightError):
    """A sign-in refused; `reason` is the Chinese text the login page shows."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def authenticate(
    engine: Engine, name: str, password: str, now: datetime, policy: LockPolicy = LockPolicy()
) -> Actor:
    """The person behind `name` and `password`, or LoginRefusedError (a wrong password counts
    towards the lock; a locked account is refused without looking at the password).

    It takes the engine, not a connection: the failure it counts must commit although the
    sign-in fails, so it is not the caller's transaction to roll back."""
    with engine.begin() as conn:
        actor, refused = _attempt(conn, name, password, now, policy)
    if refused is not None:
        raise refused
    assert actor is not None
    return actor


def _attempt(
    conn: Connection, name: str, password: str, now: datetime, policy: LockPolicy
) -> tuple[Actor | None, LoginRefusedError | None]:
    row = conn.execute(select(users).where(users.c.name == name)).first()
    if row is None:
        _verify(_DUMMY, password)
        return None, LoginRefusedError(BAD_LOGIN)
    if row.locked_until is not None and row.locked_until > now:
        return None, LoginRefusedError(
            f"登录失败次数过多，账户已锁定至{fmt_instant(row.locked_until, DEFAULT_TZ)}"
            "（北京时间），请稍后再试"
        )
    if not _verify(str(row.password_hash), password):
        _failed(conn, row, now, policy)
        return None, LoginRefusedError(BAD_LOGIN)
    if row.disabled:
        return None, LoginRefusedError("该账户已停用，请联系纪检监察室")
    values: dict[str, Any] = {"failed_logins": 0, "failed_since": None, "locked_until": None}
    if HASHER.check_needs_rehash(str(row.password_hash)):
        values["password_hash"] = HASHER.hash(password)
    conn.execute(update(users).where(users.c.id == row.id).values(values))
    return Actor(row.name, cast(Role, row.role), row.department), None


def _verify(stored: str, password: str) -> bool:
    try:
        return HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _failed(conn: Connection, row: Any, now: datetime, policy: LockPolicy) -> None:
    """Count one failure: a new window when the last one has passed, the lock on the last
    allowed failure. The update is relative (`failed_logins + 1`) so that two processes
    counting at once both count."""
    u = users.c
    fresh = or_(u.failed_since.is_(None), u.failed_since <= now - policy.window)
    conn.execute(update(users).where(u.id == row.id, fresh).values(failed_logins=0, failed_since=now))
    conn.execute(update(users).where(u.id == row.id).values(failed_logins=u.failed_logins + 1))
    conn.execute(
        update(users)
        .where(and_(u.id == row.id, u.failed_logins >= policy.max_failures))
        .values(locked_until=now + policy.lock, failed_logins=0, failed_since=None)
    )


def actor_for_token(conn: Connection, token: str) -> Actor | None:
    """The owner of an API token, or None (unknown token, or its owner is disabled)."""
    row = conn.execute(
        select(users.c.name, users.c.role, users.c.department)
        .select_from(api_tokens.join(users, users.c.id == api_tokens.c.user_id))
        .where(api_tokens.c.token_hash == token_hash(token), users.c.disabled.is_(False))
    ).first()
    return None if row is None else Actor(row.name, cast(Role, row.role), row.department)
