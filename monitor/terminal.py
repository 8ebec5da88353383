"""Text from the source on a terminal: shown, never obeyed.

A case number or a department is whatever a platform's database holds. Printed as it is, an
ESC sequence in it would clear the screen, retitle the window or write a hyperlink, a bare CR
would overwrite the line before it, and in a Rich table `[/]` or `[link=...]` would be read
as markup (the first one crashes the command). So the command line prints every such value
through this module: control characters become visible escapes (`\\x1b`, `\\u2028`), and
Rich gets `Text` objects, which are never parsed for markup.
"""

from __future__ import annotations

import json
import re
from typing import Any

import typer
from rich.text import Text

# C0 and DEL and C1 (CSI U+009B among them), line and paragraph separators, the bidirectional
# overrides and isolates (which reorder what is shown), lone surrogates.
_REST = r"\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_ANY = re.compile(r"[\x00-\x1f" + _REST + "]")
# For whole lines of output: newline, tab and a CR that ends a line (CSV) are layout.
_IN_LINES = re.compile(r"\r(?!\n)|[\x00-\x08\x0b\x0c\x0e-\x1f" + _REST + "]")
_JSON_ESCAPED = re.compile("[" + _REST + "]")  # json.dumps escapes C0 already


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def visible(value: object, *, lines: bool = False) -> str:
    """`value` with each control character as a visible escape; with `lines`, newlines, tabs
    and CR LF line ends are kept (for text that is meant to be several lines)."""
    return (_IN_LINES if lines else _ANY).sub(_escape, str(value))


def cell(value: object, style: str = "") -> Text:
    """A Rich table cell holding `value` literally: no markup, no control character."""
    return Text(visible("" if value is None else value), style=style)


def say(message: object, *, err: bool = False, nl: bool = True) -> None:
    """typer.echo for text that may quote the source."""
    typer.echo(visible(message, lines=True), err=err, nl=nl)


def json_text(value: Any) -> str:
    """JSON for a terminal: json escapes C0 itself; C1 and the separators are escaped too
    (as \\uXXXX, so the JSON still reads back to the very same strings)."""
    out = json.dumps(value, ensure_ascii=False, indent=2, default=str)
    return _JSON_ESCAPED.sub(lambda m: f"\\u{ord(m.group()):04x}", out)
