"""Splitting a condition at its top-level `&&`, so cheap guards run before costly parts.

`case.listed && events.exists(e, …)` then reads `events` (the costliest value to hand to the
expression engine) only for cases that pass `case.listed`. A condition with a top-level
`||` or `? :` is left whole, since splitting it would change its meaning.
"""

from __future__ import annotations

OPEN, CLOSE = "([{", ")]}"


def split_conjuncts(source: str) -> list[str]:
    """The top-level conjuncts of `source`, in order; `[source]` when there is only one."""
    parts: list[str] = []
    depth = 0
    quote: str | None = None
    start = i = 0
    n = len(source)
    while i < n:
        ch = source[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch in OPEN:
            depth += 1
        elif ch in CLOSE:
            depth -= 1
        elif depth == 0:
            pair = source[i : i + 2]
            if pair == "||" or ch == "?":
                return [source]
            if pair == "&&":
                parts.append(source[start:i].strip())
                start = i + 2
                i += 2
                continue
        i += 1
    parts.append(source[start:].strip())
    return parts if len(parts) > 1 and all(parts) else [source]
