"""`$name`: a rule file's parameters used by name, and every place one cannot be replaced.

A file writes a local figure once under `params:` and uses it as `$name`, a whole YAML value
anywhere inside `rules:` (`limit: $accept_days`, a grant's `max_days`, an entry of a pause's
`max_by_reason`, a rule's `title`). A `$name` that cannot be replaced would otherwise pass as
text: an undefined one, one written where parameters are not replaced (`flow`, `select`,
`values`, `party_label`, `params` itself), one used as a key, or one inside a condition,
where CEL spells it `params.name`. Each is found here with its path in the document, so the
loader can name its file, line and column.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

PARAM_REF = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)$")
_IN_TEXT = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")

Loc = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Ref:
    """A `$name` that was not replaced, and why."""

    loc: Loc  # the path of the value, or of the key when `key`
    name: str
    problem: str
    key: bool = False


def substitute(value: Any, params: Mapping[str, Any], loc: Loc, refs: list[Ref]) -> Any:
    """`value` with each `$name` replaced by the parameter's value; an undefined one is
    left as it is and added to `refs`."""
    if isinstance(value, str):
        m = PARAM_REF.match(value)
        if m is None:
            return value
        name = m.group(1)
        if name in params:
            return params[name]
        refs.append(Ref(loc, name, f"`${name}` is used but not defined under `params:`{_hint(name, params)}"))
        return value
    if isinstance(value, dict):
        return {k: substitute(v, params, (*loc, k), refs) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, params, (*loc, i), refs) for i, v in enumerate(value)]
    return value


def stray(data: Mapping[str, Any]) -> Iterator[Ref]:
    """Every `$name` that is never replaced: values outside `rules:`, and keys anywhere."""
    for top, value in data.items():
        if top == "rules":
            yield from _walk(value, (top,), values=None)
        elif top == "params":
            yield from _walk(value, (top,), values="a parameter's value cannot name another parameter")
        else:
            yield from _walk(
                value, (top,), values=f"parameters are replaced inside `rules:` only, not in `{top}`"
            )


def _walk(node: Any, loc: Loc, values: str | None) -> Iterator[Ref]:
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(k, str) and (m := PARAM_REF.match(k)):
                yield Ref(
                    (*loc, k),
                    m.group(1),
                    f"`{k}` as a key: parameters stand for values, never keys",
                    key=True,
                )
            yield from _walk(v, (*loc, k), values)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, (*loc, i), values)
    elif values is not None and isinstance(node, str) and (m := PARAM_REF.match(node)):
        yield Ref(loc, m.group(1), f"`{node}` is not replaced here: {values}; write the value itself")


def in_expression(source: str, params: Mapping[str, Any]) -> tuple[int, str] | None:
    """Where a `$name` stands in an expression that CEL cannot compile, and the sentence
    saying how CEL reads a parameter; None when there is none."""
    found = list(_IN_TEXT.finditer(source))
    if not found:
        return None
    names = list(dict.fromkeys(m.group(1) for m in found))
    said = ", ".join(
        f"`params.{n}` for `${n}`"
        + ("" if n in params else f" (`{n}` is not defined under `params:` either)")
        for n in names
    )
    return found[0].start(), f"a parameter inside an expression is written `params.name`: write {said}"


def _hint(name: str, params: Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(name, sorted(params), n=1)
    return f" (did you mean `${close[0]}`?)" if close else ""
