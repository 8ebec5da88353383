"""The escalation ladder's `Reach` (alerts.ladder): who holds a role for a case, from the
people directory in the source database, and the case's own handling officer from its steps.

The directory is read once per send, when the first rung asks, and a case's steps once per
case; a send that fires no rung reads neither. A directory that cannot be read (no people
table yet, a view that fails) leaves the ladder its fixed recipients and is logged once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from monitor.people.directory import Directory, officers_of
from monitor.source.reader import SourceReader

log = logging.getLogger(__name__)


class DirectoryReach:
    def __init__(self, source: Engine) -> None:
        self.source = source
        self._directory: Directory | None = None
        self._officers: dict[str, tuple[str, ...]] = {}

    def directory(self) -> Directory:
        if self._directory is None:
            try:
                with self.source.connect() as conn:
                    self._directory = Directory.load(conn)
            except SQLAlchemyError as exc:
                log.warning(
                    "the people directory cannot be read; rungs reach their fixed recipients only: %s", exc
                )
                self._directory = Directory(())
        return self._directory

    def prefetch(self, case_ids: Sequence[str]) -> None:
        """The steps of a batch of cases in one read (alerts.ladder calls it per batch)."""
        wanted = [c for c in case_ids if c not in self._officers]
        if not wanted or not len(self.directory()):
            return
        for case in SourceReader(self.source).load_cases(wanted):
            self._officers[case.case_id] = officers_of(case)
        for case_id in wanted:
            self._officers.setdefault(case_id, ())

    def officers(self, case_id: str) -> tuple[str, ...]:
        if case_id not in self._officers:
            cases = list(SourceReader(self.source).load_cases([case_id]))
            self._officers[case_id] = officers_of(cases[0]) if cases else ()
        return self._officers[case_id]

    def __call__(
        self, role: str, department: str, case_id: str, item_code: str, channels: Sequence[str]
    ) -> Sequence[tuple[str, str]]:
        directory = self.directory()
        if not len(directory):
            return ()
        officers = self.officers(case_id) if role == "handler" else ()
        out: list[tuple[str, str]] = []
        for person in directory.responsible(role, department, officers=officers, item_code=item_code):
            greeting = f"{person.name}同志"
            out.extend((url, greeting) for url in person.addresses(channels))
        return out
