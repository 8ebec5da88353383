"""A fast path in front of CEL: a subset of CEL compiled to Python closures.

Handing a value to the CEL engine converts it element by element, which costs far more than
evaluating a typical rule condition. `compile_fast` turns a condition written in a small
subset of CEL into nested closures that read the Python values directly (a microsecond or
a few).

The contract is exactness by construction: a compiled function answers `True` or `False` only
when CEL is certain to give that same boolean for the same inputs. Wherever CEL might raise,
or might decide differently from Python (missing keys, mixed types, NaN, ints beyond 64 bits,
non-UTC timestamps, anything not a bool where a bool is needed), it answers `UNSURE` and the
caller runs the real CEL program. The tree is read by CEL's whole grammar
(`monitor.engine.celsyntax`); source outside the subset compiles to None.

What was measured against `common-expression-language` 0.10 and shapes the rules below:

- `&&` and `||` are commutative with respect to errors (`m.missing == 1 && false` is false),
  but `exists` and `all` are not: `[{}, {"a": 1}].exists(m, m.a == 1)` raises, because the
  loop stops at the first error. So a comprehension over a list is decided only when every
  element before the deciding one gave a definite bool; over a map (whose iteration order
  is CEL's own) only when every key gave a definite bool.
- `size()` of a string counts UTF-8 bytes, not code points: decided only for ASCII strings.
- Ordering with a NaN operand raises; timestamps in a zone other than UTC may fail to convert.

The env is assumed to hold only values CEL can take, as the caller hands the same values to
CEL: a value CEL would refuse (say a string with a lone surrogate) makes CEL fail as soon as
its variable is added, even where the expression never reads it, which no fast path that
reads only what it needs can notice.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final, Protocol, assert_never, cast, final

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
    Parser,
    Rel,
    Select,
    tokenize,
)


@final
class _Unsure:
    """The answer "ask CEL". It has no truth value, so that a caller (or this module) that
    tests it with `if` instead of `is UNSURE` fails loudly rather than reading it as true."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNSURE"

    def __bool__(self) -> bool:
        raise TypeError("UNSURE has no truth value; compare it with `is UNSURE`")


UNSURE: Final = _Unsure()


class Unsupported(Exception):  # noqa: N818 - the name callers know it by
    """The source uses syntax outside the subset the fast path compiles."""


class View(Protocol):
    """A map whose fields are computed when read (treated exactly like a dict)."""

    def member(self, name: str) -> object:
        """The field's value, or UNSURE if the map has no such key."""
        ...

    def has(self, name: str) -> bool:
        """Whether the key exists."""
        ...


Env = Mapping[str, Any]
FastCondition = Callable[[Env], object]  # a compiled expression: env -> True | False | UNSURE
Frame = list[object]  # the values of the comprehension variables, one slot each
Eval = Callable[[Env, Frame], object]

_INT_MIN: Final = -(2**63)
_INT_MAX: Final = 2**63 - 1

# ---------------------------------------------------------------------------------------------
# Values: which Python values CEL is certain to treat as Python does.

_NOT_MAP, _MAPPING, _VIEW = 0, 1, 2
# What kind of map each type is, decided once per type (an isinstance check against an ABC
# or a protocol costs more than the rest of a typical evaluation).
_map_kinds: dict[type, int] = {dict: _MAPPING, list: _NOT_MAP, tuple: _NOT_MAP, str: _NOT_MAP}


def _map_kind(value: object) -> int:
    t = type(value)
    kind = _map_kinds.get(t)
    if kind is None:
        if isinstance(value, Mapping):
            kind = _MAPPING
        elif callable(getattr(t, "member", None)) and callable(getattr(t, "has", None)):
            kind = _VIEW
        else:
            kind = _NOT_MAP
        _map_kinds[t] = kind
    return kind


def _is_int(v: object) -> bool:
    # bool is a subclass of int in Python but a different type in CEL; ints beyond int64
    # become a uint or (beyond uint64) a double on conversion.
    return type(v) is int and _INT_MIN <= v <= _INT_MAX


