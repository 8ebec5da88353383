"""The ordinary flow of each item type, as steps a number of working days apart."""

from __future__ import annotations

from typing import Any

from monitor.demo.base import DemoBase, Step
from monitor.demo.catalogue import WORDING, Item
from monitor.demo.figures import (
    FUNDS_LEVELS,
    GOV_INFO_EXTENSION_DAYS,
    GOV_INFO_NOTICE_DAYS,
    HEARING_THRESHOLD,
    HOURS,
    NATURAL,
)


class Plans(DemoBase):
    """Plans: the steps of a case before they are put on the calendar."""

    def plan(self, item: Item, attributes: dict[str, Any]) -> list[Step]:
        """The ordinary flow of an item of this type."""
        if item.item_type == "penalty":
            return self.penalty_plan(item, attributes)
        if item.item_type == "complaint":
            return self.complaint_plan(item, attributes)
        if item.funds:
            return self.funds_plan(item)
        if item.gov_info:
            return self.gov_info_plan(item)
        if item.item_type in ("inspection", "enforcement"):
            return self.field_plan(item)
        return self.application_plan(item)

    def decide_after(self, item: Item) -> int:
        """Working days from acceptance to decision, inside the promise."""
        if item.unit == HOURS:
            return 0
        if item.unit == NATURAL:
            return self.rng.randint(1, max(1, item.promised * 5 // 7 - 2))
        low = max(1, item.promised // 3)
        return self.rng.randint(low, item.promised)

    def application_plan(
        self,
        item: Item,
        *,
        corrections: int = 0,
        accept: bool = True,
        fee: int | None = None,
        pause: bool = False,
        extension: bool = False,
        disclose: bool = True,
        register: bool = True,
        outcome: str | None = None,
    ) -> list[Step]:
        """Apply → (correct) → accept → review → decide → deliver → disclose (and register an
        important power's use) → close."""
        rng = self.rng
        staff = self.staff[item.department]
        clerk, reviewer, head = rng.choice(staff.clerks), rng.choice(staff.reviewers), rng.choice(staff.heads)
        same_day = item.unit == HOURS
        channel = rng.choice(("window", "window", "online"))
        steps = [Step(0, "received", (clerk,), {"channel": channel})]
        if outcome is None:
            roll = rng.random()
            outcome = "refused_intake" if roll < 0.03 else "rejected" if roll < 0.1 else "approved"
        if outcome == "refused_intake" and not same_day:
            reason = rng.choice(WORDING.intake_reasons)
            return [*steps, Step(rng.randint(1, 3), "rejected", (clerk,), {"reason": reason})]
        day = 0
        for _ in range(corrections):
            day += rng.randint(0, 2) if day == 0 else rng.randint(0, 1)
            missing = rng.sample(WORDING.missing_docs, k=rng.randint(1, 3))
            steps.append(Step(day, "correction_requested", (clerk,), {"missing": missing}))
            day += rng.randint(1, 5)
            steps.append(Step(day, "correction_received", (clerk,)))
        if not same_day:
            day += rng.randint(1, 3) if corrections == 0 else rng.randint(0, 1)
        accepted = day
        if accept:
            steps.append(Step(accepted, "accepted", (clerk,)))
        charge = item.fee if fee is None else fee
        if charge:
            steps.append(Step(accepted, "fee_charged", (clerk,), {"amount": charge}, soon=accept))
        promised = item.promised
        if pause:
            # In time only because the pause does not count: s + r <= promised < s + L + r.
            s = rng.randint(1, promised - 1)
            r = rng.randint(1, promised - s)
            length = max(5, promised - s - r + 1) + rng.randint(0, 4)
            resumed = accepted + s + length
            steps += [
                Step(accepted + rng.randint(0, s), "reviewed", (reviewer,)),
                Step(accepted + s, "suspended", (reviewer,), {"reason": "expert_review"}),
                Step(resumed, "resumed", (reviewer,)),
            ]
            decided = resumed + r
        elif extension:
            e = rng.randint(max(1, promised - 3), promised - 1)
            steps += [
                Step(accepted + rng.randint(0, e), "reviewed", (reviewer,)),
                Step(accepted + e, "extended", (reviewer,), {"days": 10, "approved_by": "分管副局长"}),
            ]
            decided = accepted + promised + rng.randint(2, 8)
        else:
            decided = accepted + self.decide_after(item)
            reviewed = accepted if same_day else accepted + rng.randint(0, max(0, decided - accepted - 1))
            steps.append(Step(reviewed, "reviewed", (reviewer,)))
        result: dict[str, Any] = {"result": "approved"}
        if outcome == "rejected":
            result = {"result": "rejected", "reason": rng.choice(WORDING.refusal_reasons)}
        steps.append(Step(decided, "decided", (head,), result))
        delivered = decided if same_day else decided + rng.randint(0, 5)
        steps.append(Step(delivered, "delivered", (clerk,)))
        end = delivered
        if register:
            for registration in self.registration(item, decided):
                steps.append(registration)
                end = max(end, registration.offset)
        if disclose and item.item_type == "licensing" and result["result"] == "approved":
            published = decided + rng.choices(range(1, 8), weights=(4, 5, 4, 3, 2, 1, 1))[0]
            steps.append(Step(published, "disclosed", (rng.choice(staff.publishers),), {"what": "decision"}))
            end = max(end, published)
        steps.append(Step(end if same_day else end + rng.randint(0, 2), "closed", (clerk,)))
        return steps

    def penalty_plan(
        self,
        item: Item,
        attributes: dict[str, Any],
        *,
        officers: int = 2,
        spot: bool = False,
        disclose: bool = True,
        heard: bool = True,
        offer_hearing: bool = True,
    ) -> list[Step]:
        """File → investigate → notify → statement (hearing) → legal review → decide → ...

        `heard=False` leaves out the statement (or its waiver); `offer_hearing=False` fines at
        least the party's hearing threshold and does not offer a hearing."""
        rng = self.rng
        staff = self.staff[item.department]
        party = attributes["party_type"]
        low, high, step = item.fines
        if not offer_hearing:  # the lowest fine on the item's scale that reaches the threshold
            low = min(high, max(low, -(-HEARING_THRESHOLD[party] // step) * step))
        fine = rng.randrange(low, high + 1, step)
        team = tuple(rng.sample(staff.officers, 2))
        head, lead = rng.choice(staff.heads), team[0]
        host, reviewer = rng.sample(staff.lawyers, 2)  # hearing host and legal reviewer differ
        if high <= 200:
            attributes.update(procedure="summary", fine_amount=fine, disclosure_exempt=True)
            attributes["disclosure_exempt_reason"] = WORDING.summary_exemption
            channel = "on_the_spot" if fine <= 100 else "online"
            # The on-the-spot decision form records that the officers stated the facts, reasons,
            # basis and rights and heard the party (第四十四条、第四十五条、第五十二条).
            decision = {"fine_amount": fine, "notified_on_the_spot": True}
            return [
                Step(0, "decided", team, decision),
                Step(0, "delivered", (lead,), soon=True),
                Step(0, "fine_paid", (lead,), {"channel": channel, "amount": fine}, soon=True),
                Step(rng.randint(0, 1), "closed", (lead,)),
            ]
        # A fine at the local threshold carries the right to a hearing; fewer than half ask.
        qualifies = fine >= HEARING_THRESHOLD[party]
        hearing = qualifies and heard and offer_hearing and rng.random() < 0.4
        attributes.update(procedure="hearing" if hearing else "general", fine_amount=fine)
        day = rng.randint(1, 5)
        steps = [
            Step(0, "filed", (lead,)),
            Step(day, "investigated", team[:officers]),
        ]
        day += rng.randint(3, 12)
        notice = {"hearing_right": qualifies and offer_hearing}
        steps.append(Step(day, "pre_decision_notice", (lead,), notice))
        day += rng.randint(1, 3)
        if not heard:
            pass  # decided without hearing the party and without a record that it waived
        elif hearing or rng.random() < 0.6:
            steps.append(Step(day, "statement_heard", team))
        else:
            steps.append(Step(day, "statement_waived", (lead,)))
        if hearing:
            day += rng.randint(0, 2)
            steps.append(Step(day, "hearing_notified", (lead,)))
            day += rng.randint(7, 10)  # notice at least 7 working days before the hearing
            steps.append(Step(day, "hearing_held", (host,)))
        day += rng.randint(1, 4)
        steps.append(Step(day, "legal_review", (reviewer,), {"opinion": "同意"}))
        decided = day + rng.randint(1, 3)
        steps.append(Step(decided, "decided", (head,), {"fine_amount": fine}))
        delivered = decided + rng.randint(0, 4)
        steps.append(Step(delivered, "delivered", (lead,)))
        paid = delivered + rng.randint(1, 6)
        channel = "on_the_spot" if spot else "bank"
        steps.append(Step(paid, "fine_paid", (), {"channel": channel, "amount": fine}))
        end = paid
        if disclose:
            published = decided + rng.randint(1, 6)
            steps.append(Step(published, "disclosed", (rng.choice(staff.publishers),), {"what": "decision"}))
            end = max(end, published)
        steps.append(Step(end + rng.randint(0, 2), "closed", (lead,)))
        return steps

    def complaint_plan(self, item: Item, attributes: dict[str, Any]) -> list[Step]:
        """受理 → (督办) → 办理 → 答复 → 回访 → 办结 (accept → handle → reply → follow up → close).
        An anonymous complainant, or one who declined the call, gets no 回访."""
        rng = self.rng
        staff = self.staff[item.department]
        clerk, handler = rng.choice(staff.clerks), rng.choice(staff.reviewers)
        roll = rng.random()
        if roll < 0.08:
            attributes["anonymous"] = True
        elif roll < 0.15:
            attributes["follow_up_declined"] = True
        accepted = rng.randint(0, 1)
        replied = accepted + rng.randint(1, max(1, item.promised * 5 // 7 - 3))
        steps = [
            Step(0, "received", (clerk,), {"channel": rng.choice(("hotline", "hotline", "online"))}),
            Step(accepted, "accepted", (clerk,)),
            Step(rng.randint(accepted, replied), "reviewed", (handler,)),
        ]
        if rng.random() < 0.1:
            steps.append(Step(rng.randint(accepted, replied), "supervised", (rng.choice(staff.heads),)))
        method = rng.choice(("phone", "phone", "sms", "letter"))
        steps.append(Step(replied, "replied", (handler,), {"method": method}))
        end = replied
        if not attributes.get("anonymous") and not attributes.get("follow_up_declined"):
            end = replied + rng.choices((0, 1, 2), weights=(2, 3, 2))[0]
            satisfied = rng.random() < 0.9
            steps.append(Step(end, "followed_up", (clerk,), {"satisfied": satisfied}))
        steps.append(Step(end + rng.randint(0, 1), "closed", (clerk,)))
        return steps

    def funds_plan(self, item: Item, *, undisclosed: str | None = None) -> list[Step]:
        """三级四次公开: apply → the application shown in the village → accept → review →
        approve → the funds reach the city, the county and the village, each stage disclosed
        (but the `undisclosed` level) → close."""
        rng = self.rng
        staff = self.staff[item.department]
        clerk, reviewer, head = rng.choice(staff.clerks), rng.choice(staff.reviewers), rng.choice(staff.heads)
        publisher = rng.choice(staff.publishers)
        amount = rng.randrange(300, 20_001, 10)

        def soon() -> int:
            return rng.choices((0, 1, 2, 3), weights=(2, 4, 3, 1))[0]

        accepted = rng.randint(1, 2)
        decided = accepted + self.decide_after(item)
        steps = [
            Step(0, "received", (clerk,), {"channel": rng.choice(("window", "village"))}),
            Step(1 + soon(), "disclosed", (publisher,), {"what": "application_village"}),
            Step(accepted, "accepted", (clerk,)),
            Step(rng.randint(accepted, max(accepted, decided - 1)), "reviewed", (reviewer,)),
            Step(decided, "decided", (head,), {"result": "approved", "amount": amount}),
            Step(decided + rng.randint(0, 3), "delivered", (clerk,)),
        ]
        day = decided
        for level in FUNDS_LEVELS:
            day += rng.randint(2, 6)
            steps.append(Step(day, "funds_arrived", (), {"level": level, "amount": amount}))
            if level != undisclosed:
                steps.append(Step(day + soon(), "disclosed", (publisher,), {"what": f"funds_{level}"}))
        end = max(s.offset for s in steps)
        steps.append(Step(end + rng.randint(0, 2), "closed", (clerk,)))
        return steps

    def gov_info_plan(self, item: Item) -> list[Step]:
        """依申请公开: receive → (one correction notice → the corrected application) → (consult a
        third party or another authority, 第三十二条) → (extend once, 第三十三条) → reply → close.
        The reply comes inside the promise as the rules count it: from the receipt or the
        corrected application, the consultation not counted, an approved extension added."""
        rng = self.rng
        staff = self.staff[item.department]
        clerk, handler, head = rng.choice(staff.clerks), rng.choice(staff.reviewers), rng.choice(staff.heads)
        channel = rng.choice(("online", "online", "window", "mail"))
        steps = [Step(0, "received", (clerk,), {"channel": channel})]
        start = 0
        roll = rng.random()
        if roll < 0.2:  # an unclear application (第三十条)
            notice = rng.randint(1, GOV_INFO_NOTICE_DAYS - 2)
            start = notice + rng.randint(1, 4)
            steps += [
                Step(
                    notice,
                    "correction_requested",
                    (clerk,),
                    {"missing": ["所需政府信息的名称、文号或特征描述"]},
                ),
                Step(start, "correction_received", (clerk,)),
            ]
        promised = item.promised
        if 0.2 <= roll < 0.35:  # 征求第三方或其他机关意见: not counted
            counted = rng.randint(1, promised - 2)
            length = rng.randint(3, 10)
            reason = rng.choice(("third_party", "third_party", "other_agency"))
            steps += [
                Step(start + counted, "suspended", (handler,), {"reason": reason}),
                Step(start + counted + length, "resumed", (handler,)),
            ]
            replied = start + length + rng.randint(counted + 1, promised)
        elif 0.35 <= roll < 0.45:  # extended once with the office head's consent, before the end
            asked = rng.randint(max(1, promised - 5), promised - 1)
            approval = {"days": GOV_INFO_EXTENSION_DAYS, "approved_by": "政府信息公开工作机构负责人"}
            steps.append(Step(start + asked, "extended", (head,), approval))
            replied = start + promised + rng.randint(1, 10)
        else:
            replied = start + rng.randint(max(1, promised // 3), promised)
        result = rng.choices(
            ("disclosed", "partly_disclosed", "not_disclosed", "not_found", "already_public"),
            weights=(5, 2, 1, 1, 1),
        )[0]
        steps.append(Step(replied, "replied", (handler,), {"result": result}))
        steps.append(Step(replied + rng.randint(0, 1), "closed", (clerk,)))
        return steps

    def registration(self, item: Item, decided: int, *, same_day: bool = False) -> list[Step]:
        """The 动态运行情况登记表 of a decision on an important power, a few days after it (or
        on the day, for a decision so recent that a later registration may not be in yet)."""
        if not item.important:
            return []
        day = decided + (0 if same_day else self.rng.choices((0, 1, 2), weights=(3, 4, 2))[0])
        publisher = self.rng.choice(self.staff[item.department].publishers)
        return [Step(day, "disclosed", (publisher,), {"what": "registration", "form": "动态运行情况登记表"})]

    def field_plan(self, item: Item) -> list[Step]:
        """Inspections and enforcement measures start from a filing, not an application."""
        rng = self.rng
        staff = self.staff[item.department]
        team = tuple(rng.sample(staff.officers, 2))
        investigated = rng.randint(0, 2)
        decided = investigated + rng.randint(1, max(1, self.decide_after(item) - investigated))
        measure = {"result": "approved"}
        if item.item_type == "enforcement":
            measure["measure"] = rng.choice(("查封", "扣押"))
        return [
            Step(0, "filed", (team[0],)),
            Step(investigated, "investigated", team),
            Step(decided, "decided", (rng.choice(staff.heads),), measure),
            Step(decided + rng.randint(0, 2), "delivered", (team[0],)),
            Step(decided + rng.randint(3, 5), "closed", (team[0],)),
        ]

    # -- cases that break one rule -----------------------------------------------------
