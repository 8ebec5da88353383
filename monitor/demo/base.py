"""What every demo case is made of: planned and placed steps, a department's staff, the
random source, the calendar and the day arithmetic, invented people."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import groupby
from typing import Any

from monitor.calendar import WorkCalendar
from monitor.demo.catalogue import DEPARTMENTS, PEOPLE, Item
from monitor.demo.figures import OFFICE_CLOSE, OFFICE_OPEN, SOON_MINUTES, TODAY_USABLE_FROM, TZ

Timed = tuple[datetime, str, tuple[str, ...], dict[str, Any]]  # an event: at, kind, actors, attributes


@dataclass(frozen=True, slots=True)
class Step:
    """One planned event, `offset` working days after the plan's first event."""

    offset: int
    kind: str
    actors: tuple[str, ...] = ()
    attributes: Mapping[str, Any] = field(default_factory=dict)
    soon: bool = False  # minutes after the step before it, on the same day


@dataclass(frozen=True, slots=True)
class Placed:
    day: date
    kind: str
    actors: tuple[str, ...]
    attributes: Mapping[str, Any]
    soon: bool


@dataclass(frozen=True, slots=True)
class Staff:
    clerks: tuple[str, ...]
    reviewers: tuple[str, ...]
    heads: tuple[str, ...]
    officers: tuple[str, ...]
    lawyers: tuple[str, ...]
    publishers: tuple[str, ...]


@dataclass(slots=True)
class Draft:
    item_code: str
    item_type: str
    department: str
    applicant: dict[str, str]
    attributes: dict[str, Any]
    events: list[Timed]


class DemoBase:
    """The random source, the calendar and the day arithmetic shared by every case."""

    def __init__(self, now: datetime, seed: int) -> None:
        self.rng = random.Random(seed)
        self.cal = WorkCalendar.default()
        self.now = now.astimezone(TZ)
        self.today = self.now.date()
        # w1: the last working day up to today; every "k working days ago" counts back from it.
        self.w1 = self.today
        while not self.cal.is_workday(self.w1):
            self.w1 -= timedelta(days=1)
        # ref: the last day that can still take events (today only once the office is open).
        if self.w1 == self.today and self.now.time() >= TODAY_USABLE_FROM:
            self.ref = self.today
        else:
            self.ref = self.cal.working_days_before(self.w1, 1) if self.w1 == self.today else self.w1
        self.staff = {dept: self._staff() for dept in DEPARTMENTS}

    # -- people ------------------------------------------------------------------------

    def name(self) -> str:
        rng = self.rng
        given = rng.choice(PEOPLE.given_one) if rng.random() < 0.3 else rng.choice(PEOPLE.given_two)
        return rng.choice(PEOPLE.surnames) + given

    def _staff(self) -> Staff:
        def names(n: int) -> tuple[str, ...]:
            return tuple(self.name() for _ in range(n))

        return Staff(names(4), names(3), names(2), names(6), names(2), names(1))

    def id_number(self) -> str:
        """18 digits: birthplace, birth date, sequence and the GB 11643 check digit."""
        rng = self.rng
        born = self.today - timedelta(days=rng.randint(20 * 365, 68 * 365))
        body = f"{rng.choice(PEOPLE.areas)}{born:%Y%m%d}{rng.randint(1, 999):03d}"
        weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
        total = sum(int(c) * w for c, w in zip(body, weights, strict=True))
        return body + "10X98765432"[total % 11]

    def credit_code(self) -> str:
        """统一社会信用代码: registration type, district, organisation code, GB 32100 check."""
        rng = self.rng
        org = "".join(str(rng.randint(0, 9)) for _ in range(8))
        org_weights = (3, 7, 9, 10, 5, 8, 4, 2)
        c9 = 11 - sum(int(c) * w for c, w in zip(org, org_weights, strict=True)) % 11
        org += "X" if c9 == 10 else "0" if c9 == 11 else str(c9)
        body = f"91{rng.choice(PEOPLE.areas[:10])}{org}"
        charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
        weights = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
        total = sum(charset.index(c) * w for c, w in zip(body, weights, strict=True))
        return body + charset[(31 - total % 31) % 31]

    def phone(self) -> str:
        digits = "".join(str(self.rng.randint(0, 9)) for _ in range(8))
        return self.rng.choice(PEOPLE.mobile_prefixes) + digits

    def applicant(self, item: Item, party_type: str) -> dict[str, str]:
        if party_type == "person":
            return {"name": self.name(), "id_number": self.id_number(), "phone": self.phone()}
        company = self.rng.choice(PEOPLE.brands) + self.rng.choice(item.trades)
        return {"name": company, "id_number": self.credit_code(), "phone": self.phone()}

    # -- days --------------------------------------------------------------------------

    def ago(self, day: date) -> int:
        """Working days from `day` to the last working day up to today (start not counted)."""
        return self.cal.working_days_between(day, self.w1)

    def place(self, steps: list[Step], anchor: date, anchor_offset: int = 0) -> list[Placed]:
        """Put a plan on the calendar with the step at `anchor_offset` on `anchor`."""
        cal = self.cal
        out = []
        for s in sorted(steps, key=lambda s: s.offset):  # stable: same-day steps keep order
            shift = s.offset - anchor_offset
            day = (
                cal.add_working_days(anchor, shift) if shift >= 0 else cal.working_days_before(anchor, -shift)
            )
            out.append(Placed(day, s.kind, s.actors, s.attributes, s.soon))
        return [p for p in out if p.day <= self.ref]

    def clock(self, placed: list[Placed]) -> list[Timed]:
        """Times of day in office hours, increasing within a day, never after `now`; a `soon`
        step follows the one before it within a few minutes (same visit, on-the-spot fine)."""
        out = []
        for day, group in groupby(placed, key=lambda p: p.day):
            steps = list(group)
            opens = datetime.combine(day, OFFICE_OPEN, tzinfo=TZ)
            closes = datetime.combine(day, OFFICE_CLOSE, tzinfo=TZ)
            if day == self.today:
                closes = min(closes, self.now - timedelta(minutes=1))
            span = int((closes - opens) / timedelta(minutes=1))
            room = max(span - SOON_MINUTES * len(steps), len(steps))
            # Spread base times, then leave SOON_MINUTES after each so a `soon` step fits.
            base = sorted(self.rng.sample(range(room), len(steps)))
            minute = 0
            for i, (p, b) in enumerate(zip(steps, base, strict=True)):
                if p.soon and i > 0:
                    minute += self.rng.randint(1, SOON_MINUTES)
                else:
                    minute = b + SOON_MINUTES * i
                at = opens + timedelta(minutes=minute, seconds=self.rng.randint(0, 59))
                out.append((at, p.kind, p.actors, dict(p.attributes)))
        return out
