"""The screen: a cache in front of `evaluate` for the many cases that share a shape.

What `evaluate` asks of a case follows mostly from its *shape* — the catalogue item, the
department, the case's attributes and its steps in order with their kinds, actors and
attributes — and only partly from the steps' times: which files select it, what every
condition that reads no time answers (`fastpath.timeless`), which steps start, stop and
pause each clock. A pass meets thousands of cases of a few hundred shapes, so the screen
keeps one `Memo` of those answers for each shape and hands it to `evaluate`, which runs as it
always does — every rule kind, every clock, every sentence is the engine's own code — and
only skips asking a time-free condition a second time. The answer is the evaluation
`evaluate` gives without a memo (tests/test_screen.py holds the two equal case by case).

The shape is read off the case, or off the reader's rows before the `Case` is built (their
JSON text), so that a case's key costs a tuple of strings. A screen belongs to one rule set
(a reload builds a new one).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from monitor.calendar import WorkCalendar
from monitor.engine.context import Memo
from monitor.engine.evaluate import evaluate
from monitor.engine.loader import RuleSet
from monitor.model import Case, Evaluation, PowerItem
from monitor.timeutil import DEFAULT_TZ

# Memos kept; past this the cache starts again. Real records (a fine, an address in the
# attributes) make many shapes of a few cases each, and a memo holds a few kilobytes: a
# bound of thousands keeps the shapes that repeat and the memory of a pass flat.
MAX_SHAPES = 4_096


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
    def case(self) -> Case: ...


class Screen:
    def __init__(self, rules: RuleSet, calendar: WorkCalendar, tz: ZoneInfo = DEFAULT_TZ) -> None:
        self.rules = rules
        self.calendar = calendar
        self.tz = tz
        self._memos: dict[tuple[Any, ...], Memo] = {}
        self._row_memos: dict[tuple[Any, ...], Memo] = {}  # by the rows' text
        self._items: dict[int, tuple[PowerItem, int]] = {}
        self._item_tokens: dict[tuple[Any, ...], int] = {}  # never cleared: tokens stay unique
        self._timeless: dict[str, bool] = {}
        self._decides: dict[int, bool] = {}  # by id() of a rule's matches

    @property
    def shapes(self) -> int:
        """How many shapes the screen holds a memo for."""
        return len(self._memos) + len(self._row_memos)

    def evaluate(self, case: Case, now: datetime) -> Evaluation:
        """`evaluate(case, ...)`, with the memo of the case's shape."""
        return evaluate(case, self.rules, self.calendar, now, self.tz, self._memo(case))

    def evaluate_rows(self, rows: CaseRows, now: datetime) -> tuple[Case, Evaluation]:
        """The case the rows hold and its evaluation, its shape read off the rows' text."""
        case = rows.case()
        memo: Memo | None = None
        if not rows.problem and rows.item is not None and not case.problems:
            token = self._item_key(rows.item)
            if token is not None:
                key = (token, rows.item_code, rows.department, rows.attributes, rows.steps)
                memo = self._row_memos.get(key)
                if memo is None:
                    if len(self._row_memos) >= MAX_SHAPES:
                        self._row_memos.clear()
                    memo = self._row_memos[key] = self._new_memo()
        return case, evaluate(case, self.rules, self.calendar, now, self.tz, memo)

    def _new_memo(self) -> Memo:
        return Memo(self._timeless, self._decides)

    def _memo(self, case: Case) -> Memo | None:
        key = self._shape(case)
        if key is None:
            return None
        memo = self._memos.get(key)
        if memo is None:
            if len(self._memos) >= MAX_SHAPES:
                self._memos.clear()
                self._items.clear()
            memo = self._memos[key] = self._new_memo()
        return memo

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
        """What the time-free conditions can read of the case; None: no memo (a case with
        problems or without an item, or a value the key cannot hold)."""
        if case.problems or case.item is None:
            return None
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
