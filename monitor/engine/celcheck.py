"""Load-time checks of a condition: what fails on every case, found before any case is seen.

CEL as this engine runs it checks no types: `case.atributes.x`, `params.dayz` or `1 + 1` all
compile, and then fail (or give no answer) on every case, each of which gets a data_quality
warning. Walking the syntax tree (monitor.engine.celsyntax) with what is known of the
variables finds these first:

- a parameter the file does not define (`params.x`);
- a field `case`, `case.item` or a step does not have (`case.atributes`, `e.kidn`), or a field
  of something that is not a map (`case.listed.x`); attributes maps are free-form;
- `event` outside a step condition;
- an operator whose operands it never takes (`1 + 2.5`, `"330100" in case.item_code`): CEL
  converts between no types;
- a value that is certainly not true or false where one is needed: the whole condition, a
  side of `&&`/`||`, the operand of `!`, the test of `? :`, the predicate of a comprehension.

Each is a part that fails every time it runs, wherever it stands (`case.listed ||
case.atributes.x` is true on listed cases, but its second side can never work). A name is
reported only where reading it fails: `has(params.x)` is false, not an error, and stays
allowed. Whatever has a type not known here (an attribute's value, the result of a function
this module does not know) is taken to be anything, so a part that could work on some case
is never reported. An expression the parser cannot read is not checked.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from monitor.engine.celsyntax import (
    Arith,
    Call,
    CelSyntaxError,
    Cond,
    Has,
    Ident,
    Index,
    ListExpr,
    Lit,
    Logic,
    Macro,
    MapExpr,
    Neg,
    Node,
    Not,
    Rel,
    Select,
    line_col,
    parse,
)

# ---------------------------------------------------------------------------------------------
# Types, as far as they are known before a case is seen.


@dataclass(frozen=True, slots=True)
class _Dyn:
    """Anything (an attribute's value, an unknown function's result)."""


@dataclass(frozen=True, slots=True)
class _Prim:
    """Any of a few types, by CEL's names: scalars, or "list" for a list of unknown elements."""

    names: frozenset[str]


@dataclass(frozen=True, slots=True)
class _List:
    elem: _Type


@dataclass(frozen=True, slots=True)
class _Map:
    key: _Type
    value: _Type


@dataclass(frozen=True, slots=True)
class _Record:
    """A map whose keys are known: `case`, `case.item`, a step, `params`."""

    name: str  # what messages call it when its own text is not a plain name
    fields: Mapping[str, _Type]


_Type = _Dyn | _Prim | _List | _Map | _Record

DYN: Final = _Dyn()


def _prim(*names: str) -> _Prim:
    return _Prim(frozenset(names))


BOOL, INT, DOUBLE, STRING = _prim("bool"), _prim("int"), _prim("double"), _prim("string")
TIMESTAMP, DURATION = _prim("timestamp"), _prim("duration")
_LITERAL: Final = {k: _prim(k) for k in ("int", "uint", "double", "string", "bytes", "bool", "null")}

# Which operand types each operator takes, and what it gives: CEL converts between no types
# (`1 + 2.5` fails), though it compares numbers of any kind with each other. These are the
# overloads of the CEL specification together with those `common-expression-language` 0.10
# adds (`list + map`); tests/test_celcheck.py holds the table to what CEL does.
_NUMBERS: Final = ("int", "uint", "double")
_ALL: Final = (*_NUMBERS, "string", "bytes", "bool", "null", "timestamp", "duration", "list", "map", "type")
_ORDERED: Final = frozenset(
    {(a, b) for a in _NUMBERS for b in _NUMBERS}
    | {(t, t) for t in ("string", "bytes", "bool", "timestamp", "duration")}
)
_SAME = {(t, t): t for t in _NUMBERS}
_OVERLOADS: Final[dict[str, dict[tuple[str, str], str]]] = {
    **dict.fromkeys(("<", "<=", ">", ">="), dict.fromkeys(_ORDERED, "bool")),
    "+": {
        **_SAME,
        **{(t, t): t for t in ("string", "bytes", "list", "duration")},
        ("list", "map"): "list",
        ("timestamp", "duration"): "timestamp",
        ("duration", "timestamp"): "timestamp",
    },
    "-": {
        **_SAME,
        ("timestamp", "timestamp"): "duration",
        ("timestamp", "duration"): "timestamp",
        ("duration", "duration"): "duration",
    },
    "*": _SAME,
    "/": _SAME,
    "%": {("int", "int"): "int", ("uint", "uint"): "uint"},
    # Any value is looked for in a list; a map's keys are of these types.
    "in": {
        **{(t, "list"): "bool" for t in _ALL},
        **{(t, "map"): "bool" for t in ("int", "uint", "string", "bool")},
    },
}
# The specification negates durations; this CEL does not, but negates a bool (to its opposite).
_NEGATABLE: Final = {"int": "int", "double": "double", "duration": "duration", "bool": "bool"}

