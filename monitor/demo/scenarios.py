"""The case mix: which cases are clean and which break one rule, and how each is drafted."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

from monitor.demo.base import Draft, Placed, Step, Timed
from monitor.demo.catalogue import CATALOGUE, DEPARTMENTS, UNLISTED_CODES, Item
from monitor.demo.checks import Checks
from monitor.demo.figures import (
    COMPLAINT_REPLY_DAYS,
    DISCLOSURE_DAYS,
    FUNDS_DAYS,
    FUNDS_LEVELS,
    HEARING_THRESHOLD,
    REGISTRATION_DAYS,
    WORKING,
)
from monitor.demo.plans import Plans

# The share of cases that break one rule each (about a quarter); the rest are clean.
MIX: tuple[tuple[str, float], ...] = (
    ("overdue", 0.05),  # open licensing case past its promised limit: red time_limit
    ("nearly_due", 0.05),  # 80–95 % of the promise used: yellow time_limit
    ("undisclosed", 0.035),  # decided 8+ working days ago, not disclosed: red disclosure
    ("disclosure_due", 0.02),  # decided 6 working days ago, not disclosed: yellow disclosure
    ("no_acceptance", 0.02),  # decided without an `accepted` event: red procedure
    ("double_correction", 0.01),  # two correction notices (一次性告知): red procedure
    ("fee_mismatch", 0.01),  # fee charged differs from the catalogue: red fee
    ("unlisted", 0.0075),  # item not in the catalogue: red catalogue
    ("complaint_overdue", 0.0075),  # complaint unanswered past the local 15 days: red time_limit
    ("unregistered", 0.0075),  # important power used, no 动态运行情况登记表 a week on: red disclosure
    ("funds_undisclosed", 0.005),  # funds reached a level, that stage not disclosed: red disclosure
    ("gov_info_overdue", 0.0075),  # application for government information past its promise: red
    ("one_officer", 0.005),  # penalty investigated by one officer: red procedure
    ("spot_fine", 0.005),  # fine collected on the spot under the general procedure: red procedure
    ("no_statement", 0.005),  # penalty decided without statement or waiver: red procedure
    ("no_hearing_right", 0.005),  # fine at the hearing threshold, hearing not offered: red procedure
    ("paused", 0.01),  # expert review pause: in time only because the pause is excluded (clean)
    ("extended", 0.0025),  # one approved extension (art. 42) (clean)
    ("misrecorded", 0.004),  # decision timed before the acceptance: data_quality step_order only
)


class Demo(Checks, Plans):
    """One demo: the shared state of DemoBase and a handler per scenario of MIX."""

    def __init__(self, now: datetime, seed: int) -> None:
        super().__init__(now, seed)
        self.handlers: dict[str, Callable[[Item, dict[str, Any]], list[Placed]]] = {
            "clean": self._clean,
            "overdue": self._overdue,
            "nearly_due": self._nearly_due,
            "undisclosed": self._undisclosed,
            "disclosure_due": self._disclosure_due,
            "no_acceptance": self._no_acceptance,
            "double_correction": self._double_correction,
            "fee_mismatch": self._fee_mismatch,
            "unlisted": self._unlisted,
            "paused": self._paused,
            "extended": self._extended,
            "one_officer": self._one_officer,
            "spot_fine": self._spot_fine,
            "no_statement": self._no_statement,
            "no_hearing_right": self._no_hearing_right,
            "complaint_overdue": self._complaint_overdue,
            "unregistered": self._unregistered,
            "funds_undisclosed": self._funds_undisclosed,
            "gov_info_overdue": self._gov_info_overdue,
            "misrecorded": self._misrecorded,
        }
        self.by_type: dict[str, list[Item]] = {}
        for item in CATALOGUE:
            self.by_type.setdefault(item.item_type, []).append(item)

    # -- the case mix ------------------------------------------------------------------

    def scenarios(self, cases: int) -> list[str]:
        out: list[str] = []
        for name, share in MIX:
            out += [name] * int(cases * share + 0.5)
        out = out[:cases]
        out += ["clean"] * (cases - len(out))
        self.rng.shuffle(out)
        return out

    def pick(self, items: list[Item]) -> Item:
        return self.rng.choices(items, weights=[i.volume for i in items])[0]

    def draft(self, scenario: str) -> Draft:
        rng = self.rng
        licensing = self.by_type["licensing"]
        penalties = [i for i in self.by_type["penalty"] if i.fines[0] >= 1_000]
        if scenario == "clean":
            item = self.pick(list(CATALOGUE))
        elif scenario == "no_hearing_right":  # a fine that reaches the threshold for any party
            item = self.pick([i for i in penalties if i.fines[1] >= HEARING_THRESHOLD["organization"]])
        elif scenario in ("one_officer", "spot_fine", "no_statement") or (
            scenario in ("undisclosed", "disclosure_due") and rng.random() < 0.3
        ):
            item = self.pick(penalties)
        elif scenario == "complaint_overdue":
            item = self.pick(self.by_type["complaint"])
        elif scenario == "unregistered":
            item = self.pick([i for i in CATALOGUE if i.important])
        elif scenario == "funds_undisclosed":
            item = self.pick([i for i in CATALOGUE if i.funds])
        elif scenario == "gov_info_overdue":
            item = self.pick([i for i in CATALOGUE if i.gov_info])
        elif scenario == "fee_mismatch" and rng.random() < 0.5:
            item = self.pick([i for i in CATALOGUE if i.fee])
        elif scenario in ("nearly_due", "extended", "misrecorded"):
            item = self.pick([i for i in licensing if i.promised >= 5])
        elif scenario == "unlisted":
            base = self.pick(licensing)
            item = Item(
                code=rng.choice(UNLISTED_CODES),
                name="",
                item_type="licensing",
                department=rng.choice(DEPARTMENTS),
                legal=20,
                promised=10,
                unit=WORKING,
                basis="",
                volume=1,
                persons=0.3,
                trades=base.trades,
            )
        else:
            item = self.pick(licensing)
        party_type = "person" if rng.random() < item.persons else "organization"
        applicant = self.applicant(item, party_type)
        attributes: dict[str, Any] = {"party_type": party_type}
        placed = self.handlers[scenario](item, attributes)
        if attributes.get("anonymous"):
            applicant = {}  # an anonymous complaint records no complainant
        timed = self.clock(placed)
        if scenario == "misrecorded":
            timed = swap_times(timed, "accepted", "decided")
        return Draft(item.code, item.item_type, item.department, applicant, attributes, timed)

    # -- clean cases -------------------------------------------------------------------

    def _clean(self, item: Item, attributes: dict[str, Any]) -> list[Placed]:
        """A correct case; open ones are caught mid-way and well inside every limit."""
        return self._settle(lambda: self.plan(item, attributes), item, attributes, may_be_open=True)

    def _overdue(self, item: Item, attributes: dict[str, Any]) -> list[Placed]:
        """Accepted more than the promised working days ago, still no decision."""
        used = self.rng.randint(item.promised + 1, min(item.promised + 8, item.legal - 1))
        return self._waiting(item, used)

    def _nearly_due(self, item: Item, attributes: dict[str, Any]) -> list[Placed]:
        """80–95 % of the promised working days used (the engine's own share arithmetic)."""
        low = math.ceil(0.8 * item.promised)
        high = max(low, min(item.promised - 1, math.floor(0.95 * item.promised)))
        return self._waiting(item, self.rng.randint(low, high))

    def _waiting(self, item: Item, used: int) -> list[Placed]:
        rng = self.rng
        staff = self.staff[item.department]
        clerk = rng.choice(staff.clerks)
        accepted = self.cal.working_days_before(self.w1, used)
        received_after = rng.randint(1, 3)
        steps = [
            Step(0, "received", (clerk,), {"channel": rng.choice(("window", "online"))}),
            Step(received_after, "accepted", (clerk,)),
            Step(
                received_after + rng.randint(1, min(used - 1, item.promised)),
                "reviewed",
                (rng.choice(staff.reviewers),),
            ),
        ]
        return self.place(steps, accepted, received_after)

    def _undisclosed(self, item: Item, attributes: dict[str, Any]) -> list[Placed]:
        return self._unpublished(item, attributes, self.rng.randint(8, 20), may_close=True)

    def _disclosure_due(self, item: Item, attributes: dict[str, Any]) -> list[Placed]:
        return self._unpublished(item, attributes, DISCLOSURE_DAYS - 1, may_close=False)

    def _unpublished(
        self, item: Item, attributes: dict[str, Any], ago: int, *, may_close: bool
    ) -> list[Placed]:
        """Decided `ago` working days before the last working day, never disclosed (but
        correct otherwise: delivered, an important power registered)."""
        placed: list[Placed] = []
        for _ in range(20):
            if item.item_type == "penalty":
                steps = self.penalty_plan(item, attributes, disclose=False)
            else:
                steps = self.application_plan(item, disclose=False, outcome="approved")
            decided = next(s.offset for s in steps if s.kind == "decided")
            if not may_close or self.rng.random() < 0.5:
                steps = [s for s in steps if s.kind != "closed"]
            placed = self.place(steps, self.cal.working_days_before(self.w1, ago), decided)
            late = [s for s in steps if s.offset > decided]
            in_view = all(s.offset - decided < ago for s in late)
            if in_view and self.quiet(item, placed, attributes, frozenset({"publish"})):
                break
        return placed

    def _no_acceptance(self, item: Item, attributes: dict[str, Any]) -> list[Placed]:
        """Received a few days ago and decided without being accepted (recent, so that the
        acceptance clock — which `decided` does not stop — has not run out as well)."""
        rng = self.rng
        staff = self.staff[item.department]
        clerk = rng.choice(staff.clerks)
        received_ago = rng.randint(3, 4)
        decided = rng.randint(1, received_ago - 1)
        steps = [
            Step(0, "received", (clerk,), {"channel": "window"}),
            Step(rng.randint(0, decided), "reviewed", (rng.choice(staff.reviewers),)),
            Step(decided, "decided", (rng.choice(staff.heads),), {"result": "approved"}),
            Step(decided + rng.randint(0, 1), "delivered", (clerk,)),
            *self.registration(item, decided, same_day=True),
        ]
        return self.place(steps, self.cal.working_days_before(self.w1, received_ago))

    def _misrecorded(self, item: Item, attributes: dict[str, Any]) -> list[Placed]:
        """A correct, decided case whose platform recorded the acceptance's and the decision's
        times the wrong way round (draft swaps them): the record contradicts itself."""
        return self._settle(
            lambda: self.plan(item, attributes),
            item,
            attributes,
            may_be_open=False,
            kept=lambda placed: {"accepted", "decided"} <= {p.kind for p in placed},
        )

    def _double_correction(self, item: Item, attributes: dict[str, Any]) -> list[Placed]:
        """Missing documents asked for twice instead of once (一次性告知)."""
        return self._settle(
            lambda: self.application_plan(item, corrections=2),
            item,
            attributes,
            may_be_open=True,
            kept=lambda placed: sum(p.kind == "correction_requested" for p in placed) == 2,
        )

    def _fee_mismatch(self, item: Item, attributes: dict[str, Any]) -> list[Placed]:
        if item.fee:
            wrong = self.rng.choice((item.fee + 20, item.fee * 2, 550 if item.fee == 80 else 25))
        else:
            wrong = self.rng.choice((100, 200, 300, 500))  # e.g. an "expert review fee"
        return self._settle(
            lambda: self.application_plan(item, fee=wrong, outcome="approved"),
            item,
            attributes,
            may_be_open=False,
        )

    def _unlisted(self, item: Item, attributes: dict[str, Any]) -> list[Placed]:
        return self._settle(
            lambda: self.application_plan(item, outcome="approved", disclose=False),
            item,
            attributes,
            may_be_open=False,
        )

    def _paused(self, item: Item, attributes: dict[str, Any]) -> list[Placed]:
        """Suspended for expert review (art. 45): late on the raw count, in time without it."""
        return self._settle(
            lambda: self.application_plan(item, pause=True, outcome="approved"),
            item,
            attributes,
            may_be_open=False,
        )

    def _extended(self, item: Item, attributes: dict[str, Any]) -> list[Placed]:
        """Extended by 10 working days with the deputy head's approval (art. 42)."""
        return self._settle(
            lambda: self.application_plan(item, extension=True, outcome="approved"),
            item,
            attributes,
            may_be_open=False,
        )

    def _one_officer(self, item: Item, attributes: dict[str, Any]) -> list[Placed]:
        return self._settle(
            lambda: self.penalty_plan(item, attributes, officers=1),
            item,
            attributes,
            may_be_open=False,
        )

    def _spot_fine(self, item: Item, attributes: dict[str, Any]) -> list[Placed]:
        return self._settle(
            lambda: self.penalty_plan(item, attributes, spot=True),
            item,
            attributes,
            may_be_open=False,
        )

    def _no_statement(self, item: Item, attributes: dict[str, Any]) -> list[Placed]:
        """Decided without hearing the party or a record that it waived (第四十五条、第六十二条)."""
        return self._settle(
            lambda: self.penalty_plan(item, attributes, heard=False),
            item,
            attributes,
            may_be_open=False,
        )

    def _no_hearing_right(self, item: Item, attributes: dict[str, Any]) -> list[Placed]:
        """A fine at the hearing threshold; the notice did not offer a hearing (第六十三条)."""
        return self._settle(
            lambda: self.penalty_plan(item, attributes, offer_hearing=False),
            item,
            attributes,
            may_be_open=False,
        )

    def _complaint_overdue(self, item: Item, attributes: dict[str, Any]) -> list[Placed]:
        """Accepted, supervised (督办), and still unanswered past the local reply limit."""
        rng = self.rng
        staff = self.staff[item.department]
        clerk, handler = rng.choice(staff.clerks), rng.choice(staff.reviewers)
        accepted = self.cal.working_days_before(self.w1, rng.randint(12, 18))
        while not self.overdue(accepted, COMPLAINT_REPLY_DAYS):
            accepted = self.cal.working_days_before(accepted, 1)
        received_after = rng.randint(0, 1)
        steps = [
            Step(0, "received", (clerk,), {"channel": rng.choice(("hotline", "online"))}),
            Step(received_after, "accepted", (clerk,)),
            Step(received_after + rng.randint(1, 3), "reviewed", (handler,)),
            Step(received_after + rng.randint(8, 10), "supervised", (rng.choice(staff.heads),)),
        ]
        return self.place(steps, accepted, received_after)

    def _unregistered(self, item: Item, attributes: dict[str, Any]) -> list[Placed]:
        """An important power used more than a week ago; no 动态运行情况登记表."""
        outcome = "rejected" if self.rng.random() < 0.2 else "approved"  # refusals owe it too

        def late(placed: list[Placed]) -> bool:
            return self.overdue(next((p.day for p in placed if p.kind == "decided"), None), REGISTRATION_DAYS)

        return self._settle(
            lambda: self.application_plan(item, register=False, outcome=outcome),
            item,
            attributes,
            may_be_open=True,
            kept=late,
            excused=frozenset({"registration"}),
        )

    def _gov_info_overdue(self, item: Item, attributes: dict[str, Any]) -> list[Placed]:
        """An application for government information past its promise, some past the 20
        working days of 第三十三条 too, without a reply."""
        clerk = self.rng.choice(self.staff[item.department].clerks)
        received = self.cal.working_days_before(self.w1, self.rng.randint(item.promised + 1, item.legal + 4))
        return self.place([Step(0, "received", (clerk,), {"channel": "online"})], received)

    def _funds_undisclosed(self, item: Item, attributes: dict[str, Any]) -> list[Placed]:
        """The funds reached one level more than a week ago; that stage was never disclosed."""
        level = self.rng.choice(FUNDS_LEVELS)

        def late(placed: list[Placed]) -> bool:
            arrived = (
                p.day for p in placed if p.kind == "funds_arrived" and p.attributes.get("level") == level
            )
            return self.overdue(next(arrived, None), FUNDS_DAYS)

        return self._settle(
            lambda: self.funds_plan(item, undisclosed=level),
            item,
            attributes,
            may_be_open=True,
            kept=late,
            excused=frozenset({f"funds_{level}"}),
        )


def swap_times(timed: list[Timed], first: str, then: str) -> list[Timed]:
    """The steps with the first `first` and the first `then` given each other's time."""
    a = next((i for i, t in enumerate(timed) if t[1] == first), None)
    b = next((i for i, t in enumerate(timed) if t[1] == then), None)
    if a is None or b is None:
        return timed
    out = list(timed)
    out[a] = (timed[b][0], *timed[a][1:])
    out[b] = (timed[a][0], *timed[b][1:])
    return out
