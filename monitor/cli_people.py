"""`sunlight people`: the directory of responsible persons, contacts masked, and its check."""

from __future__ import annotations

from typing import Annotated

import typer

from monitor.cli_common import current_config, open_application
from monitor.errors import ConfigError, StartupError
from monitor.terminal import cell, say

people_commands = typer.Typer()


@people_commands.command("people")
def people_(
    department: Annotated[
        str | None,
        typer.Option("--department", help="Only this department's persons, and the leaders covering it"),
    ] = None,
    role: Annotated[
        str | None, typer.Option("--role", help="handler, department_head, leader or liaison")
    ] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Warn of persons no channel reaches and departments with cases but no handler or "
            "department head (exit 1 if any)",
        ),
    ] = False,
) -> None:
    """The directory of responsible persons (承办人, 部门负责人, 分管领导, 联络员), contacts masked."""
    from rich.console import Console
    from rich.table import Table
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from monitor.people import ROLE_NAMES, ROLES, Directory
    from monitor.people.check import check_directory

    if role is not None and role not in ROLES:
        raise ConfigError(f"--role must be one of {', '.join(ROLES)}, not {role!r}")
    cfg = current_config()
    application = open_application(cfg)
    try:
        with application.source.connect() as conn:
            directory = Directory.load(conn)
            warnings = check_directory(conn, directory) if check else ()
    except (OperationalError, ProgrammingError) as exc:
        # A platform's source made before the directory: no `people` view (yet).
        raise StartupError(
            "the source has no readable `people` table or view (docs/data-model.md, "
            f"the directory of responsible persons): {type(exc.orig).__name__}"
        ) from exc
    finally:
        application.dispose()
    if check:
        for line in warnings:
            say(f"warning: {line}")
        say(f"{len(directory)} persons; {len(warnings)} warnings")
        if warnings:
            raise typer.Exit(1)
        return
    shown = [
        p
        for p in directory
        if (role is None or role in p.roles)
        and (
            department is None
            or p.department == department
            or ("leader" in p.roles and department in p.covers)
        )
    ]
    table = Table()
    for column in ("person_id", "name", "department", "roles", "officer", "contacts", "channels"):
        table.add_column(column)
    for p in shown:
        roles = "、".join(ROLE_NAMES[r] for r in p.roles)
        contacts = " ".join(p.masked().values())
        table.add_row(
            *map(
                cell, (p.person_id, p.name, p.department, roles, p.officer, contacts, ", ".join(p.channels()))
            )
        )
    Console(width=max(Console().width, 160)).print(table)
    say(f"{len(shown)} of {len(directory)} persons")
