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
from typing import Any, Final

from monitor.engine.casefields import CASE_FIELDS
from monitor.engine.celsyntax import (
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
    line_col,
    tree,
)
from monitor.engine.celtypes import (
    BOOL,
    DYN,
    LITERAL,
    NEGATABLE,
    NUMBERS,
    OVERLOADS,
    RESULTS,
    STEP,
    STRING,
    TIMESTAMP,
    ListOf,
    MapOf,
    Prim,
    Record,
    Type,
    cel_names,
    describe,
    join,
    may_be_bool,
    names_of,
    value_type,
)

# ---------------------------------------------------------------------------------------------
# The walk.

# `case` as the checks see it: each field's type as the field itself declares it.
CASE: Final = Record("`case`", {name: f.cel_type for name, f in CASE_FIELDS.items()})


def check_condition(source: str, params: Mapping[str, Any], step: bool) -> list[str]:
    """What is certain to fail in `source` on every case, one sentence each ([] when nothing,
    or when the parser cannot read it). `params` are the file's parameters; `step` says
    whether the condition is a step condition (where `event` is defined)."""
    root = tree(source).node
    if root is None:
        return []
    checker = _Checker(source, params, step)
    result = checker.infer(root, {})
    if not may_be_bool(result):
        checker.problems.append(f"the whole condition gives {describe(result)}, not true or false")
    return checker.problems


def check_value(source: str, params: Mapping[str, Any]) -> list[str]:
    """What is certain to fail in `source`, an expression whose value is shown rather than
    tested (a placeholder of `detail`): the same checks but the one for true or false."""
    root = tree(source).node
    if root is None:
        return []
    checker = _Checker(source, params, step=False)
    checker.infer(root, {})
    return checker.problems


def analysable(source: str) -> bool:
    """Whether `check_condition` can read `source` at all."""
    return tree(source).node is not None


