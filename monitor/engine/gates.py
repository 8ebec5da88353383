"""Which event kinds a rule needs before it can say anything about a case.

Most rules speak only about steps a case has taken: a precedence rule about its `after`
step, a clock about its start, an absence or at-most rule about the steps it counts. A case
without them gets nothing from the rule whatever its conditions say, so the evaluator skips
the rule on a look-up in the case's step counts instead of running its conditions (which
costs a CEL call) and walking its events. Existence and check rules speak about what is
missing or about case data, and have no gate.

One consequence, deliberate: a rule's condition is not run for a case the rule cannot
concern, so a condition that would fail on that case's data (a data_quality "rule not
applicable" finding) is reported only once the rule's steps appear.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from monitor.engine import rules as r


@dataclass(frozen=True, slots=True)
class Gate:
    """At least `count` events whose kinds are among `kinds`."""

    kinds: frozenset[str]
    count: int = 1

    def open(self, counts: Mapping[str, int]) -> bool:
        if self.count == 1:
            return any(k in counts for k in self.kinds)
        return sum(counts.get(k, 0) for k in self.kinds) >= self.count


@dataclass(frozen=True, slots=True)
class PlannedRule:
    rule: r.Rule
    gates: tuple[Gate, ...]
    dated: bool = field(init=False)  # has effective dates to check against the case's start

    def __post_init__(self) -> None:
        dated = self.rule.effective_from is not None or self.rule.effective_to is not None
        object.__setattr__(self, "dated", dated)

    def applies(self, counts: Mapping[str, int]) -> bool:
        return all(gate.open(counts) for gate in self.gates)


def _kinds(matches: tuple[r.EventMatch, ...]) -> frozenset[str]:
    return frozenset(m.kind for m in matches)


def gates_of(rule: r.Rule) -> tuple[Gate, ...]:
    """Every gate must be open for the rule to apply (none: it always runs)."""
    if isinstance(rule, r.DeadlineRule):
        kinds = _kinds(rule.clock.start)
        if rule.clock.deemed_start is not None:
            kinds |= _kinds(rule.clock.deemed_start.event)
        return (Gate(kinds),)
    if isinstance(rule, r.PrecedenceRule):
        return (Gate(_kinds(rule.after)),)
    if isinstance(rule, r.AbsenceRule):
        return (Gate(_kinds(rule.event)),)
    if isinstance(rule, r.AtMostRule):
        return (Gate(_kinds(rule.event), rule.count + 1),)
    if isinstance(rule, r.MinIntervalRule):
        return (Gate(_kinds(rule.from_)), Gate(_kinds(rule.to)))
    return ()
