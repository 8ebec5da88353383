"""The CEL view of one case, and the helpers every rule kind shares."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import cel

from monitor.engine import rules as r
from monitor.engine.casefields import ABSENT, CASE_FIELDS
from monitor.engine.fastpath import UNSURE
from monitor.engine.loader import Chain, RuleSet, Step
from monitor.model import Case, Event, Finding, Level
from monitor.vocabulary import Vocabulary

# A step timed this far after `now` is in the future (a data-quality finding); closer, it is
# taken as recorded: clocks of feeding hosts differ a little.
FUTURE_TOLERANCE = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Contradiction:
    """Two steps whose recorded order contradicts the flow chart (or a clock): `early` is
    timed before `required`, a step the flow requires before it. Not a breach by itself:
    the record cannot be right as it stands, and no red may rest on it."""

    early: Event
    required: Event
    early_name: str | None = None  # as the flow chart's stage names them (资金到达县级)
    required_name: str | None = None


def event_dict(e: Event) -> dict[str, Any]:
    # The CEL binding converts only UTC datetimes.
    return {
        "kind": e.kind,
        "at": e.at.astimezone(UTC),
        "actors": list(e.actors),
        "attributes": dict(e.attributes),
    }


class CaseView:
    """`case` for the fast path: a map whose fields are computed on first read."""

    __slots__ = ("_case", "_counts", "_values")

    def __init__(self, case: Case, counts: dict[str, int]) -> None:
        self._case = case
        self._counts = counts
        self._values: dict[str, Any] = {}

    def member(self, name: str) -> object:
        try:
            value = self._values[name]
        except KeyError:
            field = CASE_FIELDS.get(name)
            if field is None:
                return UNSURE
            value = self._values[name] = field.make(self._case, self._counts)
        return UNSURE if value is ABSENT else value

    def has(self, name: str) -> bool:
        return name in CASE_FIELDS and self.member(name) is not UNSURE

    def whole(self) -> dict[str, Any]:
        """Every field, as CEL is handed it."""
        values = {name: self.member(name) for name in CASE_FIELDS}
        return {name: value for name, value in values.items() if value is not UNSURE}


class CaseContext:
    """One case as expressions see it (`case`, `events`, `now`, `params`, `event`).

    An expression the fast path compiled (`monitor.engine.fastpath`) runs on Python values
    read lazily from the case; CEL runs only for the rest, and for the rare value the fast
    path is not sure how CEL would treat. Handing a value to CEL converts it element by
    element, which costs far more than evaluating (about 1 µs a scalar, 50 µs for `case`), so
    one CEL context lives as long as the case's evaluation, and each variable is converted
    the first time an expression that reads it runs."""

    def __init__(self, case: Case, rules: RuleSet, now: datetime) -> None:
        self.case = case
        self.rules = rules
        self.now = now
        self.horizon = now + FUTURE_TOLERANCE  # steps after this are in the future
        self.vocab: Vocabulary = rules.vocabulary
        self.chains: list[Chain] = []  # the flow charts of the files that select the case
        # id() of the steps whose recorded times contradict the flow chart: no verdict that
        # rests on their times may be given until the record is corrected.
        self.contested: set[int] = set()
        self._cel: cel.Context | None = None
        self._loaded: set[str] = set()
        self._params: dict[str, Any] | None = None
        counts: dict[str, int] = {}
        firsts: dict[str, Event] = {}
        for e in case.events:
            n = counts.get(e.kind)
            if n is None:
                counts[e.kind] = 1
                firsts[e.kind] = e
            else:
                counts[e.kind] = n + 1
        self.counts = counts  # events by kind: rule gates and `case.counts` read it
        self.firsts = firsts  # the first event of each kind
        self._view = CaseView(case, counts)
        self._env: dict[str, Any] = {"case": self._view, "now": now.astimezone(UTC)}
        self._event_values: dict[int, dict[str, Any]] = {}  # by id() of the case's events

    def _event_value(self, e: Event) -> dict[str, Any]:
        value = self._event_values.get(id(e))
        if value is None:
            value = self._event_values[id(e)] = event_dict(e)
        return value

    def test(self, source: str, params: dict[str, Any], event: Event | None = None) -> bool:
        """Evaluate a compiled condition conjunct by conjunct, meaning what CEL's `&&` means
        on the whole: a false conjunct makes it false whatever the others give (and ends the
        run, so the variables of later ones are never converted); a conjunct that fails is
        remembered while the later ones still run, and its error is raised only when none of
        them is false. Anything but true or false counts as a failure, as in CEL."""
        steps = self.rules.steps.get(source)
        if steps is None:
            raise KeyError(f"expression `{source}` was not compiled with the rule set")
        failure: Exception | None = None
        for step in steps:
            try:
                if not self.test_step(step, source, params, event):
                    return False
            except Exception as exc:  # noqa: BLE001 - CEL's `false && error` is false
                if failure is None:
                    failure = exc
        if failure is not None:
            raise failure
        return True

    def test_step(self, step: Step, source: str, params: dict[str, Any], event: Event | None = None) -> bool:
        """One conjunct of `source` (a step of `RuleSet.steps`): true or false, or raises."""
        part, fast, reads_events = step
        result: object = UNSURE
        if fast is not None:
            env = self._env
            if reads_events and "events" not in env:
                env["events"] = [self._event_value(e) for e in self.case.events]
            env["params"] = params
            env["event"] = None if event is None else self._event_value(event)
            result = fast(env)
        if result is UNSURE:
            result = self._run(part, params, event)
        if not isinstance(result, bool):
            raise TypeError(f"expression `{source}` gave {result!r}, not true or false")
        return result

    def value(self, source: str, params: dict[str, Any]) -> Any:
        """A compiled expression's value, whatever its type (a `detail` placeholder)."""
        return self._run(source, params, None)

    def _run(self, source: str, params: dict[str, Any], event: Event | None) -> Any:
        if self._cel is None:
            self._cel = cel.Context()
        ctx = self._cel
        needs = self.rules.needs.get(source, frozenset())
        for name in needs - self._loaded - {"params", "event"}:
            if name == "case":
                ctx.add_variable("case", self._view.whole())
            elif name == "events":
                ctx.add_variable("events", [self._event_value(e) for e in self.case.events])
            elif name == "now":
                ctx.add_variable("now", self.now.astimezone(UTC))
            self._loaded.add(name)
        if "params" in needs and self._params is not params:
            ctx.add_variable("params", params)
            self._params = params
        if "event" in needs:
            if event is None:
                raise ValueError(f"expression `{source}` reads `event` outside an event condition")
            ctx.add_variable("event", self._event_value(event))
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

    def step_name(self, e: Event) -> str:
        return self.vocab.step(e.kind, self.case.item)

    def names(self, matches: tuple[r.EventMatch, ...]) -> list[str]:
        """The Chinese names of the steps `matches` asks for (a match's own `name` first)."""
        return [m.name or self.vocab.step(m.kind, self.case.item) for m in matches]

    def name_of(self, e: Event, matches: tuple[r.EventMatch, ...]) -> str:
        """The name of a step as the match that found it calls it."""
        for m in matches:
            if m.kind == e.kind and m.name:
                return m.name
        return self.step_name(e)


def finding_for(rule: r._RuleBase, level: Level, message: str, due: datetime | None = None) -> Finding:
    return Finding(
        rule.id, rule.title, rule.category, level, rule.message or message, rule.basis, due, rule.notify
    )