class _Checker:
    def __init__(self, source: str, params: Mapping[str, Any], step: bool) -> None:
        self.source = source
        self.step = step
        self.params = Record("`params`", {name: value_type(value) for name, value in params.items()})
        self.problems: list[str] = []

    def where(self, pos: int) -> str:
        line, col = line_col(self.source, pos)
        return f"column {col}" if line == 1 else f"line {line} column {col}"

    def report(self, pos: int, text: str) -> None:
        self.problems.append(f"{self.where(pos)} of the expression: {text}")

    def want_bool(self, node: Node, scope: Mapping[str, Type], role: str) -> None:
        t = self.infer(node, scope)
        if not may_be_bool(t):
            self.report(_start(node), f"{role} is {describe(t)}, not true or false")

    def infer(self, node: Node, scope: Mapping[str, Type]) -> Type:
        match node:
            case Lit(_, kind):
                return LITERAL[kind]
            case Ident(name, pos):
                return self.ident(name, pos, scope)
            case Select(obj, field, pos):
                return self.field(self.infer(obj, scope), obj, field, pos)
            case Has(obj, field, pos):
                # `obj` is read; only its last field may be missing.
                t = self.infer(obj, scope)
                if isinstance(t, Prim | ListOf):
                    self.no_fields(t, obj, field, pos)
                return BOOL
            case Index(obj, key, pos):
                t = self.infer(obj, scope)
                self.infer(key, scope)
                if isinstance(key, Lit) and key.kind == "string" and isinstance(t, Record):
                    return self.field(t, obj, key.value, pos)
                if isinstance(t, ListOf):
                    return t.elem
                return t.value if isinstance(t, MapOf) else DYN
            case Call(function, args, target):
                for a in (*args, *((target,) if target is not None else ())):
                    self.infer(a, scope)
                return RESULTS.get(function, DYN)
            case Macro(name, target, var, body):
                return self.macro(name, self.infer(target, scope), var, body, scope)
            case ListExpr(items):
                elem: Type | None = None
                for i in items:
                    t = self.infer(i, scope)
                    elem = t if elem is None else join(elem, t)
                return ListOf(elem or DYN)
            case MapExpr(entries):
                for k, v in entries:
                    self.infer(k, scope)
                    self.infer(v, scope)
                return MapOf(DYN, DYN)
            case Not(arg):
                self.want_bool(arg, scope, "the operand of `!`")
                return BOOL
            case Neg(arg, pos):
                names = names_of(self.infer(arg, scope))
                if names is None:
                    return Prim(frozenset(NEGATABLE.values()))
                results = {NEGATABLE[n] for n in names if n in NEGATABLE}
                if not results:
                    self.report(pos, f"`-` cannot negate {cel_names(names)}")
                    return DYN
                return Prim(frozenset(results))
            case Logic(conj, args):
                for a in args:
                    self.want_bool(a, scope, "a side of `&&`" if conj else "a side of `||`")
                return BOOL
            case Cond(test, then, orelse):
                self.want_bool(test, scope, "the test of `? :`")
                return join(self.infer(then, scope), self.infer(orelse, scope))
            case Rel(op, left, right, pos):
                lt, rt = self.infer(left, scope), self.infer(right, scope)
                if op not in ("==", "!="):  # which compare any two values
                    self.operands(op, lt, rt, pos)
                return BOOL
            case Arith(op, left, right, pos):
                return self.operands(op, self.infer(left, scope), self.infer(right, scope), pos)
        return DYN  # pragma: no cover - every node kind is matched above

    def operands(self, op: str, left: Type, right: Type, pos: int) -> Type:
        """What `left op right` gives; reported when no overload takes such operands."""
        table = OVERLOADS[op]
        ln, rn = names_of(left), names_of(right)
        results = {
            result for (a, b), result in table.items() if (ln is None or a in ln) and (rn is None or b in rn)
        }
        if results:
            return Prim(frozenset(results))
        if ln is not None and rn is not None:
            what = f"{cel_names(ln)} and {cel_names(rn)}"
        else:
            what = f"{cel_names(ln or rn or frozenset())} on its {'left' if ln is not None else 'right'}"
        hint = ""
        if ln is not None and rn is not None and (ln | rn) <= set(NUMBERS):
            hint = ": CEL converts no number to another (write 2.0 for a double, or use double(…), int(…))"
        elif op == "in" and rn == frozenset({"string"}):
            hint = ": look for text in text with `….contains(…)`"
        self.report(pos, f"`{op}` cannot take {what}{hint}")
        return DYN

    def ident(self, name: str, pos: int, scope: Mapping[str, Type]) -> Type:
        if name in scope:
            return scope[name]
        if name == "case":
            return CASE
        if name == "events":
            return ListOf(STEP)
        if name == "now":
            return TIMESTAMP
        if name == "params":
            return self.params
        if name == "event":
            if self.step:
                return STEP
            self.report(pos, "`event` is defined only in a step condition (`- kind: … when: …`)")
        return DYN  # unknown names are the loader's own error

    def field(self, t: Type, obj: Node, name: str, pos: int) -> Type:
        if isinstance(t, Record):
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
        if isinstance(t, MapOf):
            return t.value
        if isinstance(t, Prim | ListOf):
            self.no_fields(t, obj, name, pos)
        return DYN

    def no_fields(self, t: Type, obj: Node, name: str, pos: int) -> None:
        path = _path(obj)
        what = f"`{path}`" if path else "the value"
        self.report(pos, f"{what} is {describe(t)}, which has no field `{name}`")

    def macro(
        self, name: str, target: Type, var: str, body: tuple[Node, ...], scope: Mapping[str, Type]
    ) -> Type:
        if isinstance(target, ListOf):
            elem = target.elem
        elif isinstance(target, MapOf):
            elem = target.key
        elif isinstance(target, Record):
            elem = STRING
        else:
            elem = DYN
        inner = {**scope, var: elem}
        if name == "map":
            if len(body) == 2:
                self.want_bool(body[0], inner, "the filter of `map`")
            return ListOf(self.infer(body[-1], inner))
        self.want_bool(body[0], inner, f"the predicate of `{name}`")
        if name == "filter":
            return target if isinstance(target, ListOf) else ListOf(elem)
        return BOOL


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