def _is_timestamp(v: object) -> bool:
    # Only UTC is known to convert; naive datetimes do convert (as UTC) but Python would
    # compare them with aware ones differently.
    return type(v) is datetime and v.tzinfo is UTC


# Exact types whose equality CEL and Python agree on when both operands have that type.
_EQ_TYPES: Final = frozenset({str, bool, float, type(None)})


def _same_kind(a: object, b: object) -> bool:
    """Whether `a == b` means the same in CEL as in Python."""
    t = type(a)
    if t is not type(b):
        return False  # CEL's cross-type equality varies with its version: let CEL decide
    if t in _EQ_TYPES:
        return True
    if t is int:
        return _is_int(a) and _is_int(b)
    return t is datetime and _is_timestamp(a) and _is_timestamp(b)


def _orderable(a: object, b: object) -> bool:
    """Whether `a < b` (and friends) means the same in CEL as in Python."""
    t = type(a)
    if t is not type(b):
        return False
    if t is str:
        return True  # UTF-8 byte order is code point order, which is Python's
    if t is int:
        return _is_int(a) and _is_int(b)
    if t is float:
        return a == a and b == b  # ordering a NaN raises in CEL
    return t is datetime and _is_timestamp(a) and _is_timestamp(b)


def _select(obj: object, name: str) -> object:
    """`obj.name`: the value, or UNSURE where CEL raises (no such key, not a map)."""
    if type(obj) is dict:
        return obj.get(name, UNSURE)
    kind = _map_kind(obj)
    if kind == _MAPPING:
        return cast(Mapping[object, object], obj).get(name, UNSURE)
    if kind == _VIEW:
        return cast(View, obj).member(name)
    return UNSURE


def _has(obj: object, name: str) -> object:
    """`has(obj.name)`: whether a map has the key; UNSURE when `obj` is not a map."""
    if type(obj) is dict:
        return name in obj
    kind = _map_kind(obj)
    if kind == _MAPPING:
        return name in cast(Mapping[object, object], obj)
    if kind == _VIEW:
        return cast(View, obj).has(name) is True
    return UNSURE


def _index(obj: object, key: object) -> object:
    if isinstance(obj, list | tuple):
        if type(key) is int and 0 <= key < len(obj):
            return obj[key]
        return UNSURE  # out of range, or a key CEL may or may not coerce
    if type(key) is str:
        return _select(obj, key)
    return UNSURE


def _size(obj: object) -> object:
    if isinstance(obj, list | tuple):
        return len(obj)
    if type(obj) is str:
        # This CEL counts UTF-8 bytes where the CEL specification says code points; the two
        # agree on ASCII only.
        return len(obj) if obj.isascii() else UNSURE
    if _map_kind(obj) == _MAPPING:
        return len(cast(Mapping[object, object], obj))
    return UNSURE  # a View cannot count its keys without computing them


_IN_TYPES: Final = frozenset({str, int, bool, float, type(None)})


def _in(x: object, container: object) -> object:
    if isinstance(container, list | tuple):
        t = type(x)
        if t not in _IN_TYPES or (t is int and not _is_int(x)):
            return UNSURE
        found = False
        for e in container:
            if not _same_kind(x, e):
                return UNSURE  # a mixed list: let CEL decide
            # An explicit `==`: Python's `in` also matches by identity, so a NaN would be
            # found in a list holding that same NaN object, which CEL does not do.
            if e == x:
                found = True
        return found
    if type(x) is not str:
        return UNSURE
    if type(container) is dict:
        return x in container
    kind = _map_kind(container)
    if kind == _MAPPING:
        return x in cast(Mapping[object, object], container)
    if kind == _VIEW:
        return cast(View, container).has(x) is True
    return UNSURE


