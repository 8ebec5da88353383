"""The CEL view of one case, and the helpers every rule kind shares."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import cel

from monitor.engine import rules as r
from monitor.engine.loader import RuleSet
from monitor.model import Case, Event, Finding, Level


def event_dict(e: Event) -> dict[str, Any]:
    # The CEL binding converts only UTC datetimes.
    return {
        "kind": e.kind,
        "at": e.at.astimezone(UTC),
        "actors": list(e.actors),
        "attributes": dict(e.attributes),
    }


class CaseContext:
    """One case as expressions see it (`case`, `events`, `now`, `params`, `event`).

    Handing a value to CEL converts it element by element, which costs far more than the
    evaluation itself (about 1 µs a scalar, 90 µs for a case's events). So one CEL context
    lives as long as the case's evaluation, and each variable is converted the first time an
    expression that reads it runs."""

    def __init__(self, case: Case, rules: RuleSet, now: datetime) -> None:
        self.case = case
        self.rules = rules
        self.now = now
        self._cel: cel.Context | None = None
        self._loaded: set[str] = set()
        self._params: dict[str, Any] | None = None
        counts: dict[str, int] = {}
        for e in case.events:
            counts[e.kind] = counts.get(e.kind, 0) + 1
        self.counts = counts  # events by kind: rule gates and `case.counts` read it

    def _case_value(self) -> dict[str, Any]:
        c = self.case
        item = c.item
        return {
            "case_id": c.case_id,
            "item_code": c.item_code,
            "department": c.department,
            "attributes": dict(c.attributes),
            "listed": item is not None,
            "item": {}
            if item is None
            else {
                "item_type": item.item_type.value,
                "name": item.name,
                "legal_limit": item.legal_limit or 0,
                "promised_limit": item.promised_limit or 0,
                "limit_unit": item.limit_unit.value,
                "fee_standard": float(item.fee_standard),
                "attributes": dict(item.attributes),
            },
            "counts": dict(self.counts),
            # The first time of each kind: order checks without walking `events` (which is
            # costlier to hand to CEL).
            "first": {e.kind: e.at.astimezone(UTC) for e in reversed(c.events)},
            "fee_charged": sum(float(e.attributes.get("amount", 0) or 0) for e in c.all("fee_charged")),
            "closed": c.is_closed,
        }

    def test(self, source: str, params: dict[str, Any], event: Event | None = None) -> bool:
        """Evaluate a compiled condition, conjunct by conjunct (a false one ends it, so the
        variables of later ones are never converted); anything but true or false is an error."""
        for part in self.rules.parts.get(source, (source,)):
            result = self._run(part, params, event)
            if not isinstance(result, bool):
                raise TypeError(f"expression `{source}` gave {result!r}, not true or false")
            if not result:
                return False
        return True

    def _run(self, source: str, params: dict[str, Any], event: Event | None) -> Any:
        if self._cel is None:
            self._cel = cel.Context()
        ctx = self._cel
        needs = self.rules.needs.get(source, frozenset())
        for name in needs - self._loaded - {"params", "event"}:
            if name == "case":
                ctx.add_variable("case", self._case_value())
            elif name == "events":
                ctx.add_variable("events", [event_dict(e) for e in self.case.events])
            elif name == "now":
                ctx.add_variable("now", self.now.astimezone(UTC))
            self._loaded.add(name)
        if "params" in needs and self._params is not params:
            ctx.add_variable("params", params)
            self._params = params
        if "event" in needs:
            if event is None:
                raise ValueError(f"expression `{source}` reads `event` outside an event condition")
            ctx.add_variable("event", event_dict(event))
        return self.rules.program(source).execute(ctx)

    def matching(
        self, events: Sequence[Event], matches: tuple[r.EventMatch, ...], params: dict[str, Any]
    ) -> list[Event]:
        """The events (in order) that match any of `matches`."""
        out = []
        for e in events:
            for m in matches:
                if e.kind == m.kind and (m.when is None or self.test(m.when, params, e)):
                    out.append(e)
                    break
        return out


def finding_for(rule: r._RuleBase, level: Level, message: str, due: datetime | None = None) -> Finding:
    return Finding(
        rule.id, rule.title, rule.category, level, rule.message or message, rule.basis, due, rule.notify
    )


def kinds_text(matches: tuple[r.EventMatch, ...]) -> str:
    return "、".join(m.kind for m in matches)
