"""The CEL view of one case, and the helpers every rule kind shares."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import cel

from monitor.engine import rules as r
from monitor.engine.casefields import ABSENT, CASE_FIELDS
from monitor.engine.fastpath import UNSURE, timeless
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

    def __init__(self, case: Case, rules: RuleSet, now: datetime, memo: Memo | None = None) -> None:
        self.case = case
        self.memo = memo
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
        self._indexes: dict[int, int] | None = None  # id() of the case's events -> place

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
        memo = self.memo
        if memo is not None and memo.timeless(step.source):
            key = (id(step), id(params), -1 if event is None else self._index(event))
            known = memo.answers.get(key)
            if known is None:
                try:
                    known = memo.answers[key] = self._test_step(step, source, params, event)
                except Exception as exc:  # noqa: BLE001 - it fails for every case of the shape
                    known = memo.answers[key] = exc
            if known is True or known is False:
                return known
            raise known.with_traceback(None)  # one error, raised afresh for each case
        return self._test_step(step, source, params, event)

    def _index(self, e: Event) -> int:
        """The step's place in the case: what names it across the cases of one shape."""
        index = self._indexes
        if index is None:
            index = self._indexes = {id(x): i for i, x in enumerate(self.case.events)}
        return index[id(e)]

    def _test_step(self, step: Step, source: str, params: dict[str, Any], event: Event | None) -> bool:
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
        memo = self.memo
        if memo is None or not memo.decides(self.rules, matches):
            return self._matching(events, matches, params)
        key = (id(matches), id(params))
        whole = events is self.case.events
        if whole:
            found_all = memo.found.get(key)
            if found_all is not None:
                return [events[i] for i in found_all]
        known = memo.matches.get(key)
        if known is None:
            known = memo.matches[key] = [None] * len(self.case.events)
        if whole:
            out = self._matching_known(enumerate(events), known, matches, params)
            memo.found[key] = tuple(i for i in range(len(events)) if known[i] is True)
            return out
        return self._matching_known(((self._index(e), e) for e in events), known, matches, params)

    def _matching_known(
        self,
        places: Iterable[tuple[int, Event]],
        known: list[bool | Exception | None],
        matches: tuple[r.EventMatch, ...],
        params: dict[str, Any],
    ) -> list[Event]:
        """The events that match, each asked at most once for the shape (`known`)."""
        out = []
        for i, e in places:
            found = known[i]
            if found is None:
                found = False
                try:
                    for m in matches:
                        if e.kind == m.kind and (m.when is None or self.test(m.when, params, e)):
                            found = True
                            break
                except Exception as exc:  # noqa: BLE001 - it fails for every case of the shape
                    found = exc
                known[i] = found
            if found is True:
                out.append(e)
            elif found is not False:
                raise found.with_traceback(None)
        return out

    def _matching(
        self, events: Sequence[Event], matches: tuple[r.EventMatch, ...], params: dict[str, Any]
    ) -> list[Event]:
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


class Memo:
    """What the conditions that read no time (`fastpath.timeless`) answered for one shape of
    case — its item, department and attributes, and its steps in order with their kinds,
    actors and attributes (monitor.engine.screen) — so that the next case of the shape gets
    the answers without running them: each conjunct's result (or its error) by the step it
    was asked about, and the steps each event match finds. Only the screen makes one, and
    only for cases of one shape; everything else about the evaluation is the engine's own."""

    __slots__ = ("_decides", "_timeless", "answers", "found", "matches", "rules")

    def __init__(self, timeless: dict[str, bool], decides: dict[int, bool]) -> None:
        # (id() of the conjunct's Step, id(params), the step asked about or -1) -> the answer
        self.answers: dict[tuple[int, int, int], bool | Exception] = {}
        # (id(matches), id(params)) -> whether each step (by its place) matches, or the error
        self.matches: dict[tuple[int, int], list[bool | Exception | None]] = {}
        # The same, over all of the case's steps, once none failed: the places that match
        self.found: dict[tuple[int, int], tuple[int, ...]] = {}
        # id() of a file's planned rules -> those whose steps are in the shape (evaluate._gated)
        self.rules: dict[int, tuple[Any, ...]] = {}
        # Shared by the memos of one rule set: by conjunct source, and by matches.
        self._timeless = timeless
        self._decides = decides

    def timeless(self, part: str) -> bool:
        found = self._timeless.get(part)
        if found is None:
            found = self._timeless[part] = timeless(part)
        return found

    def decides(self, rules: RuleSet, matches: tuple[r.EventMatch, ...]) -> bool:
        """Whether the matches read no time: which steps they find is the shape's."""
        found = self._decides.get(id(matches))  # the rule set holds the tuple: its id stays
        if found is None:
            found = self._decides[id(matches)] = all(
                m.when is None or all(self.timeless(step.source) for step in rules.steps[m.when])
                for m in matches
            )
        return found


def finding_for(
    rule: r._RuleBase,
    level: Level,
    message: str,
    due: datetime | None = None,
    since: datetime | None = None,
) -> Finding:
    return Finding(
        rule.id,
        rule.title,
        rule.category,
        level,
        rule.message or message,
        rule.basis,
        due,
        rule.notify,
        since,
    )
