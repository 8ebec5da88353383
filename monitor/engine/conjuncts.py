"""Splitting a condition at its top-level `&&`, so cheap guards run before costly parts.

`case.listed && events.exists(e, …)` then reads `events` (the costliest value to hand to the
expression engine) only for cases that pass `case.listed`. A condition with a top-level
`||` or `? :` is left whole, since splitting it would change its meaning. The split is read
off the condition's syntax tree (`monitor.engine.celsyntax.Tree.conjuncts`), so a `&&` inside
brackets, a string or a comment is not one; a condition the parser cannot read is left whole.
"""

from __future__ import annotations

from monitor.engine.celsyntax import tree


def split_conjuncts(source: str) -> list[str]:
    """The top-level conjuncts of `source`, in order; `[source]` when there is only one."""
    return list(tree(source).conjuncts())
