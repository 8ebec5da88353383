"""The console's people: accounts, passwords, the login lock and personal API tokens.

Every function takes the connection and `now`; each returns `monitor.access.Actor` for the
person it lets in, so the layers above never handle a password or a token row.
"""

from __future__ import annotations

from monitor.users.accounts import (
    UserInfo,
    active_actor,
    add_user,
    disable_user,
    get_user,
    issue_token,
    list_users,
)
from monitor.users.login import LockPolicy, LoginRefusedError, actor_for_token, authenticate

__all__ = [
    "LockPolicy",
    "LoginRefusedError",
    "UserInfo",
    "active_actor",
    "actor_for_token",
    "add_user",
    "authenticate",
    "disable_user",
    "get_user",
    "issue_token",
    "list_users",
]
