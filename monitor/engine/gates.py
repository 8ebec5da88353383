"""Which event kinds a rule needs before it can say anything about a case.

Most rules speak only about steps a case has taken: a precedence rule about its `after`
step, a clock about its start, an absence or at-most rule about the steps it counts. A case
without them gets nothing from the rule whatever its conditions say, so the evaluator skips
the rule on a look-up in the case's step counts instead of running its conditions (which
costs a CEL call) and walking its events. Existence and check rules speak about what is
missing or about case data, and have no gate of their own.

A condition can gate its rule too: a top-level conjunct that only asks whether the case has
a step (`"decided" in case.counts`, or `case.counts.exists(k, k == "decided")`) is false
without it, and CEL's `&&` is false as soon as one side is, whatever the others would give
(`CaseContext.test` runs conjuncts with that meaning: an error in one does not hide a false
one). Skipping the rule is then exactly what running its condition would do, wherever the
gate stands in the condition. The data-quality and disclosure checks that every case meets
start that way.

One consequence, deliberate: a rule's condition is not run for a case its kind's own gates
say the rule cannot concern, so a condition that would fail on that case's data (a
data_quality "rule not applicable" finding) is reported only once the rule's steps appear.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from monitor.engine import rules as r
from monitor.engine.celnodes import Ident, Lit, Macro, Node, Rel, is_path
from monitor.engine.celsyntax import tree
from monitor.model import Case, Event


@dataclass(frozen=True, slots=True)
class Gate:
    """At least `count` events whose kinds are among `kinds` — and, where the rule names
    the steps it needs (`matches`, with their conditions), at least `count` steps that match
    them: a step of the right kind whose condition says it is not the one the rule speaks of
    opens the gate no more than a missing step does."""

    kinds: frozenset[str]
    count: int = 1
    matches: tuple[r.EventMatch, ...] = ()

    def open(self, counts: Mapping[str, int]) -> bool:
        if self.count == 1:
            return any(k in counts for k in self.kinds)
        return sum(counts.get(k, 0) for k in self.kinds) >= self.count

    def open_for(self, ctx: Matcher, params: dict[str, Any]) -> bool:
        """Whether enough steps match (after `open` said enough have the kinds). A match
        condition that fails leaves the gate open: the rule itself then meets the failure
        and reports it as it would without gates."""
        if not self.matches:
            return True
        try:
            found = ctx.matching(ctx.case.events, self.matches, params)
        except Exception:  # noqa: BLE001 - the rule's own run reports it
            return True
        return len(found) >= self.count


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

    def matched(self, ctx: Matcher, params: dict[str, Any]) -> bool:
        """Whether the steps the rule needs match (`Gate.open_for`), its kinds being there."""
        return all(gate.open_for(ctx, params) for gate in self.gates)


class Matcher(Protocol):
    """What a gate asks of a case's context (monitor.engine.context.CaseContext)."""

    @property
    def case(self) -> Case: ...

    def matching(
        self, events: Sequence[Event], matches: tuple[r.EventMatch, ...], params: dict[str, Any]
    ) -> list[Event]: ...


def _kinds(matches: tuple[r.EventMatch, ...]) -> frozenset[str]:
    return frozenset(m.kind for m in matches)


def _step_test(node: Node | None) -> str | None:
    """The kind a conjunct asks the case to have a step of, when the conjunct is true exactly
    then: `"k" in case.counts`, or `case.counts.exists(v, v == "k")` (either side of `==`)."""
    match node:
        case Rel("in", Lit(str() as kind), counts) if is_path(counts, "case", "counts"):
            return kind
        case Macro("exists", counts, var, (Rel("==", left, right),)) if is_path(counts, "case", "counts"):
            for one, other in ((left, right), (right, left)):
                if isinstance(one, Ident) and one.name == var and isinstance(other, Lit):
                    return other.value if isinstance(other.value, str) else None
    return None


def condition_gates(parts: tuple[str, ...]) -> tuple[Gate, ...]:
    """The gates a condition's top-level conjuncts (`RuleSet.parts`) amount to, read off each
    conjunct's syntax tree."""
    out = []
    for part in parts:
        kind = _step_test(tree(part).node)
        if kind is not None:
            out.append(Gate(frozenset({kind})))
    return tuple(out)


def _item_type_test(node: Node | None) -> str | None:
    """The type in a conjunct `case.item.item_type == "x"` (either side of `==`)."""
    if isinstance(node, Rel) and node.op == "==":
        for one, other in ((node.left, node.right), (node.right, node.left)):
            if is_path(one, "case", "item", "item_type") and isinstance(other, Lit):
                return other.value if isinstance(other.value, str) else None
    return None


def never_for(rule: r.Rule, parts: Mapping[str, tuple[str, ...]], item_type: str | None) -> bool:
    """Whether the rule's condition is false for every case of `item_type` (None: an item
    outside the catalogue), so that the plan for that type can leave the rule out: a
    conjunct `case.listed` for unlisted cases, `case.item.item_type == "x"` for the other
    listed types. (For an unlisted case the item-type test is an error, not false.)"""
    when = getattr(rule, "when", None)
    if not when:
        return False
    for part in parts[when]:
        node = tree(part).node
        if node is not None and is_path(node, "case", "listed") and item_type is None:
            return True
        found = _item_type_test(node)
        if found is not None and item_type is not None and found != item_type:
            return True
    return False


def gates_of(rule: r.Rule, parts: Mapping[str, tuple[str, ...]] | None = None) -> tuple[Gate, ...]:
    """Every gate must be open for the rule to apply (none: it always runs). With `parts`
    (each condition's top-level conjuncts) the rule's own condition adds its gates."""
    when = getattr(rule, "when", None)
    extra = condition_gates(parts[when]) if parts is not None and when else ()
    return _step_gates(rule) + extra


def _gate(matches: tuple[r.EventMatch, ...], count: int = 1) -> Gate:
    return Gate(_kinds(matches), count, matches)


def _step_gates(rule: r.Rule) -> tuple[Gate, ...]:
    if isinstance(rule, r.DeadlineRule):
        starts = rule.clock.start
        if rule.clock.deemed_start is not None:
            starts = (*starts, *rule.clock.deemed_start.event)
        return (_gate(starts),)
    if isinstance(rule, r.PrecedenceRule):
        return (_gate(rule.after),)
    if isinstance(rule, r.AbsenceRule):
        return (_gate(rule.event),)
    if isinstance(rule, r.AtMostRule):
        return (_gate(rule.event, rule.count + 1),)
    if isinstance(rule, r.MinIntervalRule):
        return (_gate(rule.from_), _gate(rule.to))
    return ()
