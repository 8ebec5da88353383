"""A fast path in front of CEL: a subset of CEL compiled to Python closures.

Handing a value to the CEL engine converts it element by element, which costs far more than
evaluating a typical rule condition. `compile_fast` turns a condition written in a small
subset of CEL into nested closures that read the Python values directly (a microsecond or
a few).

The contract is exactness by construction: a compiled function answers `True` or `False` only
when CEL is certain to give that same boolean for the same inputs. Wherever CEL might raise,
or might decide differently from Python (missing keys, mixed types, NaN, ints beyond 64 bits,
non-UTC timestamps, anything not a bool where a bool is needed), it answers `UNSURE` and the
caller runs the real CEL program. Source outside the subset compiles to None.

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
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, NoReturn, Protocol, assert_never, cast, final


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
# Syntax tree.


@dataclass(frozen=True, slots=True)
class _Lit:
    # `Any`, not `object`: a dataclass compiled by mypyc looks its field types up among the
    # module's names, where the builtin `object` is not (the import fails with KeyError).
    value: Any


@dataclass(frozen=True, slots=True)
class _Ident:
    name: str


@dataclass(frozen=True, slots=True)
class _Select:
    obj: _Node
    field: str


@dataclass(frozen=True, slots=True)
class _Index:
    obj: _Node
    key: _Node


@dataclass(frozen=True, slots=True)
class _Has:
    obj: _Node
    field: str


@dataclass(frozen=True, slots=True)
class _Size:
    arg: _Node


@dataclass(frozen=True, slots=True)
class _Comprehension:
    is_all: bool  # `all` if true, else `exists`
    target: _Node
    var: str
    pred: _Node


@dataclass(frozen=True, slots=True)
class _List:
    items: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Not:
    arg: _Node


@dataclass(frozen=True, slots=True)
class _Logic:
    conj: bool  # `&&` if true, else `||`
    args: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Cond:
    test: _Node
    then: _Node
    orelse: _Node


@dataclass(frozen=True, slots=True)
class _Rel:
    op: str
    left: _Node
    right: _Node


_Node = (
    _Lit | _Ident | _Select | _Index | _Has | _Size | _Comprehension | _List | _Not | _Logic | _Cond | _Rel
)

# ---------------------------------------------------------------------------------------------
# Tokens and parser.

_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\n\r\f]+)
  | (?P<float>[0-9]+\.[0-9]+)
  | (?P<int>[0-9]+)
  | (?P<str>"[^"\\\n\r]*"|'[^'\\\n\r]*')
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|&&|\|\||[<>!?:()\[\],.\-])
    """,
    re.VERBOSE,
)
_KEYWORDS: Final = frozenset({"true", "false", "null", "in"})
# CEL refuses these as identifiers (and this module as field names too, to keep it simple).
_RESERVED: Final = _KEYWORDS | frozenset(
    {"as", "break", "const", "continue", "else", "for", "function", "if", "import", "let", "loop"}
    | {"package", "namespace", "return", "var", "void", "while"}
)
_RELOPS: Final = frozenset({"==", "!=", "<", "<=", ">", ">=", "in"})


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # ws is dropped; "float", "int", "str", "ident", "op" or "end"
    text: str
    pos: int


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(source):
        m = _TOKEN.match(source, pos)
        if m is None:
            # Escapes, raw/bytes/triple-quoted strings, comments, arithmetic, map literals...
            raise Unsupported(f"unsupported text at {pos}: {source[pos : pos + 10]!r}")
        kind = cast(str, m.lastgroup)
        # Other CEL literal forms (1u, 1e3, 0x1F, r"a", b"a", """a""") scan as two tokens side
        # by side, which the grammar never accepts. Leading zeros are refused: some languages
        # read them as octal, and nobody needs them.
        if kind in ("int", "float") and re.match(r"0[0-9]", m[0]):
            raise Unsupported(f"unsupported number at {pos}")
        if kind != "ws":
            tokens.append(_Token(kind, m[0], pos))
        pos = m.end()
    tokens.append(_Token("end", "", pos))
    return tokens


