"""`sunlight people --check`: what would leave a notice without a person to go to."""

from __future__ import annotations

from sqlalchemy import Connection, select

from monitor.people.directory import Directory
from monitor.people.person import ROLE_NAMES
from monitor.state.schema import cases


def check_directory(conn: Connection, directory: Directory | None = None) -> tuple[str, ...]:
    """Warnings, one line each: rows the directory cannot read, persons no channel reaches,
    departments with cases but no handler or no department head. Empty: all is well."""
    found = directory if directory is not None else Directory.load(conn)
    warnings = list(found.problems)
    for person in found:
        if not person.channels():
            warnings.append(
                f"{person.person_id} {person.name} ({person.department}): no channel reaches them"
            )
    with_cases = sorted(set(conn.execute(select(cases.c.department).distinct()).scalars()))
    for department in with_cases:
        for role in ("handler", "department_head"):
            if not any(role in p.roles and p.department == department for p in found):
                warnings.append(f"{department}: has cases but no {role} ({ROLE_NAMES[role]})")
    return tuple(warnings)
