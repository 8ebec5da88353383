"""The screen: settling the quiet cases of a pass without running every rule on each.

Nearly every case a pass evaluates (all of a first start) has no finding: its clocks are
running in time and its steps are in order. What `evaluate` concludes for such a case
follows mostly from its *shape* — the catalogue item, the department, the case's attributes
and its steps in order with their kinds, actors and attributes — and only partly from the
steps' times: which rules apply, every condition that reads no time (`fastpath.timeless`),
which step starts and which may stop a clock. Cases of one shape share that analysis; what
is left for each case is the time arithmetic of its clocks, the checks that compare steps'
times with each other (`fastpath.orderly`: answered once for each pattern of neighbouring
steps that share a time), and the few rules whose answer depends on times otherwise (those
run through the engine's own rule code, `evaluate._apply`).

`Screen.settle` answers exactly what `evaluate` would — no finding, the same next check and
the same span of counted days — or None, and the caller evaluates the case in full: any
finding (yellow, red, data quality), a rule that fails on the case, a pause or an extension
on a fast clock, a record with problems. The fast clock repeats `run_clock` for a clock
without pauses or extension; tests/test_screen.py holds the two to the same answers case by
case. A screen belongs to one rule set and calendar (a reload builds a new one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from monitor.calendar import CalendarRangeError, WorkCalendar
from monitor.engine import rules as r
from monitor.engine.clock import _left_for_share
from monitor.engine.context import CaseContext, Contradiction
from monitor.engine.deadline import _span_end
from monitor.engine.evaluate import FUTURE_TOLERANCE, _apply
from monitor.engine.fastpath import orderly, timeless
from monitor.engine.loader import CompiledFile, RuleSet
from monitor.model import CLOSING_KINDS, Case, Event, Finding, LimitUnit, PowerItem
from monitor.timeutil import DEFAULT_TZ, days

MAX_SHAPES = 50_000  # analyses kept; past this the cache starts again (a pathological source)


@dataclass(frozen=True, slots=True)
class Settled:
    """What a quiet case's evaluation leaves in its state."""

    next_check: datetime | None  # the earliest next change of any clock (None: none can change)
    counted_until: datetime | None  # the last instant whose day the clocks counted (None: no end)


@dataclass(frozen=True, slots=True)
class _Deemed:
    origin: int  # index of the step the clock is deemed to start at (行政许可法 art. 32)
    answers: tuple[int, ...]  # steps that answer the application in time, in order
    within: int
    unit: LimitUnit


@dataclass(frozen=True, slots=True)
class _Clock:
    """A deadline rule whose conditions the shape decided, counted without the engine."""

    start: int  # index of the first start step, -1 when there is none
    deemed: _Deemed | None
    stops: tuple[int, ...]  # steps that may stop the clock, in order
    limit: int
    working: bool
    rolls: bool
    left: int | None  # yellow once this many units are left (None: no yellow)
    effective: tuple[date | None, date | None] | None  # the rule's dates, None when undated


@dataclass(frozen=True, slots=True)
class _Exact:
    """A rule whose answer depends on the case's times: run through the engine per case."""

    rule: Any  # r.Rule (a pydantic union; Any keeps compiled code from checking it)
    params: dict[str, Any]
    effective: tuple[date | None, date | None] | None


@dataclass(frozen=True, slots=True)
class _Ordered:
    """A check whose condition compares steps' times only with each other
    (`fastpath.orderly`): its answer follows from which neighbouring steps share a time,
    learnt from the first case of each such pattern and kept."""

    rule: Any
    params: dict[str, Any]
    effective: tuple[date | None, date | None] | None
    answers: dict[tuple[bool, ...], bool]