class _Parser:
    """Recursive descent over CEL's precedence: ?: below ||, below &&, below relations."""

    def __init__(self, source: str) -> None:
        self.tokens = _tokenize(source)
        self.i = 0

    def parse(self) -> _Node:
        node = self.expr()
        if self.peek().kind != "end":
            self.fail()
        return node

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def fail(self) -> NoReturn:
        tok = self.peek()
        raise Unsupported(f"unexpected {tok.text or 'end'!r} at {tok.pos}")

    def accept(self, text: str) -> bool:
        tok = self.peek()
        if tok.kind in ("op", "ident") and tok.text == text:
            self.i += 1
            return True
        return False

    def expect(self, text: str) -> None:
        if not self.accept(text):
            self.fail()

    def name(self) -> str:
        """An identifier that CEL allows as a variable or field name."""
        tok = self.peek()
        if tok.kind != "ident" or tok.text in _RESERVED:
            self.fail()
        self.i += 1
        return tok.text

    def expr(self) -> _Node:
        test = self.logic(conj=False)
        if self.accept("?"):
            then = self.logic(conj=False)  # CEL's grammar: the middle is not a full expression
            self.expect(":")
            return _Cond(test, then, self.expr())
        return test

    def logic(self, conj: bool) -> _Node:
        op, sub = ("&&", self.rel) if conj else ("||", lambda: self.logic(conj=True))
        args = [sub()]
        while self.accept(op):
            args.append(sub())
        return args[0] if len(args) == 1 else _Logic(conj, tuple(args))

    def rel(self) -> _Node:
        node = self.unary()
        while self.peek().text in _RELOPS and self.peek().kind in ("op", "ident"):
            op = self.peek().text
            self.i += 1
            node = _Rel(op, node, self.unary())
        return node

    def unary(self) -> _Node:
        if self.accept("!"):
            return _Not(self.unary())
        if self.accept("-"):
            tok = self.peek()
            if tok.kind == "int":
                self.i += 1
                return _Lit(self.int_literal(tok, negative=True))
            if tok.kind == "float":
                self.i += 1
                return _Lit(-float(tok.text))
            self.fail()  # negating anything but a number literal
        return self.member()

    @staticmethod
    def int_literal(tok: _Token, negative: bool) -> int:
        value = -int(tok.text) if negative else int(tok.text)
        if not _INT_MIN <= value <= _INT_MAX:
            raise Unsupported(f"int literal out of range at {tok.pos}")
        return value

    def member(self) -> _Node:
        node = self.primary()
        while True:
            if self.accept("."):
                field = self.name()
                node = self.method(node, field) if self.accept("(") else _Select(node, field)
            elif self.accept("["):
                key = self.expr()
                self.expect("]")
                node = _Index(node, key)
            else:
                return node

    def method(self, target: _Node, name: str) -> _Node:
        if name == "size":
            self.expect(")")
            return _Size(target)
        if name in ("exists", "all"):
            var = self.name()
            self.expect(",")
            pred = self.expr()
            self.expect(")")
            return _Comprehension(name == "all", target, var, pred)
        raise Unsupported(f"unsupported method {name!r}")

    def primary(self) -> _Node:
        tok = self.peek()
        self.i += 1
        if tok.kind == "int":
            return _Lit(self.int_literal(tok, negative=False))
        if tok.kind == "float":
            return _Lit(float(tok.text))
        if tok.kind == "str":
            return _Lit(tok.text[1:-1])
        if tok.kind == "ident":
            literals: dict[str, object] = {"true": True, "false": False, "null": None}
            if tok.text in literals:
                return _Lit(literals[tok.text])
            if tok.text in _RESERVED:
                self.i -= 1
                self.fail()
            if self.accept("("):
                return self.function(tok.text)
            return _Ident(tok.text)
        if tok.text == "(":
            node = self.expr()
            self.expect(")")
            return node
        if tok.text == "[":
            items: list[_Node] = []
            while not self.accept("]"):
                items.append(self.expr())
                if not self.accept(","):
                    self.expect("]")
                    break
            return _List(tuple(items))
        self.i -= 1
        self.fail()

    def function(self, name: str) -> _Node:
        if name not in ("has", "size"):
            raise Unsupported(f"unsupported function {name!r}")
        arg = self.expr()
        self.expect(")")
        if name == "size":
            return _Size(arg)
        if not isinstance(arg, _Select):
            raise Unsupported("has() takes a field selection")
        return _Has(arg.obj, arg.field)


