"""The values of the fast path (`monitor.engine.fastpath`): which Python values CEL is
certain to treat as Python does, and CEL's field access, `has`, indexing, `size` and `in`
on them, each answering UNSURE wherever CEL might raise or decide differently."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final, Protocol, cast, final

from monitor.engine.celtokens import INT_MAX, INT_MIN


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

# ---------------------------------------------------------------------------------------------
# Values: which Python values CEL is certain to treat as Python does.

_NOT_MAP, MAPPING, _VIEW = 0, 1, 2
# What kind of map each type is, decided once per type (an isinstance check against an ABC
# or a protocol costs more than the rest of a typical evaluation).
_map_kinds: dict[type, int] = {dict: MAPPING, list: _NOT_MAP, tuple: _NOT_MAP, str: _NOT_MAP}


def map_kind(value: object) -> int:
    t = type(value)
    kind = _map_kinds.get(t)
    if kind is None:
        if isinstance(value, Mapping):
            kind = MAPPING
        elif callable(getattr(t, "member", None)) and callable(getattr(t, "has", None)):
            kind = _VIEW
        else:
            kind = _NOT_MAP
        _map_kinds[t] = kind
    return kind


def is_int(v: object) -> bool:
    # bool is a subclass of int in Python but a different type in CEL; ints beyond int64
    # become a uint or (beyond uint64) a double on conversion.
    return type(v) is int and INT_MIN <= v <= INT_MAX


def is_timestamp(v: object) -> bool:
    # Only UTC is known to convert; naive datetimes do convert (as UTC) but Python would
    # compare them with aware ones differently.
    return type(v) is datetime and v.tzinfo is UTC


# Exact types whose equality CEL and Python agree on when both operands have that type.
_EQ_TYPES: Final = frozenset({str, bool, float, type(None)})


def same_kind(a: object, b: object) -> bool:
    """Whether `a == b` means the same in CEL as in Python."""
    t = type(a)
    if t is not type(b):
        return False  # CEL's cross-type equality varies with its version: let CEL decide
    if t in _EQ_TYPES:
        return True
    if t is int:
        return is_int(a) and is_int(b)
    return t is datetime and is_timestamp(a) and is_timestamp(b)


def orderable(a: object, b: object) -> bool:
    """Whether `a < b` (and friends) means the same in CEL as in Python."""
    t = type(a)
    if t is not type(b):
        return False
    if t is str:
        return True  # UTF-8 byte order is code point order, which is Python's
    if t is int:
        return is_int(a) and is_int(b)
    if t is float:
        return a == a and b == b  # ordering a NaN raises in CEL
    return t is datetime and is_timestamp(a) and is_timestamp(b)


def get_field(obj: object, name: str) -> object:
    """`obj.name`: the value, or UNSURE where CEL raises (no such key, not a map)."""
    if type(obj) is dict:
        return obj.get(name, UNSURE)
    kind = map_kind(obj)
    if kind == MAPPING:
        return cast(Mapping[object, object], obj).get(name, UNSURE)
    if kind == _VIEW:
        return cast(View, obj).member(name)
    return UNSURE


def has_field(obj: object, name: str) -> object:
    """`has(obj.name)`: whether a map has the key; UNSURE when `obj` is not a map."""
    if type(obj) is dict:
        return name in obj
    kind = map_kind(obj)
    if kind == MAPPING:
        return name in cast(Mapping[object, object], obj)
    if kind == _VIEW:
        return cast(View, obj).has(name) is True
    return UNSURE


def get_index(obj: object, key: object) -> object:
    if isinstance(obj, list | tuple):
        if type(key) is int and 0 <= key < len(obj):
            return obj[key]
        return UNSURE  # out of range, or a key CEL may or may not coerce
    if type(key) is str:
        return get_field(obj, key)
    return UNSURE


def size_of(obj: object) -> object:
    if isinstance(obj, list | tuple):
        return len(obj)
    if type(obj) is str:
        # This CEL counts UTF-8 bytes where the CEL specification says code points; the two
        # agree on ASCII only.
        return len(obj) if obj.isascii() else UNSURE
    if map_kind(obj) == MAPPING:
        return len(cast(Mapping[object, object], obj))
    return UNSURE  # a View cannot count its keys without computing them


_IN_TYPES: Final = frozenset({str, int, bool, float, type(None)})


def contains(x: object, container: object) -> object:
    if isinstance(container, list | tuple):
        t = type(x)
        if t not in _IN_TYPES or (t is int and not is_int(x)):
            return UNSURE
        found = False
        for e in container:
            if not same_kind(x, e):
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
    kind = map_kind(container)
    if kind == MAPPING:
        return x in cast(Mapping[object, object], container)
    if kind == _VIEW:
        return cast(View, container).has(x) is True
    return UNSURE