@dataclass(frozen=True, slots=True)
class _Program:
    clocks: tuple[_Clock, ...]
    exact: tuple[_Exact, ...]
    ordered: tuple[_Ordered, ...]
    # Flow-chart pairs (monitor.engine.flow) whose first steps the shape has out of the
    # chart's order, as (earlier index, later index): a case whose two times differ records
    # them in the wrong order (a step_order finding); equal times are in order.
    flow_ties: tuple[tuple[int, int], ...] = ()


class CaseRows(Protocol):
    """A case as a reader holds it before building the `Case` (monitor.source.records)."""

    @property
    def item(self) -> PowerItem | None: ...
    @property
    def problem(self) -> bool: ...
    @property
    def item_code(self) -> str: ...
    @property
    def department(self) -> str: ...
    @property
    def attributes(self) -> Any: ...  # hashable: the record's text
    @property
    def steps(self) -> tuple[Any, ...]: ...  # hashable: kinds, actors and attributes as read
    @property
    def kinds(self) -> tuple[str, ...]: ...
    @property
    def times(self) -> list[datetime]: ...  # aware, in order
    def case(self) -> Case: ...


class _Unsettled(Exception):  # noqa: N818 - control flow inside the screen, never escapes
    """The shape (or the case) needs a full evaluation."""


