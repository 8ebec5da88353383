"""Who is acting, and what they may see: the one check under every console page, API call and CLI action.

A person acts in one of three roles. The office (纪检监察 office) sees and acts on everything;
a department sees only its own department's cases and alerts, and answers the 督办 addressed
to it; an operator sees health and rule status, never case contents. The service layer asks
`Actor` before it reads or writes; the web layer only turns the exceptions below into 404,
403 and 409.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from monitor.errors import NotFoundError, SunlightError

Role = Literal["office", "department", "operator"]
ROLES: tuple[Role, ...] = ("office", "department", "operator")

ROLE_NAMES: dict[Role, str] = {"office": "纪检监察室", "department": "办理部门", "operator": "运维人员"}


@dataclass(frozen=True, slots=True)
class Actor:
    """A signed-in person (or an API token's owner); `department` is set for the department role only."""

    name: str
    role: Role
    department: str | None = None

    def __post_init__(self) -> None:
        if self.role == "department" and not self.department:
            raise ValueError(f"user {self.name!r}: the department role needs a department")

    @property
    def sees_cases(self) -> bool:
        return self.role in ("office", "department")

    def may_see(self, department: str) -> bool:
        """Whether this person may see a case or alert of `department`."""
        if self.role == "office":
            return True
        return self.role == "department" and department == self.department

    def check_sees(self, department: str, what: str) -> None:
        """Raise NotFoundError (never 'forbidden') so another department's ids reveal nothing."""
        if not self.may_see(department):
            raise NotFoundError(f"{what} not found")


class ForbiddenError(SunlightError):
    """The actor's role or department may not take this action; `reason` is the Chinese text shown."""

    exit_code = 2

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class StateConflictError(SunlightError):
    """The action does not fit the current state (a ruling before a reply, a second reply)."""

    exit_code = 2

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class InvalidRequestError(SunlightError):
    """What was sent cannot be acted on as it stands (an empty note); `reason` in Chinese."""

    exit_code = 2

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


SYSTEM = Actor(name="sunlight", role="office")  # the daemon itself, when it writes history rows
