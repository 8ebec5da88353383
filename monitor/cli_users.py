"""`sunlight users …`: the console's accounts (add, list, disable) and personal API tokens."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer

from monitor.cli_common import current_config, open_application, print_json
from monitor.errors import ConfigError
from monitor.terminal import cell, say
from monitor.timeutil import utcnow


def _operator() -> str:
    """Who ran the command, for the history: the system account's name."""
    return f"命令行（{getpass.getuser()}）"


users_app = typer.Typer(help="The console's users and API tokens.", no_args_is_help=True)


@users_app.command("add")
def users_add(
    name: str,
    role: Annotated[str, typer.Option("--role", help="office, department or operator")],
    department: Annotated[
        str | None, typer.Option("--department", help="The department (department role only)")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input")
    ] = False,
) -> None:
    """Add a user; the password is read from standard input (never from the command line)."""
    from monitor.users import add_user

    if not password_stdin:
        raise ConfigError("give --password-stdin and the password on standard input")
    password = sys.stdin.readline().rstrip("\r\n")
    cfg = current_config()
    application = open_application(cfg)
    try:
        application.prepare_audit()  # the account's creation is recorded in the history
        with application.state.begin() as conn:
            user = add_user(conn, name, role, department, password, utcnow(), by=_operator())
    finally:
        application.dispose()
    where = f" of {user.department}" if user.department else ""
    say(f"user {user.name} added: {user.role}{where}")


@users_app.command("list")
def users_list(
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """The users, with role, department and whether they are disabled or locked."""
    from monitor.users import list_users

    if fmt not in ("table", "json"):
        raise ConfigError(f"--format must be table or json, not {fmt!r}")
    cfg = current_config()
    application = open_application(cfg)
    try:
        with application.state.connect() as conn:
            found = list_users(conn)
    finally:
        application.dispose()
    now = utcnow()
    rows = [
        {
            "name": u.name,
            "role": u.role,
            "department": u.department,
            "disabled": u.disabled,
            "locked": u.locked_until is not None and u.locked_until > now,
            "created_at": u.created_at.astimezone(cfg.tz).isoformat(),
        }
        for u in found
    ]
    if fmt == "json":
        print_json(rows)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table()
    for column in ("name", "role", "department", "status", "created_at"):
        table.add_column(column)
    for r in rows:
        status = "disabled" if r["disabled"] else "locked" if r["locked"] else "active"
        shown = (r["name"], r["role"], r["department"] or "", status, str(r["created_at"])[:16])
        table.add_row(*map(cell, shown))
    Console().print(table)
    say(f"{len(rows)} users")


@users_app.command("disable")
def users_disable(name: str) -> None:
    """Disable a user: no sign-in, no API token; the account stays on record."""
    from monitor.users import disable_user

    cfg = current_config()
    application = open_application(cfg)
    try:
        application.prepare_audit()
        with application.state.begin() as conn:
            disable_user(conn, name, utcnow(), by=_operator())
    finally:
        application.dispose()
    say(f"user {name} disabled")


@users_app.command("token")
def users_token(name: str) -> None:
    """Print a new personal API token for NAME (shown once; only its hash is kept)."""
    from monitor.users import issue_token

    cfg = current_config()
    application = open_application(cfg)
    try:
        application.prepare_audit()
        with application.state.begin() as conn:
            token = issue_token(conn, name, utcnow(), by=_operator())
    finally:
        application.dispose()
    typer.echo(token)
