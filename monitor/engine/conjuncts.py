"""Splitting a condition at its top-level `&&`, so cheap guards run before costly parts.

`case.listed && events.exists(e, …)` then reads `events` (the costliest value to hand to the
expression engine) only for cases that pass `case.listed`. A condition with a top-level
`||` or `? :` is left whole, since splitting it would change its meaning. The split is made
on CEL's tokens (monitor.engine.celsyntax), so a `&&` inside a string or a comment is not
one; a condition the tokenizer cannot read is left whole.
"""

from __future__ import annotations

from monitor.engine.celsyntax import CelSyntaxError, tokenize

OPEN, CLOSE = "([{", ")]}"


def split_conjuncts(source: str) -> list[str]:
    """The top-level conjuncts of `source`, in order; `[source]` when there is only one."""
    try:
        tokens = tokenize(source)
    except CelSyntaxError:
        return [source]
    parts: list[str] = []
    depth = 0
    start = 0
    for tok in tokens:
        if tok.kind != "op":
            continue
        if tok.text in OPEN:
            depth += 1
        elif tok.text in CLOSE:
            depth -= 1
        elif depth == 0:
            if tok.text in ("||", "?"):
                return [source]
            if tok.text == "&&":
                parts.append(source[start : tok.pos].strip())
                start = tok.pos + 2
    parts.append(source[start:].strip())
    return parts if len(parts) > 1 and all(parts) else [source]