# ---------------------------------------------------------------------------------------------
# The subset. The tree is CEL's whole grammar (monitor.engine.celsyntax); the fast path takes
# only literals written plainly, and refuses the nodes it has no closure for.

# Escapes, raw/bytes/triple-quoted strings, uints, hex, exponents and leading zeros (which
# some languages read as octal) are left to CEL, and so are comments.
_PLAIN: Final = {
    "int": re.compile(r"0|[1-9][0-9]*"),
    "float": re.compile(r"(?:0|[1-9][0-9]*)\.[0-9]+"),
    "str": re.compile(r""""[^"\\\n\r]*"|'[^'\\\n\r]*'"""),
}
_SUBSET_OPS: Final = frozenset(
    {"==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "?", ":", "(", ")", "[", "]", ",", "."}
)


def _parse_subset(source: str) -> Node:
    """The tree of `source` if its text is within the subset; Unsupported otherwise."""
    try:
        tokens = tokenize(source)
    except CelSyntaxError as exc:
        raise Unsupported(str(exc)) from None
    for i, tok in enumerate(tokens):
        if tok.kind in ("ident", "end"):
            continue
        if tok.text == "-" and tok.kind == "op":
            # Only the sign of a number literal, as in `-1 < v`: the parser folds a pair of
            # minus signs away, and the subset has no negation.
            after = tokens[i + 2] if i + 2 < len(tokens) else tokens[-1]
            plain = tokens[i + 1].kind in ("int", "float") and after.text not in (".", "[")
        elif tok.kind == "op":
            plain = tok.text in _SUBSET_OPS
        else:
            pattern = _PLAIN.get(tok.kind)
            plain = pattern is not None and pattern.fullmatch(tok.text) is not None
        if not plain:
            raise Unsupported(f"unsupported text at {tok.pos}: {tok.text[:10]!r}")
    try:
        return Parser(tokens).parse()
    except CelSyntaxError as exc:
        raise Unsupported(str(exc)) from None


def _size_arg(node: Call) -> Node | None:
    """The argument of `size(x)` or `x.size()`."""
    if node.function != "size":
        return None
    if node.target is None:
        return node.args[0] if len(node.args) == 1 else None
    return node.target if not node.args else None


# ---------------------------------------------------------------------------------------------
# Compiling the tree to closures. Each closure takes the env and the frame of comprehension
# variables; every comprehension variable gets its own slot, so shadowing is resolved here
# once, and nothing needs restoring at run time.


class _Compiler:
    def __init__(self) -> None:
        self.slots = 0

    def compile(self, node: Node, scope: Mapping[str, int]) -> Eval:
        match node:
            case Lit(value):
                return lambda env, frame: value
            case Ident(name):
                if name in scope:
                    slot = scope[name]
                    return lambda env, frame: frame[slot]
                return lambda env, frame: env.get(name, UNSURE)  # undeclared: CEL raises
            case Select():
                return self.select(node, scope)
            case Index(obj, key):
                fo, fk = self.compile(obj, scope), self.compile(key, scope)
                return lambda env, frame: _index(fo(env, frame), fk(env, frame))
            case Has(obj, field):
                fo = self.compile(obj, scope)
                return lambda env, frame: _has(fo(env, frame), field)
            case Call():
                arg = _size_arg(node)
                if arg is None:
                    raise Unsupported(f"unsupported function {node.function!r}")
                fa = self.compile(arg, scope)
                return lambda env, frame: _size(fa(env, frame))
            case ListExpr(items):
                return self.list(items, scope)
            case Not(arg):
                return _not(self.compile(arg, scope))
            case Logic(conj, args):
                return _logic(conj, [self.compile(a, scope) for a in args])
            case Cond(test, then, orelse):
                return _cond(
                    self.compile(test, scope), self.compile(then, scope), self.compile(orelse, scope)
                )
            case Rel():
                return self.rel(node, scope)
            case Macro(name, target, var, body) if name in ("all", "exists"):
                slot = self.slots
                self.slots += 1
                inner = {**scope, var: slot}
                return _comprehension(
                    name == "all", self.compile(target, scope), slot, self.compile(body[0], inner)
                )
            case Macro() | MapExpr() | Neg() | Arith():
                raise Unsupported(f"unsupported syntax at {node.pos}")
            case _:
                assert_never(node)

    def select(self, node: Select, scope: Mapping[str, int]) -> Eval:
        # A chain like `case.attributes.procedure` becomes one closure walking the names.
        names: list[str] = []
        base: Node = node
        while isinstance(base, Select):
            names.append(base.field)
            base = base.obj
        path = tuple(reversed(names))
        fb = self.compile(base, scope)
        if len(path) == 1:
            name = path[0]

            def run1(env: Env, frame: Frame) -> object:
                v = fb(env, frame)
                return v.get(name, UNSURE) if type(v) is dict else _select(v, name)

            return run1

        def run(env: Env, frame: Frame) -> object:
            v = fb(env, frame)
            for name in path:
                v = v.get(name, UNSURE) if type(v) is dict else _select(v, name)
            return v

        return run

    def list(self, items: tuple[Node, ...], scope: Mapping[str, int]) -> Eval:
        if all(isinstance(i, Lit) for i in items):
            const = tuple(cast(Lit, i).value for i in items)
            return lambda env, frame: const
        fs = [self.compile(i, scope) for i in items]

        def run(env: Env, frame: Frame) -> object:
            values = [f(env, frame) for f in fs]
            # CEL raises while building the list, even if nothing reads the element after.
            return UNSURE if any(v is UNSURE for v in values) else values

        return run

    def rel(self, node: Rel, scope: Mapping[str, int]) -> Eval:
        left, right = node.left, node.right
        fl, fr = self.compile(left, scope), self.compile(right, scope)
        if node.op == "in":
            if isinstance(right, ListExpr) and right.items and all(_is_str_lit(i) for i in right.items):
                return _in_strings(fl, frozenset(cast(str, cast(Lit, i).value) for i in right.items))
            return lambda env, frame: _in(fl(env, frame), fr(env, frame))
        op = _OPS[node.op]
        same = _same_kind if node.op in ("==", "!=") else _orderable
        # Comparing with a literal (the common case) needs only one operand checked and read.
        ordering = node.op not in ("==", "!=")
        if isinstance(right, Lit) and same(right.value, right.value):
            return _with_const(fl, right.value, op, ordering)
        if isinstance(left, Lit) and same(left.value, left.value):
            return _with_const(fr, left.value, _SWAPPED[node.op], ordering)

        def run(env: Env, frame: Frame) -> object:
            a, b = fl(env, frame), fr(env, frame)
            return op(a, b) if same(a, b) else UNSURE

        return run


def _is_str_lit(node: Node) -> bool:
    return isinstance(node, Lit) and type(node.value) is str


_Op = Callable[[Any, Any], bool]
_OPS: Final[dict[str, _Op]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
# `c op x` as `x op' c`, for a literal on the left.
_SWAPPED: Final[dict[str, _Op]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.gt,
    "<=": operator.ge,
    ">": operator.lt,
    ">=": operator.le,
}


def _with_const(f: Eval, const: object, op: _Op, ordering: bool) -> Eval:
    """`x op const` for a literal `const` that the operator takes: the same checks as
    `_same_kind` and `_orderable`, on one operand only."""
    t = type(const)
    if t is int:

        def run_int(env: Env, frame: Frame) -> object:
            v = f(env, frame)
            return op(v, const) if type(v) is int and _INT_MIN <= v <= _INT_MAX else UNSURE

        return run_int
    if t is float and ordering:

        def run_float(env: Env, frame: Frame) -> object:
            v = f(env, frame)
            return op(v, const) if type(v) is float and v == v else UNSURE

        return run_float

    def run(env: Env, frame: Frame) -> object:  # str, bool, null; float for equality
        v = f(env, frame)
        return op(v, const) if type(v) is t else UNSURE

    return run


def _in_strings(f: Eval, values: frozenset[str]) -> Eval:
    def run(env: Env, frame: Frame) -> object:
        v = f(env, frame)
        return v in values if type(v) is str else UNSURE

    return run


def _not(f: Eval) -> Eval:
    def run(env: Env, frame: Frame) -> object:
        v = f(env, frame)
        return False if v is True else True if v is False else UNSURE

    return run


def _logic(conj: bool, fs: Sequence[Eval]) -> Eval:
    # CEL's && and || ignore an error (or a non-bool) on one side when the other side decides:
    # `a && b` is false if either side is false, true if both are true, and an error otherwise.
    # A chain is a left fold of these, which comes to the same over all operands.
    decisive, other = (False, True) if conj else (True, False)
    if len(fs) == 2:
        f, g = fs

        def run2(env: Env, frame: Frame) -> object:
            a = f(env, frame)
            if a is decisive:
                return decisive
            b = g(env, frame)
            if b is decisive:
                return decisive
            return other if a is other and b is other else UNSURE

        return run2

    def run(env: Env, frame: Frame) -> object:
        unsure = False
        for f in fs:
            v = f(env, frame)
            if v is decisive:
                return decisive
            if v is not other:
                unsure = True
        return UNSURE if unsure else other

    return run


def _cond(test: Eval, then: Eval, orelse: Eval) -> Eval:
    def run(env: Env, frame: Frame) -> object:
        t = test(env, frame)
        if t is True:
            return then(env, frame)
        if t is False:
            return orelse(env, frame)
        return UNSURE

    return run


def _comprehension(all_: bool, target: Eval, slot: int, pred: Eval) -> Eval:
    # `exists` stops at the first true, `all` at the first false (decisive); each also stops
    # at the first error, so only definite bools may come before the deciding element.
    decisive, other = (False, True) if all_ else (True, False)

    def run(env: Env, frame: Frame) -> object:
        items = target(env, frame)
        if isinstance(items, list | tuple):
            for item in items:
                frame[slot] = item
                v = pred(env, frame)
                if v is decisive:
                    return decisive
                if v is not other:
                    return UNSURE
            return other
        if _map_kind(items) != _MAPPING:
            return UNSURE  # not iterable in CEL, or a View that cannot list its keys
        # Over a map CEL walks the keys in its own order, so any doubtful key leaves the
        # answer open, whatever the other keys give.
        found = False
        for key in cast(Mapping[object, object], items):
            frame[slot] = key
            v = pred(env, frame)
            if v is decisive:
                found = True
            elif v is not other:
                return UNSURE
        return decisive if found else other

    return run


_NO_FRAME: Final[Frame] = []


def _compile(source: str) -> FastCondition:
    compiler = _Compiler()
    root = compiler.compile(_parse_subset(source), {})
    slots = compiler.slots

    def run(env: Env) -> object:
        # Without comprehensions nothing writes to the frame, so one empty list serves.
        v = root(env, [None] * slots if slots else _NO_FRAME)
        return v if v is True or v is False else UNSURE

    return run


def compile_fast(source: str) -> FastCondition | None:
    """A function of the env giving True, False or UNSURE; None when `source` uses syntax
    outside the subset."""
    try:
        return _compile(source)
    except Unsupported:
        return None


# ---------------------------------------------------------------------------------------------
# Which conditions the shape of a case decides (monitor.engine.screen).

# The fields of `case` that follow from its item, department, attributes and steps (kinds,
# actors, attributes), never from its times or its number (monitor.engine.context).
_SHAPED_CASE_FIELDS: Final = frozenset(
    {"item_code", "department", "attributes", "listed", "item", "counts", "fee_charged", "closed"}
)
_SHAPED_STEP_FIELDS: Final = frozenset({"kind", "actors", "attributes"})  # not `at`


def timeless(source: str) -> bool:
    """Whether the value of `source` follows from a case's shape alone: its item, department
    and attributes, and its steps in order with their kinds, actors and attributes — not the
    steps' times, `now`, `case.first` or the case number. Two cases of one shape then get the
    same answer, and the screen asks once. Conservative: anything the check does not
    understand (syntax outside the fast path's subset, a whole `case` or step map) is not."""
    try:
        node = _parse_subset(source)
    except Unsupported:
        return False
    return _shaped(node, frozenset(), frozenset(), False)


def orderly(source: str) -> bool:
    """Whether `source` follows from a case's shape and the order of its steps' times: as
    `timeless`, but steps' times (`e.at`, `case.first.k`) may be compared with each other.
    Steps come sorted by time, so such comparisons follow from which neighbours share a time."""
    try:
        node = _parse_subset(source)
    except Unsupported:
        return False
    return _shaped(node, frozenset(), frozenset(), True)


def _is_time(node: Node, bound: frozenset[str], steps: frozenset[str]) -> bool:
    """Whether `node` is a step's time: `e.at` of a step map, or `case.first.k`."""
    if not isinstance(node, Select):
        return False
    if node.field == "at" and _is_step(node.obj, bound, steps):
        return True
    first = node.obj
    return (
        isinstance(first, Select)
        and first.field == "first"
        and isinstance(first.obj, Ident)
        and first.obj.name == "case"
        and "case" not in bound
    )


def _is_step(node: Node, bound: frozenset[str], steps: frozenset[str]) -> bool:
    """Whether `node` is one step's map: `event`, a variable over `events`, `events[i]`."""
    if isinstance(node, Ident):
        return node.name in steps if node.name in bound else node.name == "event"
    if isinstance(node, Index) and isinstance(node.obj, Ident):
        return (
            node.obj.name == "events"
            and node.obj.name not in bound
            and _shaped(node.key, bound, steps, False)
        )
    return False


def _shaped(node: Node, bound: frozenset[str], steps: frozenset[str], relative: bool) -> bool:
    match node:
        case Lit():
            return True
        case Ident(name):
            if name in bound:
                return name not in steps  # a whole step map holds its time
            return name == "params"
        case Select(obj, field) | Has(obj, field):
            if isinstance(obj, Ident) and obj.name == "case" and "case" not in bound:
                return field in _SHAPED_CASE_FIELDS
            if _is_step(obj, bound, steps):
                return field in _SHAPED_STEP_FIELDS
            return _shaped(obj, bound, steps, relative)
        case Index(obj, key):
            return _shaped(obj, bound, steps, relative) and _shaped(key, bound, steps, relative)
        case Call():
            arg = _size_arg(node)
            if arg is None:
                return False  # a function the fast path does not know
            if isinstance(arg, Ident) and arg.name == "events" and "events" not in bound:
                return True  # how many steps
            return _shaped(arg, bound, steps, relative)
        case Macro(name, target, var, body) if name in ("all", "exists"):
            inner = bound | {var}
            if isinstance(target, Ident) and target.name == "events" and "events" not in bound:
                return _shaped(body[0], inner, steps | {var}, relative)
            return _shaped(target, bound, steps, relative) and _shaped(
                body[0], inner, steps - {var}, relative
            )
        case ListExpr(items):
            return all(_shaped(i, bound, steps, relative) for i in items)
        case Not(arg):
            return _shaped(arg, bound, steps, relative)
        case Logic(_, args):
            return all(_shaped(a, bound, steps, relative) for a in args)
        case Cond(test, then, orelse):
            return all(_shaped(n, bound, steps, relative) for n in (test, then, orelse))
        case Rel(op, left, right):
            if relative and op != "in" and _is_time(left, bound, steps) and _is_time(right, bound, steps):
                return True  # two steps' times: their order
            return _shaped(left, bound, steps, relative) and _shaped(right, bound, steps, relative)
    return False  # outside the subset: the other macros, maps, arithmetic, negation