# ---------------------------------------------------------------------------------------------
# Compiling the tree to closures. Each closure takes the env and the frame of comprehension
# variables; every comprehension variable gets its own slot, so shadowing is resolved here
# once, and nothing needs restoring at run time.


class _Compiler:
    def __init__(self) -> None:
        self.slots = 0

    def compile(self, node: _Node, scope: Mapping[str, int]) -> Eval:
        match node:
            case _Lit(value):
                return lambda env, frame: value
            case _Ident(name):
                if name in scope:
                    slot = scope[name]
                    return lambda env, frame: frame[slot]
                return lambda env, frame: env.get(name, UNSURE)  # undeclared: CEL raises
            case _Select():
                return self.select(node, scope)
            case _Index(obj, key):
                fo, fk = self.compile(obj, scope), self.compile(key, scope)
                return lambda env, frame: _index(fo(env, frame), fk(env, frame))
            case _Has(obj, field):
                fo = self.compile(obj, scope)
                return lambda env, frame: _has(fo(env, frame), field)
            case _Size(arg):
                fa = self.compile(arg, scope)
                return lambda env, frame: _size(fa(env, frame))
            case _List(items):
                return self.list(items, scope)
            case _Not(arg):
                return _not(self.compile(arg, scope))
            case _Logic(conj, args):
                return _logic(conj, [self.compile(a, scope) for a in args])
            case _Cond(test, then, orelse):
                return _cond(
                    self.compile(test, scope), self.compile(then, scope), self.compile(orelse, scope)
                )
            case _Rel():
                return self.rel(node, scope)
            case _Comprehension(all_, target, var, pred):
                slot = self.slots
                self.slots += 1
                inner = {**scope, var: slot}
                return _comprehension(all_, self.compile(target, scope), slot, self.compile(pred, inner))
            case _:
                assert_never(node)

    def select(self, node: _Select, scope: Mapping[str, int]) -> Eval:
        # A chain like `case.attributes.procedure` becomes one closure walking the names.
        names: list[str] = []
        base: _Node = node
        while isinstance(base, _Select):
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

    def list(self, items: tuple[_Node, ...], scope: Mapping[str, int]) -> Eval:
        if all(isinstance(i, _Lit) for i in items):
            const = tuple(cast(_Lit, i).value for i in items)
            return lambda env, frame: const
        fs = [self.compile(i, scope) for i in items]

        def run(env: Env, frame: Frame) -> object:
            values = [f(env, frame) for f in fs]
            # CEL raises while building the list, even if nothing reads the element after.
            return UNSURE if any(v is UNSURE for v in values) else values

        return run

    def rel(self, node: _Rel, scope: Mapping[str, int]) -> Eval:
        left, right = node.left, node.right
        fl, fr = self.compile(left, scope), self.compile(right, scope)
        if node.op == "in":
            if isinstance(right, _List) and right.items and all(_is_str_lit(i) for i in right.items):
                return _in_strings(fl, frozenset(cast(str, cast(_Lit, i).value) for i in right.items))
            return lambda env, frame: _in(fl(env, frame), fr(env, frame))
        op = _OPS[node.op]
        same = _same_kind if node.op in ("==", "!=") else _orderable
        # Comparing with a literal (the common case) needs only one operand checked and read.
        ordering = node.op not in ("==", "!=")
        if isinstance(right, _Lit) and same(right.value, right.value):
            return _with_const(fl, right.value, op, ordering)
        if isinstance(left, _Lit) and same(left.value, left.value):
            return _with_const(fr, left.value, _SWAPPED[node.op], ordering)

        def run(env: Env, frame: Frame) -> object:
            a, b = fl(env, frame), fr(env, frame)
            return op(a, b) if same(a, b) else UNSURE

        return run