class Screen:
    def __init__(self, rules: RuleSet, calendar: WorkCalendar, tz: ZoneInfo = DEFAULT_TZ) -> None:
        self.rules = rules
        self.calendar = calendar
        self.tz = tz
        self._programs: dict[tuple[Any, ...], _Program | None] = {}
        self._row_programs: dict[tuple[Any, ...], _Program | None] = {}  # by the rows' text
        self._items: dict[int, tuple[PowerItem, int]] = {}
        self._item_tokens: dict[tuple[Any, ...], int] = {}  # never cleared: tokens stay unique
        self._timeless: dict[str, bool] = {}
        self._orderly: dict[str, bool] = {}
        # Midnights as UTC instants, by day: every clock asks for two or three.
        self._midnights: dict[date, datetime] = {}

    # -- per case ----------------------------------------------------------------------

    def settle(self, case: Case, now: datetime) -> Settled | None:
        """The state of a case without findings, exactly as `evaluate` leaves it; None when
        the case has (or may have) a finding, or the screen cannot tell."""
        if case.problems or not case.events or case.item is None or case.is_closed:
            return None  # a finding, or a closed case whose outcome needs every clock
        now = now.astimezone(UTC)
        times = [e.at.astimezone(UTC) for e in case.events]
        if times[-1] > now + FUTURE_TOLERANCE:
            return None  # a data_quality finding
        program = self._program(case, now)
        if program is None:
            return None
        return self._run(program, times, lambda: case, now)

    def settle_rows(self, rows: CaseRows, now: datetime) -> Settled | None:
        """`settle` for a case as the reader's rows hold it, building its `Case` only if a
        rule has to look at it: the shape is read off the rows' text."""
        times = rows.times
        if rows.problem or not times or rows.item is None or not CLOSING_KINDS.isdisjoint(rows.kinds):
            return None
        times = [t.astimezone(UTC) for t in times]
        now = now.astimezone(UTC)
        if times[-1] > now + FUTURE_TOLERANCE:
            return None
        item_key = self._item_key(rows.item)
        if item_key is None:
            return None
        key = (item_key, rows.item_code, rows.department, rows.attributes, rows.steps)
        try:
            program = self._row_programs[key]
        except KeyError:
            if len(self._row_programs) >= MAX_SHAPES:
                self._row_programs.clear()
            case = rows.case()
            program = self._row_programs[key] = None if case.problems else self._program(case, now)
        if program is None:
            return None
        return self._run(program, times, rows.case, now)

    def _run(
        self, program: _Program, times: list[datetime], case_of: Callable[[], Case], now: datetime
    ) -> Settled | None:
        """A shape's program for one case: `times` are its steps' instants (UTC, in order)."""
        began: date | None = None
        next_check: datetime | None = None
        until = now
        open_ended = False  # a clock paused with no end in sight: the counted days have no end
        for i, j in program.flow_ties:
            if times[i] != times[j]:
                return None  # the step_order finding
        try:
            for clock in program.clocks:
                if clock.effective is not None:
                    began = began or times[0].astimezone(self.tz).date()
                    if not _in_force(clock.effective, began):
                        continue
                due, nxt = self._count(clock, times, now)
                if nxt is not None and (next_check is None or nxt < next_check):
                    next_check = nxt
                for t in (due, nxt):
                    if t is not None and t > until:
                        until = t
            ctx: CaseContext | None = None
            if program.ordered:
                ties = tuple(times[i] == times[i + 1] for i in range(len(times) - 1))
                for od in program.ordered:
                    if od.effective is not None:
                        began = began or times[0].astimezone(self.tz).date()
                        if not _in_force(od.effective, began):
                            continue
                    found = od.answers.get(ties)
                    if found is None:
                        ctx = ctx or CaseContext(case_of(), self.rules, now)
                        found = od.answers[ties] = ctx.test(od.rule.when, od.params)
                    if found:
                        return None  # the check's finding
            if program.exact:
                case = case_of()
                ctx = ctx or CaseContext(case, self.rules, now)
                for ex in program.exact:
                    if ex.effective is not None:
                        began = began or times[0].astimezone(self.tz).date()
                        if not _in_force(ex.effective, began):
                            continue
                    for out in _apply(ex.rule, case, ctx, ex.params, self.calendar, now, self.tz):
                        if isinstance(out, Finding | Contradiction):
                            return None
                        nxt, due = out.next_change, out.due
                        if out.start is not None and due is None:
                            open_ended = True
                        if nxt is not None and (next_check is None or nxt < next_check):
                            next_check = nxt
                        for t in (due, nxt):
                            if t is not None and t > until:
                                until = t
        except (_Unsettled, CalendarRangeError):
            return None
        except Exception:  # noqa: BLE001 - a rule that fails on the case is a finding: evaluate it
            return None
        if next_check is not None and next_check > until:
            until = next_check
        return Settled(next_check, None if open_ended else until)

    def _count(
        self, c: _Clock, times: list[datetime], now: datetime
    ) -> tuple[datetime | None, datetime | None]:
        """(deadline, next change) of a fast clock as `deadline()` reports them, in UTC;
        raises _Unsettled when the clock is yellow or red (a finding)."""
        start = c.start
        if c.deemed is not None:
            origin = times[c.deemed.origin]
            window_end = _span_end(origin, c.deemed.within, c.deemed.unit, self.calendar, self.tz)
            answer = next((times[i] for i in c.deemed.answers if times[i] >= origin), None)
            if answer is not None and answer < window_end:
                pass  # answered in time: the clock starts at the real acceptance
            elif now < window_end:
                if start < 0:
                    return None, window_end  # waiting for the deemed start
            else:
                start = c.deemed.origin
        if start < 0:
            return None, None
        begin = times[start]
        stop: datetime | None = None
        for i in c.stops:
            if i != start and times[i] >= begin:
                stop = times[i]
                break
        if stop is None and any(i != start and times[i] < begin for i in c.stops):
            raise _Unsettled  # the stop is timed before the start: a step_order finding
        cal = self.calendar
        start_day = begin.astimezone(self.tz).date()
        if c.working:
            due_day = cal.add_working_days(start_day, c.limit)
        else:
            due_day = start_day + days(c.limit)
            if c.rolls:
                due_day = cal.next_workday(due_day)
        due = self._midnight(due_day + days(1))
        yellow_at: datetime | None = None
        if c.left is not None and c.limit > 0:
            left = c.left
            if c.working:
                yellow_day = cal.working_days_before(due_day, left - 1) if left > 0 else due_day
            else:
                yellow_day = due_day - days(max(left - 1, 0))
            yellow_at = max(self._midnight(yellow_day), begin)
        # deadline.py's reading of a stop, then clock._level, in UTC. A stop a few minutes
        # ahead of `now` (the feeding host's clock) is taken as done; one further ahead has
        # no level at all (the engine says why), so it is left to evaluate.
        if begin > now + FUTURE_TOLERANCE or (stop is not None and stop > now + FUTURE_TOLERANCE):
            raise _Unsettled
        ended = stop is not None
        at = stop if stop is not None else now
        if at >= due:
            raise _Unsettled  # red
        if ended:
            return due, None  # finished in time: nothing can change any more
        if yellow_at is not None and now >= yellow_at:
            raise _Unsettled  # yellow
        return due, (yellow_at if yellow_at is not None and yellow_at < due else due)

    def _midnight(self, day: date) -> datetime:
        """00:00 of `day` in the deployment's zone, as a UTC instant."""
        at = self._midnights.get(day)
        if at is None:
            at = self._midnights[day] = datetime.combine(day, datetime.min.time(), tzinfo=self.tz).astimezone(
                UTC
            )
        return at

    # -- per shape ---------------------------------------------------------------------

    def _program(self, case: Case, now: datetime) -> _Program | None:
        key = self._shape(case)
        if key is None:
            return None
        try:
            return self._programs[key]
        except KeyError:
            pass
        if len(self._programs) >= MAX_SHAPES:
            self._programs.clear()
            self._items.clear()
        try:
            program: _Program | None = self._analyse(case, now)
        except Exception:  # noqa: BLE001 - a condition that fails on the shape: evaluate its cases
            program = None
        self._programs[key] = program
        return program

    def _item_key(self, item: PowerItem) -> int | None:
        """A small number for the item's content: equal items get the same, and a shape's
        key hashes one int instead of the whole catalogue entry."""
        known = self._items.get(id(item))
        if known is None or known[0] is not item:
            content = _frozen(
                (
                    *(item.item_code, item.name, item.item_type, item.department, item.legal_limit),
                    *(item.promised_limit, item.limit_unit, item.fee_standard, item.attributes),
                )
            )
            if content is None:
                return None
            token = self._item_tokens.setdefault(content, len(self._item_tokens))
            known = self._items[id(item)] = (item, token)  # holding the item keeps its id
        return known[1]

    def _shape(self, case: Case) -> tuple[Any, ...] | None:
        assert case.item is not None
        item_key = self._item_key(case.item)
        if item_key is None:
            return None
        steps = []
        for e in case.events:
            attributes = _frozen(e.attributes) if e.attributes else ()
            if attributes is None:
                return None
            steps.append((e.kind, e.actors, attributes))
        attributes = _frozen(case.attributes) if case.attributes else ()
        if attributes is None:
            return None
        return (item_key, case.item_code, case.department, attributes, tuple(steps))

    def _is_orderly(self, source: str) -> bool:
        found = self._orderly.get(source)
        if found is None:
            found = self._orderly[source] = orderly(source)
        return found

    def _is_timeless(self, source: str) -> bool:
        found = self._timeless.get(source)
        if found is None:
            found = self._timeless[source] = timeless(source)
        return found

    def _decide(
        self, ctx: CaseContext, source: str, params: dict[str, Any], event: Event | None = None
    ) -> bool:
        """A condition for the whole shape; _Unsettled when it reads times. As in
        `CaseContext.test` (and CEL's `&&`), one false conjunct makes the condition false
        whatever the others give, so a timeless conjunct that is false decides it for the
        shape even where another conjunct reads times or fails; a failure is raised only
        when no conjunct is false and none reads times."""
        timed = False
        failure: Exception | None = None
        for step in self.rules.steps[source]:
            if not self._is_timeless(step.source):
                timed = True  # false for some cases of the shape, perhaps
                continue
            try:
                if not ctx.test_step(step, source, params, event):
                    return False
            except Exception as exc:  # noqa: BLE001 - a later conjunct may still be false
                if failure is None:
                    failure = exc
        if timed:
            raise _Unsettled
        if failure is not None:
            raise failure
        return True

    def _steps(
        self, ctx: CaseContext, matches: tuple[r.EventMatch, ...], params: dict[str, Any]
    ) -> tuple[int, ...]:
        """The indexes of the steps that match, decided for the shape."""
        out = []
        for i, e in enumerate(ctx.case.events):
            for m in matches:
                if e.kind == m.kind and (m.when is None or self._decide(ctx, m.when, params, e)):
                    out.append(i)
                    break
        return tuple(out)

    def _analyse(self, case: Case, now: datetime) -> _Program | None:
        """What every case of this case's shape needs beyond its shape, or None when any of
        them has a finding whatever its times (or the shape is beyond the screen)."""
        rules = self.rules
        if {e.kind for e in case.events} - rules.event_kinds:
            return None  # a data_quality finding
        ctx = CaseContext(case, rules, now)
        clocks: list[_Clock] = []
        exact: list[_Exact] = []
        ordered: list[_Ordered] = []
        ties: list[tuple[int, int]] = []
        assert case.item is not None
        for file, planned in rules.plan[case.item.item_type]:
            params = file.params
            try:
                if not self._selected(file, case, ctx, params):
                    continue
                for chain in file.spec.flow:
                    ties += self._flow_ties(ctx, chain, params)
            except _Unsettled:
                return None
            for p in planned:
                rule = p.rule
                if p.gates and not p.applies(ctx.counts):
                    continue
                effective = (rule.effective_from, rule.effective_to) if p.dated else None
                try:
                    step = self._rule(rule, case, ctx, params, effective)
                except _Unsettled:
                    if isinstance(rule, r.CheckRule) and self._is_orderly(rule.when):
                        ordered.append(_Ordered(rule, params, effective, {}))
                        continue
                    step = _Exact(rule, params, effective)
                if step is None:
                    continue
                if isinstance(step, _Clock):
                    clocks.append(step)
                elif isinstance(step, _Exact):
                    exact.append(step)
                else:
                    if effective is None:
                        return None  # a finding for every case of the shape
                    exact.append(_Exact(rule, params, effective))  # only while the rule is in force
        return _Program(tuple(clocks), tuple(exact), tuple(ordered), tuple(ties))

    def _flow_ties(
        self, ctx: CaseContext, chain: tuple[tuple[r.EventMatch, ...], ...], params: dict[str, Any]
    ) -> list[tuple[int, int]]:
        """flow.chain_contradictions for the shape: the stage pairs whose first steps come in
        the wrong order of index; only equal times keep such a case in order."""
        firsts = [next(iter(self._steps(ctx, stage, params)), None) for stage in chain]
        out = []
        for j, later in enumerate(firsts):
            for earlier in firsts[:j]:
                if later is not None and earlier is not None and later < earlier:
                    out.append((later, earlier))
        return out

    def _selected(self, file: CompiledFile, case: Case, ctx: CaseContext, params: dict[str, Any]) -> bool:
        sel = file.spec.select
        if sel.item_codes and case.item_code not in sel.item_codes:
            return False
        if sel.departments and case.department not in sel.departments:
            return False
        return not (sel.when and not self._decide(ctx, sel.when, params))

    def _rule(
        self,
        rule: Any,
        case: Case,
        ctx: CaseContext,
        params: dict[str, Any],
        effective: tuple[date | None, date | None] | None,
    ) -> _Clock | _Exact | bool | None:
        """A rule for the shape: None when silent for every case of it, True when it finds
        something for every case (while in force), a _Clock or _Exact for the rest; raises
        _Unsettled when only the case's times can tell (the caller runs it exactly)."""
        if isinstance(rule, r.UnlistedRule):
            return None  # the item is listed (unlisted cases are never screened)
        when = getattr(rule, "when", None)
        if when and not self._decide(ctx, when, params):
            return None
        if isinstance(rule, r.DeadlineRule):
            return self._clock(rule, case, ctx, params, effective)
        if isinstance(rule, r.CheckRule):
            return True
        if isinstance(rule, r.PrecedenceRule):
            if not self._steps(ctx, rule.after, params):
                return None
            raise _Unsettled  # "before" depends on the steps' times
        if isinstance(rule, r.ExistenceRule):
            return None if self._steps(ctx, rule.event, params) else True
        if isinstance(rule, r.AbsenceRule):
            return True if self._steps(ctx, rule.event, params) else None
        if isinstance(rule, r.AtMostRule):
            return True if len(self._steps(ctx, rule.event, params)) > rule.count else None
        if isinstance(rule, r.MinIntervalRule):
            if not self._steps(ctx, rule.from_, params) or not self._steps(ctx, rule.to, params):
                return None
            raise _Unsettled
        raise _Unsettled

    def _clock(
        self,
        rule: r.DeadlineRule,
        case: Case,
        ctx: CaseContext,
        params: dict[str, Any],
        effective: tuple[date | None, date | None] | None,
    ) -> _Clock | bool | None:
        clock = rule.clock
        kinds = ctx.counts
        if clock.pause is not None and any(m.kind in kinds for m in clock.pause.begin):
            raise _Unsettled  # paused: the engine counts it
        if clock.extension is not None and clock.extension.event in kinds:
            raise _Unsettled
        starts = self._steps(ctx, clock.start, params)
        deemed = None
        if clock.deemed_start is not None:
            ds = clock.deemed_start
            if ds.unit is LimitUnit.HOURS:
                raise _Unsettled
            origins = self._steps(ctx, ds.event, params)
            if origins:
                deemed = _Deemed(origins[0], self._steps(ctx, ds.unless, params), ds.within, ds.unit)
        if not starts and deemed is None:
            return None
        item = case.item
        assert item is not None
        unit = item.limit_unit if clock.unit == "catalogue" else clock.unit
        if not isinstance(unit, LimitUnit) or unit is LimitUnit.HOURS:
            raise _Unsettled
        if isinstance(clock.limit, int):
            amount: int | None = clock.limit
        elif clock.limit == "promised":
            amount = item.promised_limit if item.promised_limit is not None else item.legal_limit
        else:
            amount = item.legal_limit
        if amount is None:
            return True  # "no time limit in the catalogue": a finding
        yellow = rule.yellow
        left: int | None = None
        if yellow is not None and yellow.left is not None:
            left = yellow.left
        elif yellow is not None and yellow.share is not None:
            left = _left_for_share(yellow.share, amount)
        return _Clock(
            starts[0] if starts else -1,
            deemed,
            self._steps(ctx, clock.stop, params),
            amount,
            unit is LimitUnit.WORKING_DAYS,
            unit is LimitUnit.NATURAL_DAYS and clock.roll_over_holidays,
            left,
            effective,
        )


def _in_force(effective: tuple[date | None, date | None], began: date) -> bool:
    """evaluate._effective: a rule applies to cases that began while it was in force."""
    first, last = effective
    if first and began < first:
        return False
    return not (last and began > last)


def _frozen(value: Any) -> Any:
    """A hashable copy of a JSON-like value that tells apart what CEL tells apart (1, 1.0 and
    true are three values), keeping the order of maps; None when it holds something else."""
    t = type(value)
    if t is dict:
        out = []
        for k, v in value.items():
            fv = _frozen(v)
            if type(k) is not str or fv is None:
                return None
            out.append((k, fv))
        return (dict, tuple(out))
    if t is list or t is tuple:
        items = [_frozen(v) for v in value]
        return None if any(i is None for i in items) else (list, tuple(items))
    if t in (str, int, float, bool) or value is None:
        return (t, value)
    try:
        hash(value)
    except TypeError:
        return None
    return (t, value)  # a Decimal, an enum: hashable and compared by value
