"""Where things stand in a YAML document: each path's line and column, for error messages.

A path is the keys and list indexes from the document's root, as pydantic reports a
location; `(*path, "<key>")` is where a mapping key stands, `(*path, "<content>")` where
the text of a one-line scalar starts when the document shows it as it reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

Position = tuple[int, int]  # 1-based line and column


def positions(text: str) -> dict[tuple[Any, ...], Position]:
    """Map each path in the YAML document (keys and list indexes) to where it starts; a
    one-line scalar written as it reads also gets `(*path, "<content>")`, where its first
    character stands, so that a place inside an expression can be named."""
    out: dict[tuple[Any, ...], Position] = {}

    def walk(node: yaml.Node, path: tuple[Any, ...]) -> None:
        out[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.ScalarNode) and node.start_mark.line == node.end_mark.line:
            quote = 1 if node.style in ("'", '"') else 0
            start = node.start_mark.index + quote
            if text[start : start + len(node.value)] == node.value:
                out[(*path, "<content>")] = (node.start_mark.line + 1, node.start_mark.column + 1 + quote)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = (*path, key.value)
                walk(value, sub)
                out[(*sub, "<key>")] = (key.start_mark.line + 1, key.start_mark.column + 1)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, i))

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        walk(root, ())
    return out


def where(path: Path, positions: dict[tuple[Any, ...], Position], loc: Iterable[Any]) -> str:
    """`file:line:col` for the deepest part of `loc` that the document has."""
    parts = tuple(loc)
    for n in range(len(parts), -1, -1):
        key = parts[:n]
        if (*key, "<key>") in positions and n == len(parts):
            line, col = positions[(*key, "<key>")]
            return f"{path}:{line}:{col}"
        if key in positions:
            line, col = positions[key]
            return f"{path}:{line}:{col}"
    return str(path)


def at(path: Path, positions: dict[tuple[Any, ...], Position], loc: tuple[Any, ...], offset: int = 0) -> str:
    """`file:line:col` of the character `offset` into the text at `loc`, where the document
    shows it verbatim; else of the value at `loc` (not of its key, as `where` gives)."""
    loc = _written(positions, loc)
    for spot in (loc, (*loc, "text")):  # a detail piece is its text or a mapping with one
        if (*spot, "<content>") in positions:
            line, col = positions[(*spot, "<content>")]
            return f"{path}:{line}:{col + offset}"
    if loc in positions:
        line, col = positions[loc]
        return f"{path}:{line}:{col}"
    return where(path, positions, loc)


def _written(positions: dict[tuple[Any, ...], Position], loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """`loc`, a path in the model, as the document writes it: one step may stand without
    its list (`event: {kind: decided, when: …}` is step 0 of `event`)."""
    if loc in positions:
        return loc
    for i, part in enumerate(loc):
        if part == 0 and not isinstance(part, bool):
            shorter = (*loc[:i], *loc[i + 1 :])
            if shorter in positions:
                return shorter
    return loc
