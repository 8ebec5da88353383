"""The fast path against CEL on the loaded conditions, before any case is seen.

The fast path (`monitor.engine.fastpath`) answers true or false only where it was measured to
agree with CEL (`common-expression-language`, pinned in pyproject.toml to the versions it was
measured against), and a property test compares both on random cases for every shipped
condition. A rule author's new condition, or a CEL release that reads a case differently, is
not in that test: so when a set loads, each conjunct the fast path compiled runs on a few
cases made up from the condition itself (the literals it compares with, the attributes and
steps it names, the set's step kinds, the file's parameters), with and without each
attribute, with steps sharing an instant and `now` on a step's instant. Where the fast path
answers and CEL answers otherwise (or fails), the conjunct runs on CEL alone: CEL is the
meaning of every condition, and speed is all the fast path may change. The loader logs each
such conjunct with its file, line and rule, and `sunlight check` prints it.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import cel

from monitor.engine.celnodes import Has, Ident, Index, Lit, Macro, Node, Select, children
from monitor.engine.fastvalues import UNSURE, FastCondition
from monitor.engine.filecheck import file_expressions
from monitor.engine.ruleset import RuleSet
from monitor.model import CLOSING_KINDS, ItemType

CASES: Final = 12  # made-up cases per conjunct: enough to meet each attribute absent and present
# Any instant serves: conditions compare times with each other and with `now` only.
_BASE: Final = datetime(2026, 2, 27, 9, 0, tzinfo=UTC)
_OFFSETS: Final = [timedelta(0), timedelta(0), timedelta(hours=1), timedelta(days=1), timedelta(days=3)]


def disagreements(rules: RuleSet, places: Mapping[str, str]) -> dict[str, str]:
    """The conjuncts on which the fast path and CEL disagree, each with a sentence naming the
    condition and where it first sits (`places`: the loader's `file:line:col [rule id]`)."""
    found: dict[str, str] = {}
    checked: set[tuple[str, int]] = set()
    for file in rules.files:
        for _, source in file_expressions(file.spec):
            for step in rules.steps.get(source, ()):
                key = (step.source, id(file.params))
                if step.fast is None or step.source in found or key in checked:
                    continue
                checked.add(key)
                verdict = _compare(rules, step.source, step.fast, file.params)
                if verdict is not None:
                    part = "" if step.source == source else f" (its part `{step.source}`)"
                    found[step.source] = (
                        f"{places.get(source, file.path)}: expression `{source}`{part}: the fast "
                        f"path {verdict}; it runs on CEL alone"
                    )
    return found


def _compare(rules: RuleSet, source: str, fast: FastCondition, params: dict[str, Any]) -> str | None:
    """None when the fast path agrees with CEL on every made-up case, else what differed."""
    parsed = rules.trees.get(source)
    node = parsed.node if parsed is not None else None
    needs = rules.needs.get(source, frozenset())
    program = rules.programs[source]
    fields = _case_fields(node) if node is not None else None
    for env in environments(node, rules.event_kinds, params, source):
        if fields is not None:
            # Only the fields the condition reads: the same answer both ways, and handing
            # `case` to CEL costs what it holds.
            env["case"] = {k: v for k, v in env["case"].items() if k in fields}
        try:
            answer = fast(env)
        except Exception as exc:  # noqa: BLE001 - the fast path must never raise
            return f"raises {type(exc).__name__} where it should answer or be unsure"
        if answer is UNSURE:
            continue
        try:
            expected: object = _run_cel(program, env, needs)
        except Exception as exc:  # noqa: BLE001 - any failure of CEL's is a disagreement here
            expected = f"fails ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
        if expected is not answer:
            said = f"gives {str(expected).lower()}" if isinstance(expected, bool) else expected
            return f"gives {str(answer).lower()} where CEL {said}"
    return None


def _run_cel(program: cel.Program, env: Mapping[str, Any], needs: frozenset[str]) -> object:
    ctx = cel.Context()
    for name in needs:
        if env.get(name) is not None:
            ctx.add_variable(name, env[name])
    return program.execute(ctx)


def environments(
    node: Node | None, kinds: Iterable[str], params: dict[str, Any], seed: str
) -> Iterable[dict[str, Any]]:
    """`CASES` made-up envs for a condition (its tree `node`): the same for the same inputs."""
    strings, numbers, names = _literals(node)
    rng = random.Random(hashlib.sha256(seed.encode()).digest())
    kinds = sorted(kinds)
    step_kinds = [k for k in strings if k in kinds] + rng.sample(kinds, min(3, len(kinds)))
    pool: list[object] = [*strings, *numbers, *(n + d for n in numbers if type(n) is int for d in (-1, 1))]
    pool += [True, False, "", 0, 1.5, ["x"]]
    types = [t.value for t in ItemType]
    actors_pool = [s for s in strings if s] or ["张三"]
    types_named = [s for s in strings if s in types] or types
    codes, departments = [*strings, "330100-001"], [*strings, "市场监管局"]
    draw = rng.random

    def pick(seq: list[Any]) -> Any:
        return seq[int(draw() * len(seq))]  # rng.choice, at half the cost

    for i in range(CASES):
        # The first case has no attributes; the next ones give every name a value, walking the
        # pool (the condition's own literals and their neighbours first); then each name is
        # present half the time, with a value drawn from the pool (the last four cases).
        sweep = 0 < i <= min(len(pool), CASES - 4)

        def attributes(i: int = i, sweep: bool = sweep) -> dict[str, Any]:
            if i == 0:
                return {}
            if sweep:
                return {n: pool[(i - 1 + j) % len(pool)] for j, n in enumerate(names)}
            return {n: pick(pool) for n in names if draw() < 0.5}

        at = _BASE
        events = []
        for _ in range(rng.randint(0 if i else 1, 4)):
            at += pick(_OFFSETS)  # often the same instant as the step before
            actors = [pick(actors_pool)] if draw() < 0.7 else []
            events.append({"kind": pick(step_kinds), "at": at, "actors": actors, "attributes": attributes()})
        listed = i != 2
        item_type = pick(types_named) if draw() < 0.7 else pick(types)
        case = {
            "case_id": f"T-{i}",
            "item_code": pick(codes),
            "department": pick(departments),
            "attributes": attributes(),
            "listed": listed,
            "item": _item(item_type, attributes(), pick) if listed else {},
            "counts": _counts(events),
            "first": {e["kind"]: e["at"] for e in reversed(events)},
            "fee_charged": pick([0.0, 50.0]),
            "closed": any(e["kind"] in CLOSING_KINDS for e in events),
        }
        times = [e["at"] for e in events]
        now = pick([*times, _BASE - timedelta(hours=1), at + timedelta(days=1)])
        event = (
            pick(events) if events else {"kind": step_kinds[0], "at": _BASE, "actors": [], "attributes": {}}
        )
        yield {"case": case, "events": events, "now": now, "params": params, "event": event}


def _item(item_type: str, attributes: dict[str, Any], pick: Callable[[list[Any]], Any]) -> dict[str, Any]:
    legal = pick([0, 20])
    return {
        "item_type": item_type,
        "name": "测试事项",
        "legal_limit": legal,
        "promised_limit": legal // 2,
        "limit_unit": pick(["working_days", "natural_days"]),
        "fee_standard": pick([0.0, 10.0]),
        "attributes": attributes,
    }


def _counts(events: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for e in events:
        counts[e["kind"]] = counts.get(e["kind"], 0) + 1
    return counts


def _literals(node: Node | None) -> tuple[list[str], list[object], list[str]]:
    """The strings and numbers a condition compares with, and the names it reads fields by."""
    strings: dict[str, None] = {}
    numbers: dict[object, None] = {}
    names: dict[str, None] = {}
    stack = [node] if node is not None else []
    while stack:
        n = stack.pop()
        if isinstance(n, Lit):
            if type(n.value) is str:
                strings[n.value] = None
            elif type(n.value) in (int, float):
                numbers[n.value] = None
        elif isinstance(n, Select | Has):
            names[n.field] = None
        elif isinstance(n, Index) and isinstance(n.key, Lit) and type(n.key.value) is str:
            names[n.key.value] = None
        stack.extend(children(n))
    return list(strings), list(numbers), list(names)


def _case_fields(node: Node) -> frozenset[str] | None:
    """The fields of `case` a condition reads, when it reads `case` only field by field
    (`case.x`, `has(case.x)`, `case["x"]`); None when it reads it whole or rebinds it."""
    fields: set[str] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Select | Has) and isinstance(n.obj, Ident) and n.obj.name == "case":
            fields.add(n.field)
            continue
        if isinstance(n, Index) and isinstance(n.obj, Ident) and n.obj.name == "case":
            if not (isinstance(n.key, Lit) and type(n.key.value) is str):
                return None
            fields.add(n.key.value)
            stack.append(n.key)
            continue
        if (isinstance(n, Ident) and n.name == "case") or (isinstance(n, Macro) and n.var == "case"):
            return None
        stack.extend(children(n))
    return frozenset(fields)