_ATTRIBUTES: Final = _Map(STRING, DYN)
STEP: Final = _Record(
    "the step", {"kind": STRING, "at": TIMESTAMP, "actors": _List(STRING), "attributes": _ATTRIBUTES}
)
ITEM: Final = _Record(
    "`case.item`",
    {
        "item_type": STRING,
        "name": STRING,
        "legal_limit": INT,
        "promised_limit": INT,
        "limit_unit": STRING,
        "fee_standard": DOUBLE,
        "attributes": _ATTRIBUTES,
    },
)
# The fields of `case` (monitor.engine.context.CASE_FIELDS, which imports the loader, hence a
# table of its own, held to the same keys by tests/test_celcheck.py), with their types.
_CASE_TYPES: Final[dict[str, _Type]] = {
    "case_id": STRING,
    "item_code": STRING,
    "department": STRING,
    "attributes": _ATTRIBUTES,
    "listed": BOOL,
    "item": ITEM,
    "counts": _Map(STRING, INT),
    "first": _Map(STRING, TIMESTAMP),
    "fee_charged": _prim("int", "double"),  # 0 without fee steps
    "closed": BOOL,
}
CASE: Final = _Record("`case`", _CASE_TYPES)

_RESULTS: Final[dict[str, _Type]] = {
    "size": INT,
    "int": INT,
    "uint": _prim("uint"),
    "double": DOUBLE,
    "string": STRING,
    "bytes": _prim("bytes"),
    "timestamp": TIMESTAMP,
    "duration": DURATION,
    "type": _prim("type"),
    "contains": BOOL,
    "startsWith": BOOL,
    "endsWith": BOOL,
    "matches": BOOL,
    **dict.fromkeys(
        (
            "getFullYear",
            "getMonth",
            "getDate",
            "getDayOfMonth",
            "getDayOfWeek",
            "getDayOfYear",
            "getHours",
            "getMinutes",
            "getSeconds",
            "getMilliseconds",
        ),
        INT,
    ),
}


def _value_type(value: Any) -> _Type:
    """The type of a parameter's value as CEL is handed it."""
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT
    if isinstance(value, float):
        return DOUBLE
    if isinstance(value, str):
        return STRING
    if value is None:
        return _LITERAL["null"]
    return DYN


def _may_be_bool(t: _Type) -> bool:
    return isinstance(t, _Dyn) or (isinstance(t, _Prim) and "bool" in t.names)


def _join(a: _Type, b: _Type) -> _Type:
    if a == b:
        return a
    if isinstance(a, _Prim) and isinstance(b, _Prim):
        return _Prim(a.names | b.names)
    return DYN


_WORDS: Final = {
    "bool": "true or false",
    "int": "a number",
    "uint": "a number",
    "double": "a number",
    "string": "text",
    "bytes": "bytes",
    "null": "null",
    "timestamp": "a time",
    "duration": "a duration",
    "list": "a list",
    "type": "a type",
}


def _describe(t: _Type) -> str:
    if isinstance(t, _Prim):
        words = sorted({_WORDS.get(n, n) for n in t.names})
        return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"
    return "a list" if isinstance(t, _List) else "a map"


# ---------------------------------------------------------------------------------------------
# The walk.


def check_condition(source: str, params: Mapping[str, Any], step: bool) -> list[str]:
    """What is certain to fail in `source` on every case, one sentence each ([] when nothing,
    or when the parser cannot read it). `params` are the file's parameters; `step` says
    whether the condition is a step condition (where `event` is defined)."""
    try:
        root = parse(source)
    except CelSyntaxError:
        return []
    checker = _Checker(source, params, step)
    result = checker.infer(root, {})
    if not _may_be_bool(result):
        checker.problems.append(f"the whole condition gives {_describe(result)}, not true or false")
    return checker.problems


