"""The types of a condition's values as far as they are known before a case is seen, and
which operand types each CEL operator takes: what `monitor.engine.celcheck` walks a tree
with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

# ---------------------------------------------------------------------------------------------
# Types, as far as they are known before a case is seen.


@dataclass(frozen=True, slots=True)
class Dyn:
    """Anything (an attribute's value, an unknown function's result)."""


@dataclass(frozen=True, slots=True)
class Prim:
    """Any of a few types, by CEL's names: scalars, or "list" for a list of unknown elements."""

    names: frozenset[str]


@dataclass(frozen=True, slots=True)
class ListOf:
    elem: Type


@dataclass(frozen=True, slots=True)
class MapOf:
    key: Type
    value: Type


@dataclass(frozen=True, slots=True)
class Record:
    """A map whose keys are known: `case`, `case.item`, a step, `params`."""

    name: str  # what messages call it when its own text is not a plain name
    fields: Mapping[str, Type]


Type = Dyn | Prim | ListOf | MapOf | Record

DYN: Final = Dyn()


def prim(*names: str) -> Prim:
    return Prim(frozenset(names))


BOOL, INT, DOUBLE, STRING = prim("bool"), prim("int"), prim("double"), prim("string")
TIMESTAMP, DURATION = prim("timestamp"), prim("duration")
LITERAL: Final = {k: prim(k) for k in ("int", "uint", "double", "string", "bytes", "bool", "null")}

# Which operand types each operator takes, and what it gives: CEL converts between no types
# (`1 + 2.5` fails), though it compares numbers of any kind with each other. These are the
# overloads of the CEL specification together with those `common-expression-language` 0.10
# adds (`list + map`); tests/test_celcheck.py holds the table to what CEL does.
NUMBERS: Final = ("int", "uint", "double")
_ALL: Final = (*NUMBERS, "string", "bytes", "bool", "null", "timestamp", "duration", "list", "map", "type")
_ORDERED: Final = frozenset(
    {(a, b) for a in NUMBERS for b in NUMBERS}
    | {(t, t) for t in ("string", "bytes", "bool", "timestamp", "duration")}
)
_SAME = {(t, t): t for t in NUMBERS}
OVERLOADS: Final[dict[str, dict[tuple[str, str], str]]] = {
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
NEGATABLE: Final = {"int": "int", "double": "double", "duration": "duration", "bool": "bool"}

ATTRIBUTES: Final = MapOf(STRING, DYN)
STEP: Final = Record(
    "the step", {"kind": STRING, "at": TIMESTAMP, "actors": ListOf(STRING), "attributes": ATTRIBUTES}
)
ITEM: Final = Record(
    "`case.item`",
    {
        "item_type": STRING,
        "name": STRING,
        "legal_limit": INT,
        "promised_limit": INT,
        "limit_unit": STRING,
        "fee_standard": DOUBLE,
        "attributes": ATTRIBUTES,
    },
)
RESULTS: Final[dict[str, Type]] = {
    "size": INT,
    "int": INT,
    "uint": prim("uint"),
    "double": DOUBLE,
    "string": STRING,
    "bytes": prim("bytes"),
    "timestamp": TIMESTAMP,
    "duration": DURATION,
    "type": prim("type"),
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


def value_type(value: Any) -> Type:
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
        return LITERAL["null"]
    return DYN


def may_be_bool(t: Type) -> bool:
    return isinstance(t, Dyn) or (isinstance(t, Prim) and "bool" in t.names)


def join(a: Type, b: Type) -> Type:
    if a == b:
        return a
    if isinstance(a, Prim) and isinstance(b, Prim):
        return Prim(a.names | b.names)
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


def describe(t: Type) -> str:
    if isinstance(t, Prim):
        words = sorted({_WORDS.get(n, n) for n in t.names})
        return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"
    return "a list" if isinstance(t, ListOf) else "a map"


def names_of(t: Type) -> frozenset[str] | None:
    """The CEL types `t` may be, by name; None when it may be anything."""
    if isinstance(t, Prim):
        return t.names
    if isinstance(t, ListOf):
        return frozenset({"list"})
    if isinstance(t, MapOf | Record):
        return frozenset({"map"})
    return None


def cel_names(names: frozenset[str]) -> str:
    """`int or double`: CEL's own names, for messages about operators."""
    ordered = sorted(names)
    return ordered[0] if len(ordered) == 1 else f"{', '.join(ordered[:-1])} or {ordered[-1]}"
