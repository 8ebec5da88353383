"""Which conditions the shape of a case decides (monitor.engine.screen), read off the tree
the fast path compiles (`monitor.engine.celsyntax.tree`).

Which fields of `case` and of a step follow from the shape is said by the fields themselves
(`monitor.engine.casefields`): a field added there with `reads_time` makes every condition
that reads it timed, with nothing else to keep in step.
"""

from __future__ import annotations

from monitor.engine.casefields import CASE_FIELDS, STEP_READS_TIME
from monitor.engine.celnodes import (
    Call,
    Cond,
    Has,
    Ident,
    Index,
    ListExpr,
    Lit,
    Logic,
    Macro,
    Node,
    Not,
    Rel,
    Select,
    size_arg,
)
from monitor.engine.celsyntax import tree


def _subset(source: str) -> Node | None:
    """The tree of `source` when it is within the fast path's subset of spelling."""
    parsed = tree(source)
    return parsed.node if parsed.plain else None


def timeless(source: str) -> bool:
    """Whether the value of `source` follows from a case's shape alone: its item, department
    and attributes, and its steps in order with their kinds, actors and attributes — not the
    steps' times, `now`, `case.first` or the case number. Two cases of one shape then get the
    same answer, and the screen asks once. Conservative: anything the check does not
    understand (syntax outside the fast path's subset, a whole `case` or step map) is not."""
    node = _subset(source)
    return node is not None and _shaped(node, frozenset(), frozenset())


def _is_step(node: Node, bound: frozenset[str], steps: frozenset[str]) -> bool:
    """Whether `node` is one step's map: `event`, a variable over `events`, `events[i]`."""
    if isinstance(node, Ident):
        return node.name in steps if node.name in bound else node.name == "event"
    if isinstance(node, Index) and isinstance(node.obj, Ident):
        return node.obj.name == "events" and node.obj.name not in bound and _shaped(node.key, bound, steps)
    return False


def _shaped(node: Node, bound: frozenset[str], steps: frozenset[str]) -> bool:
    match node:
        case Lit():
            return True
        case Ident(name):
            if name in bound:
                return name not in steps  # a whole step map holds its time
            return name == "params"
        case Select(obj, field) | Has(obj, field):
            if isinstance(obj, Ident) and obj.name == "case" and "case" not in bound:
                found = CASE_FIELDS.get(field)
                return found is not None and found.shaped
            if _is_step(obj, bound, steps):
                return STEP_READS_TIME.get(field) is False
            return _shaped(obj, bound, steps)
        case Index(obj, key):
            return _shaped(obj, bound, steps) and _shaped(key, bound, steps)
        case Call():
            arg = size_arg(node)
            if arg is None:
                return False  # a function the fast path does not know
            if isinstance(arg, Ident) and arg.name == "events" and "events" not in bound:
                return True  # how many steps
            return _shaped(arg, bound, steps)
        case Macro(name, target, var, body) if name in ("all", "exists"):
            inner = bound | {var}
            if isinstance(target, Ident) and target.name == "events" and "events" not in bound:
                return _shaped(body[0], inner, steps | {var})
            return _shaped(target, bound, steps) and _shaped(body[0], inner, steps - {var})
        case ListExpr(items):
            return all(_shaped(i, bound, steps) for i in items)
        case Not(arg):
            return _shaped(arg, bound, steps)
        case Logic(_, args):
            return all(_shaped(a, bound, steps) for a in args)
        case Cond(test, then, orelse):
            return all(_shaped(n, bound, steps) for n in (test, then, orelse))
        case Rel(_, left, right):
            return _shaped(left, bound, steps) and _shaped(right, bound, steps)
    return False  # outside the subset: the other macros, maps, arithmetic, negation
