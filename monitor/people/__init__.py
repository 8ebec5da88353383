"""The directory of responsible persons: who is told of a case, and how to reach them.

`Person` is one person (承办人 handler, 部门负责人 department head, 分管领导 leader, 联络员
liaison) with their contacts; `Directory.load` reads the `people` source table once per pass
and `responsible` answers who, for a role and a department, answers for a case.
"""

from __future__ import annotations

from monitor.people.directory import Directory, officers_of, person_from_row
from monitor.people.person import (
    CHANNELS,
    ROLE_NAMES,
    ROLES,
    Person,
    mask_email,
    mask_mobile,
    mask_user_id,
)

__all__ = [
    "CHANNELS",
    "ROLES",
    "ROLE_NAMES",
    "Directory",
    "Person",
    "mask_email",
    "mask_mobile",
    "mask_user_id",
    "officers_of",
    "person_from_row",
]
