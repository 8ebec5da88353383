"""办件查询: what the public may learn of one case, found by its number and a check only the
applicant knows (the last four digits of the phone on file).

The answer holds no personal data and no case contents beyond its standing: the item, the
department, when it was received, the step it is at, and whether it is within its time
limit. A wrong check, a case with no phone on file and a case that does not exist all give
the same answer (None), so the page cannot be used to learn which case numbers exist. The
lookups a client may make are limited (`Throttle`), so the four digits cannot be guessed.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from monitor.console.context import Services
from monitor.engine import evaluate
from monitor.engine.messages import fmt_deadline, fmt_instant
from monitor.model import Category, Level
from monitor.source.reader import SourceReader


@dataclass(frozen=True, slots=True)
class PublicStatus:
    case_id: str
    item_name: str
    department: str
    received: str
    step: str  # the latest step, in Chinese
    standing: str  # 办理中（在时限内）, 办理中（已超过办理时限）, 已办结（按时/超期）
    due: str  # the time limit's deadline, where one runs
    as_of: str


def lookup(services: Services, case_id: str, check: str, now: datetime) -> PublicStatus | None:
    """The case's standing, or None for a wrong check or an unknown case alike."""
    case_id, check = case_id.strip(), check.strip()
    if not case_id or len(check) != 4 or not check.isdigit():
        return None
    found = list(SourceReader(services.source).load_cases([case_id]))
    case = found[0] if found else None
    phone = "".join(ch for ch in (case.applicant.phone or "") if ch.isdigit()) if case else ""
    # Compared in constant time, and the same way when there is no phone to compare with.
    expected = phone[-4:] if len(phone) >= 4 else "\0\0\0\0"
    if case is None or not hmac.compare_digest(expected, check) or not case.events:
        return None
    tz = services.tz
    rules, calendar = services.holder.rules(), services.holder.calendar()
    ev = evaluate(case, rules, calendar, now, tz)
    clocks = [c for c in ev.clocks if c.category is Category.TIME_LIMIT and c.start is not None]
    late = any(c.level is Level.RED for c in clocks)
    if case.is_closed:
        standing = "已办结（超过办理时限）" if late else "已办结（在办理时限内）"
    elif not clocks:
        standing = "办理中"
    else:
        standing = "办理中（已超过办理时限）" if late else "办理中（在办理时限内）"
    due = next((c.due for c in clocks if c.due is not None and c.stop is None), None)
    last = case.events[-1]
    return PublicStatus(
        case_id=case.case_id,
        item_name=case.item.name if case.item else case.item_code,
        department=case.department,
        received=fmt_instant(case.events[0].at, tz),
        step=rules.vocabulary.step(last.kind, case.item),  # the name only: no officer, no detail
        standing=standing,
        due=fmt_deadline(due, tz) if due is not None and not case.is_closed else "",
        as_of=fmt_instant(now, tz),
    )


class Throttle:
    """At most `limit` lookups per client in any `window` seconds, in this process. A client
    over the limit is told to wait; it learns nothing about any case."""

    def __init__(
        self, limit: int = 10, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit, self.window = limit, window
        self._clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, client: str) -> bool:
        now = self._clock()
        with self._lock:
            if len(self._seen) > 10_000:  # forget idle clients rather than grow without bound
                self._seen = {k: v for k, v in self._seen.items() if v and now - v[-1] < self.window}
            times = self._seen.setdefault(client, deque())
            while times and now - times[0] >= self.window:
                times.popleft()
            if len(times) >= self.limit:
                return False
            times.append(now)
            return True