def check_value(source: str, params: Mapping[str, Any]) -> list[str]:
    """What is certain to fail in `source`, an expression whose value is shown rather than
    tested (a placeholder of `detail`): the same checks but the one for true or false."""
    try:
        root = parse(source)
    except CelSyntaxError:
        return []
    checker = _Checker(source, params, step=False)
    checker.infer(root, {})
    return checker.problems


def analysable(source: str) -> bool:
    """Whether `check_condition` can read `source` at all."""
    try:
        parse(source)
    except CelSyntaxError:
        return False
    return True


class _Checker:
    def __init__(self, source: str, params: Mapping[str, Any], step: bool) -> None:
        self.source = source
        self.step = step
        self.params = _Record("`params`", {name: _value_type(value) for name, value in params.items()})
        self.problems: list[str] = []

    def where(self, pos: int) -> str:
        line, col = line_col(self.source, pos)
        return f"column {col}" if line == 1 else f"line {line} column {col}"

    def report(self, pos: int, text: str) -> None:
        self.problems.append(f"{self.where(pos)} of the expression: {text}")

    def want_bool(self, node: Node, scope: Mapping[str, _Type], role: str) -> None:
        t = self.infer(node, scope)
        if not _may_be_bool(t):
            self.report(_start(node), f"{role} is {_describe(t)}, not true or false")

    def infer(self, node: Node, scope: Mapping[str, _Type]) -> _Type:
        match node:
            case Lit(_, kind):
                return _LITERAL[kind]
            case Ident(name, pos):
                return self.ident(name, pos, scope)
            case Select(obj, field, pos):
                return self.field(self.infer(obj, scope), obj, field, pos)
            case Has(obj, field, pos):
                # `obj` is read; only its last field may be missing.
                t = self.infer(obj, scope)
                if isinstance(t, _Prim | _List):
                    self.no_fields(t, obj, field, pos)
                return BOOL
            case Index(obj, key, pos):
                t = self.infer(obj, scope)
                self.infer(key, scope)
                if isinstance(key, Lit) and key.kind == "string" and isinstance(t, _Record):
                    return self.field(t, obj, key.value, pos)
                if isinstance(t, _List):
                    return t.elem
                return t.value if isinstance(t, _Map) else DYN
            case Call(function, args, target):
                for a in (*args, *((target,) if target is not None else ())):
                    self.infer(a, scope)
                return _RESULTS.get(function, DYN)
            case Macro(name, target, var, body):
                return self.macro(name, self.infer(target, scope), var, body, scope)
            case ListExpr(items):
                elem: _Type | None = None
                for i in items:
                    t = self.infer(i, scope)
                    elem = t if elem is None else _join(elem, t)
                return _List(elem or DYN)
            case MapExpr(entries):
                for k, v in entries:
                    self.infer(k, scope)
                    self.infer(v, scope)
                return _Map(DYN, DYN)
            case Not(arg):
                self.want_bool(arg, scope, "the operand of `!`")
                return BOOL
            case Neg(arg, pos):
                names = _names(self.infer(arg, scope))
                if names is None:
                    return _Prim(frozenset(_NEGATABLE.values()))
                results = {_NEGATABLE[n] for n in names if n in _NEGATABLE}
                if not results:
                    self.report(pos, f"`-` cannot negate {_cel_names(names)}")
                    return DYN
                return _Prim(frozenset(results))
            case Logic(conj, args):
                for a in args:
                    self.want_bool(a, scope, "a side of `&&`" if conj else "a side of `||`")
                return BOOL
            case Cond(test, then, orelse):
                self.want_bool(test, scope, "the test of `? :`")
                return _join(self.infer(then, scope), self.infer(orelse, scope))
            case Rel(op, left, right, pos):
                lt, rt = self.infer(left, scope), self.infer(right, scope)
                if op not in ("==", "!="):  # which compare any two values
                    self.operands(op, lt, rt, pos)
                return BOOL
            case Arith(op, left, right, pos):
                return self.operands(op, self.infer(left, scope), self.infer(right, scope), pos)
        return DYN  # pragma: no cover - every node kind is matched above

    def operands(self, op: str, left: _Type, right: _Type, pos: int) -> _Type:
        """What `left op right` gives; reported when no overload takes such operands."""
        table = _OVERLOADS[op]
        ln, rn = _names(left), _names(right)
        results = {
            result for (a, b), result in table.items() if (ln is None or a in ln) and (rn is None or b in rn)
        }
        if results:
            return _Prim(frozenset(results))
        if ln is not None and rn is not None:
            what = f"{_cel_names(ln)} and {_cel_names(rn)}"
        else:
            what = f"{_cel_names(ln or rn or frozenset())} on its {'left' if ln is not None else 'right'}"
        hint = ""
        if ln is not None and rn is not None and (ln | rn) <= set(_NUMBERS):
            hint = ": CEL converts no number to another (write 2.0 for a double, or use double(…), int(…))"
        elif op == "in" and rn == frozenset({"string"}):
            hint = ": look for text in text with `….contains(…)`"
        self.report(pos, f"`{op}` cannot take {what}{hint}")
        return DYN

    def ident(self, name: str, pos: int, scope: Mapping[str, _Type]) -> _Type:
        if name in scope:
            return scope[name]
        if name == "case":
            return CASE
        if name == "events":
            return _List(STEP)
        if name == "now":
            return TIMESTAMP
        if name == "params":
            return self.params
        if name == "event":
            if self.step:
                return STEP
            self.report(pos, "`event` is defined only in a step condition (`- kind: … when: …`)")
        return DYN  # unknown names are the loader's own error

    def field(self, t: _Type, obj: Node, name: str, pos: int) -> _Type:
        if isinstance(t, _Record):
            found = t.fields.get(name)
            if found is not None:
                return found
            path = _path(obj)
            close = difflib.get_close_matches(name, sorted(t.fields), n=1)
            if t is self.params:
                hint = f" (did you mean `params.{close[0]}`?)" if close else ""
                self.report(pos, f"`params.{name}` is not defined under `params:`{hint}")
            else:
                hint = f" (did you mean `{close[0]}`?)" if close else ""
                what = f"`{path}`" if path else t.name
                known = ", ".join(t.fields)
                self.report(pos, f"{what} has no field `{name}`{hint}; its fields: {known}")
            return DYN
        if isinstance(t, _Map):
            return t.value
        if isinstance(t, _Prim | _List):
            self.no_fields(t, obj, name, pos)
        return DYN

    def no_fields(self, t: _Type, obj: Node, name: str, pos: int) -> None:
        path = _path(obj)
        what = f"`{path}`" if path else "the value"
        self.report(pos, f"{what} is {_describe(t)}, which has no field `{name}`")

    def macro(
        self, name: str, target: _Type, var: str, body: tuple[Node, ...], scope: Mapping[str, _Type]
    ) -> _Type:
        if isinstance(target, _List):
            elem = target.elem
        elif isinstance(target, _Map):
            elem = target.key
        elif isinstance(target, _Record):
            elem = STRING
        else:
            elem = DYN
        inner = {**scope, var: elem}
        if name == "map":
            if len(body) == 2:
                self.want_bool(body[0], inner, "the filter of `map`")
            return _List(self.infer(body[-1], inner))
        self.want_bool(body[0], inner, f"the predicate of `{name}`")
        if name == "filter":
            return target if isinstance(target, _List) else _List(elem)
        return BOOL


def _names(t: _Type) -> frozenset[str] | None:
    """The CEL types `t` may be, by name; None when it may be anything."""
    if isinstance(t, _Prim):
        return t.names
    if isinstance(t, _List):
        return frozenset({"list"})
    if isinstance(t, _Map | _Record):
        return frozenset({"map"})
    return None


def _cel_names(names: frozenset[str]) -> str:
    """`int or double`: CEL's own names, for messages about operators."""
    ordered = sorted(names)
    return ordered[0] if len(ordered) == 1 else f"{', '.join(ordered[:-1])} or {ordered[-1]}"


def _path(node: Node) -> str | None:
    """`case.item.name` for a chain of fields from a name; None for anything else."""
    if isinstance(node, Ident):
        return node.name
    if isinstance(node, Select):
        base = _path(node.obj)
        return None if base is None else f"{base}.{node.field}"
    return None


def _start(node: Node) -> int:
    """Where the text of `node` starts: a member's position is its name's, after its base."""
    while True:
        if isinstance(node, Select | Index):
            node = node.obj
        elif isinstance(node, Macro) or (isinstance(node, Call) and node.target is not None):
            assert node.target is not None
            node = node.target
        else:
            return node.pos
