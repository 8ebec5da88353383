"""The directory of responsible persons: who answers for a case in a given role.

Read once per pass or send (`Directory.load`, one SELECT), then asked per notice
(`responsible`) from memory. A row the directory cannot read (a platform's view holding a
role it does not know, a list that is not JSON) is left out and kept in `problems`, for
`sunlight people --check`; it never stops a pass.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, select

from monitor.model import Case
from monitor.people.person import ROLES, Person
from monitor.state.schema import people


def officers_of(case: Case) -> tuple[str, ...]:
    """The actors of the case's steps, most recent step first, each once."""
    seen: dict[str, None] = {}
    for event in reversed(case.events):
        for actor in event.actors:
            seen.setdefault(actor, None)
    return tuple(seen)


def _texts(value: Any, column: str) -> tuple[str, ...]:
    """A JSON list of strings as a column holds it (a list, or text on MariaDB and views)."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{column} is not a JSON list of strings")
    return tuple(value)


def person_from_row(row: Mapping[Any, Any]) -> Person:
    """One row of `people`; ValueError names the column at fault (never a contact's value)."""
    roles = _texts(row["roles"], "roles")
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise ValueError(f"roles must be some of {', '.join(ROLES)}")
    name = str(row["name"])
    return Person(
        person_id=str(row["person_id"]),
        name=name,
        department=str(row["department"]),
        roles=roles,
        officer=str(row["officer"] or name),
        items=_texts(row["items"], "items"),
        covers=_texts(row["covers"], "covers"),
        mobile=row["mobile"] or None,
        email=row["email"] or None,
        dingtalk=row["dingtalk"] or None,
        wecom=row["wecom"] or None,
        feishu=row["feishu"] or None,
        active=bool(row["active"]),
    )


class Directory:
    """The active persons, indexed by department and role."""

    __slots__ = ("_by_department", "_leaders", "persons", "problems")

    def __init__(self, persons: Iterable[Person], problems: Sequence[str] = ()) -> None:
        self.persons: tuple[Person, ...] = tuple(p for p in persons if p.active)
        self.problems: tuple[str, ...] = tuple(problems)
        self._by_department: dict[tuple[str, str], list[Person]] = {}
        self._leaders: list[Person] = []
        for person in self.persons:
            for role in person.roles:
                if role == "leader":
                    self._leaders.append(person)
                else:
                    self._by_department.setdefault((role, person.department), []).append(person)

    @classmethod
    def load(cls, conn: Connection) -> Directory:
        """The active persons of the `people` table (or view), in person_id order."""
        query = select(people).where(people.c.active.is_(True)).order_by(people.c.person_id)
        persons: list[Person] = []
        problems: list[str] = []
        for row in conn.execute(query).mappings():
            try:
                persons.append(person_from_row(row))
            except (ValueError, TypeError) as exc:  # json.JSONDecodeError is a ValueError
                problems.append(f"person {row['person_id']}: {exc}")
        return cls(persons, problems)

    def responsible(
        self,
        role: str,
        department: str,
        *,
        officers: Sequence[str] = (),
        item_code: str | None = None,
    ) -> tuple[Person, ...]:
        """Who answers in `role` for a case of `department`.

        handler: the department's handlers among `officers` (the case's step actors, most
        recent first: the officer who handled it last comes first), else the handlers posted
        to `item_code`, else nobody (the department's route still hears of it);
        department_head and liaison: the department's; leader: every leader who covers the
        department (or belongs to it)."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
        if role == "leader":
            return tuple(p for p in self._leaders if department in p.covers or p.department == department)
        found = self._by_department.get((role, department), [])
        if role != "handler":
            return tuple(found)
        by_officer: dict[str, list[Person]] = {}
        for person in found:
            by_officer.setdefault(person.officer, []).append(person)
        named = [p for officer in dict.fromkeys(officers) for p in by_officer.get(officer, [])]
        if named:
            return tuple(named)
        if item_code is not None:
            return tuple(p for p in found if item_code in p.items)
        return ()

    def departments(self) -> frozenset[str]:
        """The departments that have a handler or a department head."""
        return frozenset(d for (role, d) in self._by_department if role in ("handler", "department_head"))

    def __len__(self) -> int:
        return len(self.persons)

    def __iter__(self) -> Any:
        return iter(self.persons)

    def __repr__(self) -> str:
        return f"Directory({len(self.persons)} persons)"