def _is_str_lit(node: _Node) -> bool:
    return isinstance(node, _Lit) and type(node.value) is str


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
    root = compiler.compile(_Parser(source).parse(), {})
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
        node = _Parser(source).parse()
    except Unsupported:
        return False
    return _shaped(node, frozenset(), frozenset(), False)


def orderly(source: str) -> bool:
    """Whether `source` follows from a case's shape and the order of its steps' times: as
    `timeless`, but steps' times (`e.at`, `case.first.k`) may be compared with each other.
    Steps come sorted by time, so such comparisons follow from which neighbours share a time."""
    try:
        node = _Parser(source).parse()
    except Unsupported:
        return False
    return _shaped(node, frozenset(), frozenset(), True)


def _is_time(node: _Node, bound: frozenset[str], steps: frozenset[str]) -> bool:
    """Whether `node` is a step's time: `e.at` of a step map, or `case.first.k`."""
    if not isinstance(node, _Select):
        return False
    if node.field == "at" and _is_step(node.obj, bound, steps):
        return True
    first = node.obj
    return (
        isinstance(first, _Select)
        and first.field == "first"
        and isinstance(first.obj, _Ident)
        and first.obj.name == "case"
        and "case" not in bound
    )


def _is_step(node: _Node, bound: frozenset[str], steps: frozenset[str]) -> bool:
    """Whether `node` is one step's map: `event`, a variable over `events`, `events[i]`."""
    if isinstance(node, _Ident):
        return node.name in steps if node.name in bound else node.name == "event"
    if isinstance(node, _Index) and isinstance(node.obj, _Ident):
        return (
            node.obj.name == "events"
            and node.obj.name not in bound
            and _shaped(node.key, bound, steps, False)
        )
    return False


def _shaped(node: _Node, bound: frozenset[str], steps: frozenset[str], relative: bool) -> bool:
    match node:
        case _Lit():
            return True
        case _Ident(name):
            if name in bound:
                return name not in steps  # a whole step map holds its time
            return name == "params"
        case _Select(obj, field) | _Has(obj, field):
            if isinstance(obj, _Ident) and obj.name == "case" and "case" not in bound:
                return field in _SHAPED_CASE_FIELDS
            if _is_step(obj, bound, steps):
                return field in _SHAPED_STEP_FIELDS
            return _shaped(obj, bound, steps, relative)
        case _Index(obj, key):
            return _shaped(obj, bound, steps, relative) and _shaped(key, bound, steps, relative)
        case _Size(arg):
            if isinstance(arg, _Ident) and arg.name == "events" and "events" not in bound:
                return True  # how many steps
            return _shaped(arg, bound, steps, relative)
        case _Comprehension(_, target, var, pred):
            inner = bound | {var}
            if isinstance(target, _Ident) and target.name == "events" and "events" not in bound:
                return _shaped(pred, inner, steps | {var}, relative)
            return _shaped(target, bound, steps, relative) and _shaped(pred, inner, steps - {var}, relative)
        case _List(items):
            return all(_shaped(i, bound, steps, relative) for i in items)
        case _Not(arg):
            return _shaped(arg, bound, steps, relative)
        case _Logic(_, args):
            return all(_shaped(a, bound, steps, relative) for a in args)
        case _Cond(test, then, orelse):
            return all(_shaped(n, bound, steps, relative) for n in (test, then, orelse))
        case _Rel(op, left, right):
            if relative and op != "in" and _is_time(left, bound, steps) and _is_time(right, bound, steps):
                return True  # two steps' times: their order
            return _shaped(left, bound, steps, relative) and _shaped(right, bound, steps, relative)
    return False  # pragma: no cover - every node kind is matched above
