"""The demo's directory of responsible persons, as `person` records of the exchange format.

The departments' persons are the staff who sign the demo's case steps, so that the
directory names the officers of its cases (`Directory.responsible`); the leaders and the
departments' codes come from data/directory.yaml. Only the seed decides the staff, and
reading it here draws nothing from the cases' random source: the case records stay as they
were.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pydantic import model_validator

from monitor.demo.base import Staff
from monitor.demo.catalogue import CATALOGUE, DEPARTMENTS, _Data, read_data
from monitor.demo.scenarios import Demo


class Leader(_Data):
    name: str
    covers: tuple[str, ...]


class DirectoryData(_Data):
    codes: dict[str, str]  # department -> its code in person ids and addresses
    leader_department: str
    leaders: tuple[Leader, ...]

    @model_validator(mode="after")
    def _known_departments(self) -> DirectoryData:
        missing = [d for d in DEPARTMENTS if d not in self.codes]
        if missing:
            raise ValueError(f"codes: no code for {', '.join(missing)}")
        for leader in self.leaders:
            unknown = [d for d in leader.covers if d not in DEPARTMENTS]
            if unknown:
                raise ValueError(f"{leader.name}: covers {', '.join(unknown)}, not in departments")
        return self


DIRECTORY = read_data("directory.yaml", DirectoryData)


class _Numbers:
    """Invented contacts, one mobile number each, in the order persons are written."""

    def __init__(self) -> None:
        self.count = 0

    def mobile(self) -> str:
        self.count += 1
        return f"+861380000{self.count:04d}"


def demo_people(now: datetime, seed: int = 1) -> Iterator[dict[str, Any]]:
    """`person` records: per department its handlers, head and liaison; then the leaders."""
    staff = Demo(now, seed).staff
    numbers = _Numbers()
    for department in DEPARTMENTS:
        yield from _department(department, staff[department], numbers)
    for k, leader in enumerate(DIRECTORY.leaders, start=1):
        yield {
            "type": "person",
            "person_id": f"P-SZF-{k:03d}",
            "name": leader.name,
            "department": DIRECTORY.leader_department,
            "roles": ["leader"],
            "covers": list(leader.covers),
            "mobile": numbers.mobile(),
            "feishu": f"ou_demo_szf_{k:03d}",
        }


def _department(department: str, staff: Staff, numbers: _Numbers) -> Iterator[dict[str, Any]]:
    code = DIRECTORY.codes[department]
    handlers = staff.reviewers + staff.officers
    items = [i.code for i in CATALOGUE if i.department == department]
    persons: list[tuple[str, str]] = [(name, "handler") for name in handlers]
    persons += [(staff.heads[0], "department_head"), (staff.publishers[0], "liaison")]
    for k, (name, role) in enumerate(persons, start=1):
        person_id = f"P-{code}-{k:03d}"
        record: dict[str, Any] = {
            "type": "person",
            "person_id": person_id,
            "name": name,
            "department": department,
            "roles": [role],
            "officer": name,
            "email": f"{code.lower()}{k:03d}@example.gov.cn",
        }
        if role == "handler":
            # The department's items, dealt round the handlers: whom a case goes to when
            # none of its officers is in the directory.
            record["items"] = items[k - 1 :: len(handlers)]
            record["dingtalk"] = f"demo-{code.lower()}-{k:03d}"
        if role != "liaison":
            record["mobile"] = numbers.mobile()
        if role in ("department_head", "liaison"):
            record["wecom"] = f"demo_{code.lower()}_{k:03d}"
        yield record
