"""A fast path in front of CEL: a subset of CEL compiled to Python closures.

Handing a value to the CEL engine converts it element by element, which costs far more than
evaluating a typical rule condition. `compile_fast` turns a condition written in a small
subset of CEL into nested closures that read the Python values directly (a microsecond or
a few).

The contract is exactness by construction: a compiled function answers `True` or `False` only
when CEL is certain to give that same boolean for the same inputs. Wherever CEL might raise,
or might decide differently from Python (missing keys, mixed types, NaN, ints beyond 64 bits,
non-UTC timestamps, anything not a bool where a bool is needed), it answers `UNSURE` and the
caller runs the real CEL program. The tree is the one every reader of the source shares
(`monitor.engine.celsyntax.tree`, CEL's whole grammar); source outside the subset compiles
to None. The values and CEL's operations on them are in `monitor.engine.fastvalues`; which
conditions the shape of a case decides, in `monitor.engine.timefree`.

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
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, assert_never, cast

from monitor.engine.celnodes import (
    Arith,
    Call,
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
    size_arg,
)
from monitor.engine.celsyntax import Tree, tree
from monitor.engine.celtokens import INT_MAX, INT_MIN
from monitor.engine.fastvalues import (
    MAPPING,
    UNSURE,
    Env,
    Eval,
    FastCondition,
    Frame,
    Unsupported,
    View,
    contains,
    get_field,
    get_index,
    has_field,
    map_kind,
    orderable,
    same_kind,
    size_of,
)
from monitor.engine.timefree import timeless

# What other modules import from here.
__all__ = ["UNSURE", "FastCondition", "Unsupported", "View", "compile_fast", "timeless"]

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
                return lambda env, frame: get_index(fo(env, frame), fk(env, frame))
            case Has(obj, field):
                fo = self.compile(obj, scope)
                return lambda env, frame: has_field(fo(env, frame), field)
            case Call():
                arg = size_arg(node)
                if arg is None:
                    raise Unsupported(f"unsupported function {node.function!r}")
                fa = self.compile(arg, scope)
                return lambda env, frame: size_of(fa(env, frame))
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
                return v.get(name, UNSURE) if type(v) is dict else get_field(v, name)

            return run1

        def run(env: Env, frame: Frame) -> object:
            v = fb(env, frame)
            for name in path:
                v = v.get(name, UNSURE) if type(v) is dict else get_field(v, name)
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
            return lambda env, frame: contains(fl(env, frame), fr(env, frame))
        op = _OPS[node.op]
        same = same_kind if node.op in ("==", "!=") else orderable
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
    `same_kind` and `orderable`, on one operand only."""
    t = type(const)
    if t is int:

        def run_int(env: Env, frame: Frame) -> object:
            v = f(env, frame)
            return op(v, const) if type(v) is int and INT_MIN <= v <= INT_MAX else UNSURE

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
        if map_kind(items) != MAPPING:
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


def _compile(parsed: Tree) -> FastCondition:
    if parsed.node is None or not parsed.plain:
        raise Unsupported("outside the subset's spelling")
    compiler = _Compiler()
    root = compiler.compile(parsed.node, {})
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
        return _compile(tree(source))
    except Unsupported:
        return None
