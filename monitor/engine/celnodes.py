"""The nodes of a CEL syntax tree (`monitor.engine.celsyntax` builds them), and the walks
every reader of a tree shares: the names it reads, the names its comprehensions bind."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Final

# `pos` is where the node's text starts in the source (0-based), for messages.


@dataclass(frozen=True, slots=True)
class Lit:
    # `Any`, not `object`: a dataclass compiled by mypyc looks its field types up among the
    # module's names, where the builtin `object` is not.
    value: Any  # int, float, str, bytes, bool or None
    kind: str  # "int", "uint", "double", "string", "bytes", "bool" or "null"
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Ident:
    name: str
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Select:
    obj: Node
    field: str
    pos: int = dataclasses.field(default=0, compare=False)  # of the field's name


@dataclass(frozen=True, slots=True)
class Index:
    obj: Node
    key: Node
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Has:
    """The `has(obj.field)` macro."""

    obj: Node
    field: str
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Call:
    """A function `f(args)` (target None) or a method `target.f(args)`."""

    function: str
    args: tuple[Node, ...]
    target: Node | None = None
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Macro:
    """A comprehension: `target.all(var, body)`, also `exists`, `exists_one`, `filter` and
    `map` (whose body is `(transform,)` or `(filter, transform)`)."""

    name: str
    target: Node
    var: str
    body: tuple[Node, ...]
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class ListExpr:
    items: tuple[Node, ...]
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class MapExpr:
    entries: tuple[tuple[Node, Node], ...]
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Not:
    arg: Node
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Neg:
    arg: Node
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Logic:
    """`a && b && …` (conj) or `a || b || …`, flattened: CEL's result does not depend on the
    grouping."""

    conj: bool
    args: tuple[Node, ...]
    pos: int = dataclasses.field(default=0, compare=False)
    # Where each `&&` (or `||`) between the arguments stands, so that the text of each
    # argument can be cut out of the source.
    ops: tuple[int, ...] = dataclasses.field(default=(), compare=False)


@dataclass(frozen=True, slots=True)
class Cond:
    test: Node
    then: Node
    orelse: Node
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Rel:
    op: str  # == != < <= > >= in
    left: Node
    right: Node
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Arith:
    op: str  # + - * / %
    left: Node
    right: Node
    pos: int = dataclasses.field(default=0, compare=False)


Node = (
    Lit
    | Ident
    | Select
    | Index
    | Has
    | Call
    | Macro
    | ListExpr
    | MapExpr
    | Not
    | Neg
    | Logic
    | Cond
    | Rel
    | Arith
)

MACROS: Final = frozenset({"all", "exists", "exists_one", "filter", "map"})

# ---------------------------------------------------------------------------------------------
# Walks.


def children(node: Node) -> tuple[Node, ...]:
    """The nodes directly under `node`, in the order they are written."""
    match node:
        case Lit() | Ident():
            return ()
        case Select(obj) | Has(obj):
            return (obj,)
        case Index(obj, key):
            return (obj, key)
        case Call(_, args, target):
            return args if target is None else (target, *args)
        case Macro(_, target, _, body):
            return (target, *body)
        case ListExpr(items):
            return items
        case MapExpr(entries):
            return tuple(n for entry in entries for n in entry)
        case Not(arg) | Neg(arg):
            return (arg,)
        case Logic(_, args):
            return args
        case Cond(test, then, orelse):
            return (test, then, orelse)
        case Rel(_, left, right) | Arith(_, left, right):
            return (left, right)
    return ()  # pragma: no cover - every node kind is matched above


def free_names(node: Node, bound: frozenset[str] = frozenset()) -> frozenset[str]:
    """The variables `node` reads: its names, but a comprehension's own variable in its body."""
    if isinstance(node, Ident):
        return frozenset() if node.name in bound else frozenset({node.name})
    if isinstance(node, Macro):
        inner = bound | {node.var}
        names = free_names(node.target, bound)
        for part in node.body:
            names |= free_names(part, inner)
        return names
    out: frozenset[str] = frozenset()
    for child in children(node):
        out |= free_names(child, bound)
    return out


def bound_names(node: Node) -> frozenset[str]:
    """The variables the comprehensions in `node` bind."""
    own = frozenset({node.var}) if isinstance(node, Macro) else frozenset()
    for child in children(node):
        own |= bound_names(child)
    return own


def size_arg(node: Call) -> Node | None:
    """The argument of `size(x)` or `x.size()`; None for any other call."""
    if node.function != "size":
        return None
    if node.target is None:
        return node.args[0] if len(node.args) == 1 else None
    return node.target if not node.args else None


def is_path(node: Node, *names: str) -> bool:
    """Whether `node` is the chain of fields `names[0].names[1]…` from a variable."""
    for name in reversed(names[1:]):
        if not isinstance(node, Select) or node.field != name:
            return False
        node = node.obj
    return isinstance(node, Ident) and node.name == names[0]
