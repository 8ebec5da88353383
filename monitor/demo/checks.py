"""Whether a placed case keeps every shipped rule: the clocks, the procedure, disclosure."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from monitor.demo.base import DemoBase, Placed, Step
from monitor.demo.catalogue import Item
from monitor.demo.figures import (
    ACCEPT_DAYS,
    COMPLAINT_ACCEPT_DAYS,
    COMPLAINT_REPLY_DAYS,
    DISCLOSURE_DAYS,
    EXTENSION_DAYS,
    FOLLOW_UP_DAYS,
    FUNDS_DAYS,
    FUNDS_LEVELS,
    GOV_INFO_EXTENSION_DAYS,
    GOV_INFO_NOTICE_DAYS,
    GOV_INFO_PAUSE_DAYS,
    HOURS,
    LICENCE_DELIVER_DAYS,
    NATURAL,
    PAUSE_MAX_DAYS,
    PENALTY_DELIVER_DAYS,
    REGISTRATION_DAYS,
    WORKING,
    YELLOW_SHARE,
)


class Checks(DemoBase):
    """Settling a plan on the calendar so that it breaks no rule but the excused ones."""

    def _settle(
        self,
        build: Callable[[], list[Step]],
        item: Item,
        attributes: dict[str, Any],
        *,
        may_be_open: bool,
        kept: Callable[[list[Placed]], bool] = lambda placed: True,
        excused: frozenset[str] = frozenset(),
    ) -> list[Placed]:
        """Place a plan so that it ends before now (or, if it may, is caught mid-way) without
        breaking any rule but the `excused` checks; `kept` says whether the part that
        happened shows the point."""
        placed: list[Placed] = []
        for attempt in range(12):
            steps = build()
            last = max(s.offset for s in steps)
            # Open cases are caught anywhere in their flow; closed ones ended before now.
            early = may_be_open and attempt < 6
            back = self.rng.randint(0, 60) if early else last + self.rng.randint(0, 40)
            placed = self.place(steps, self.cal.working_days_before(self.ref, back))
            whole = may_be_open or len(placed) == len(steps)
            if whole and kept(placed) and self.quiet(item, placed, attributes, excused):
                break
        undecided = not any(p.kind == "decided" for p in placed)
        if undecided and attributes.get("procedure") != "summary":
            attributes.pop("fine_amount", None)  # the fine is not known before the decision
        return placed

    def in_time(self, start: date | None, stop: date | None, limit: int, unit: str, left: int) -> bool:
        """A clock of `limit` days from `start` (the start day not counted) stopped by its last
        day, or, still running, is not yet yellow: `left` is the yellow margin in days counting
        the last day (1 for a red-only clock). Natural-day clocks roll over rest days when they
        stop; a running one is judged without the roll-over, which only makes it stricter."""
        if start is None:
            return True
        if unit == WORKING:
            if stop is not None:
                return self.cal.working_days_between(start, stop) <= limit
            return self.ago(start) <= limit - left
        if stop is not None:
            return stop <= self.cal.add_natural_days(start, limit, roll_over_holidays=True)
        return (self.today - start).days <= limit - left

    def overdue(self, start: date | None, limit: int) -> bool:
        """A natural-day clock (rolled over) from `start` has run out before today."""
        return (
            start is not None
            and self.cal.add_natural_days(start, limit, roll_over_holidays=True) < self.today
        )

    def quiet(
        self,
        item: Item,
        placed: list[Placed],
        attributes: dict[str, Any],
        excused: frozenset[str] = frozenset(),
    ) -> bool:
        """True when no shipped rule (rules/*.yaml), and no limit a city would watch, can warn
        about this case as of now; `excused` names the checks a scenario breaks on purpose
        (publish, registration, funds_city, funds_county, funds_village)."""
        first: dict[str, date] = {}
        counts: Counter[str] = Counter()
        for p in placed:
            first.setdefault(p.kind, p.day)
            counts[p.kind] += 1

        def earliest(*kinds: str, **match: str) -> date | None:
            return next(
                (
                    p.day
                    for p in placed
                    if p.kind in kinds and all(p.attributes.get(k) == v for k, v in match.items())
                ),
                None,
            )

        kind = item.item_type
        received = first.get("received")
        answered = earliest("accepted", "rejected", "correction_requested", "decided")
        if item.gov_info:
            if not self.gov_info_in_time(item, placed, first, counts):
                return False
        elif received is not None and answered is None and self.ago(received) > 2:
            return False
        if kind == "licensing" and not self.in_time(received, answered, ACCEPT_DAYS, WORKING, 1):
            return False
        if counts["correction_requested"] > counts["correction_received"]:
            return False
        # The catalogue's promise (licensing: the promise and the legal limit, with pause and
        # extension), judged at 70 % while the case is open. An enforcement measure counts from
        # the measure to the next decision or the closing (rules/general.yaml).
        start = first.get("accepted") or first.get("filed") or received
        stop = first.get("replied" if kind == "complaint" else "decided") or first.get("rejected")
        if kind == "enforcement":
            start, stop = first.get("decided"), first.get("closed")
        if item.gov_info:
            start = None  # gov_info_in_time counted it
        if start is not None and item.unit != HOURS and not self.within_promise(item, first, start, stop):
            return False
        if item.unit == HOURS and stop is None and placed and placed[0].day != self.today:
            return False
        decided, delivered = first.get("decided"), first.get("delivered")
        if decided is not None and delivered is None and self.ago(decided) > 4:
            return False
        if kind in ("licensing", "penalty") and attributes.get("procedure") != "summary":
            limit = LICENCE_DELIVER_DAYS if kind == "licensing" else PENALTY_DELIVER_DAYS
            if not self.in_time(decided, delivered, limit, WORKING, 2):
                return False
        if (
            kind in ("licensing", "penalty")
            and "publish" not in excused
            and not attributes.get("disclosure_exempt")
        ):
            made = next(
                (
                    p.day
                    for p in placed
                    if p.kind == "decided" and p.attributes.get("result") not in ("rejected", "no_penalty")
                ),
                None,
            )
            published = earliest("disclosed", what="decision")
            if not self.in_time(made, published, DISCLOSURE_DAYS, WORKING, 2):
                return False
        if item.important and "registration" not in excused:
            registered = earliest("disclosed", what="registration")
            if not self.in_time(decided, registered, REGISTRATION_DAYS, NATURAL, 2):
                return False
        if kind == "complaint" and not self.complaint_in_time(first, attributes):
            return False
        if item.funds:
            if not self.in_time(
                received, earliest("disclosed", what="application_village"), FUNDS_DAYS, NATURAL, 2
            ):
                return False
            for level in FUNDS_LEVELS:
                arrived = earliest("funds_arrived", level=level)
                shown = earliest("disclosed", what=f"funds_{level}")
                if f"funds_{level}" not in excused and not self.in_time(
                    arrived, shown, FUNDS_DAYS, NATURAL, 2
                ):
                    return False
        if kind == "penalty" and delivered is not None and "fine_paid" not in first:
            return (self.today - delivered).days <= 10
        return True

    def within_promise(
        self,
        item: Item,
        first: Mapping[str, date],
        start: date,
        stop: date | None,
        extension: int = EXTENSION_DAYS,
    ) -> bool:
        """The catalogue's promise from `start`: an expert-review pause does not count (and may
        last PAUSE_MAX_DAYS), an approved extension adds its days; 70 % while still open."""
        unit = item.unit

        def span(a: date, b: date) -> int:
            return self.cal.working_days_between(a, b) if unit == WORKING else (b - a).days

        suspended, resumed = first.get("suspended"), first.get("resumed")
        end = stop or (self.w1 if unit == WORKING else self.today)
        paused = 0
        if suspended is not None:
            if ((resumed or self.today) - suspended).days > PAUSE_MAX_DAYS:
                return False
            if resumed is None:
                end = min(end, suspended)  # the clock stands still while the pause runs
            else:
                paused = span(suspended, resumed)
        used = span(start, end) - paused
        limit = item.promised + (extension if "extended" in first else 0)
        return used <= (limit if stop else 0.7 * limit)

    def gov_info_in_time(
        self, item: Item, placed: list[Placed], first: Mapping[str, date], counts: Counter[str]
    ) -> bool:
        """An application for government information (rules/gov_info.yaml): one correction
        notice within 7 working days; a consultation shorter than the third party's 15 working
        days; the reply within the promise from the receipt, or from the corrected application."""
        received = first.get("received")
        if received is None:
            return True
        notice = first.get("correction_requested")
        if notice is not None:
            if counts["correction_requested"] > 1:
                return False
            if self.cal.working_days_between(received, notice) > GOV_INFO_NOTICE_DAYS:
                return False
        suspended = first.get("suspended")
        if suspended is not None:
            until = first.get("resumed") or self.w1
            if self.cal.working_days_between(suspended, until) > GOV_INFO_PAUSE_DAYS:
                return False
        start = first.get("correction_received") if notice is not None else received
        if start is None:
            return True  # waiting for the applicant's correction: no clock runs
        stop = min(
            (p.day for p in placed if p.kind in ("replied", "decided", "delivered", "rejected", "closed")),
            default=None,
        )
        return self.within_promise(item, first, start, stop, GOV_INFO_EXTENSION_DAYS)

    def complaint_in_time(self, first: Mapping[str, date], attributes: Mapping[str, Any]) -> bool:
        """Accepted, answered and (unless anonymous or declined) followed up in time."""
        accepted = first.get("accepted")
        answered = min((first[k] for k in ("accepted", "rejected") if k in first), default=None)
        replied = min((first[k] for k in ("replied", "delivered") if k in first), default=None)
        reply_left = COMPLAINT_REPLY_DAYS - math.ceil(YELLOW_SHARE * COMPLAINT_REPLY_DAYS) + 1
        no_follow_up = attributes.get("anonymous") or attributes.get("follow_up_declined")
        return (
            self.in_time(first.get("received"), answered, COMPLAINT_ACCEPT_DAYS, NATURAL, 1)
            and self.in_time(accepted, replied, COMPLAINT_REPLY_DAYS, NATURAL, reply_left)
            and (
                bool(no_follow_up)
                or self.in_time(replied, first.get("followed_up"), FOLLOW_UP_DAYS, NATURAL, 2)
            )
        )

    # -- plans -------------------------------------------------------------------------
