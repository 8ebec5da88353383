"""CEL's tokens and the values of its literals, as `common-expression-language` 0.10 reads
them (cel-spec, langdef.md): the lexical half of `monitor.engine.celsyntax`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, cast


class CelSyntaxError(ValueError):
    """The text is not an expression this parser reads."""


# A raw string takes a backslash as it is; a cooked one reads escapes (see `unquote`).
_RAW = r"""(?:\"\"\"[\s\S]*?\"\"\"|'''[\s\S]*?'''|"[^"\n\r]*"|'[^'\n\r]*')"""
_COOKED = (
    r"""(?:\"\"\"(?:\\[\s\S]|[^\\])*?\"\"\"|'''(?:\\[\s\S]|[^\\])*?'''"""
    r"""|"(?:\\.|[^"\\\n\r])*"|'(?:\\.|[^'\\\n\r])*')"""
)
_EXP = r"[eE][+-]?[0-9]+"
_TOKEN: Final = re.compile(
    rf"""
    (?P<ws>[ \t\n\r\f]+)
  | (?P<comment>//[^\n]*)
  | (?P<rawbytes>[bB][rR]{_RAW})  # this CEL takes `br`, not `rb`
  | (?P<rawstr>[rR]{_RAW})
  | (?P<bytes>[bB]{_COOKED})
  | (?P<str>{_COOKED})
  | (?P<float>[0-9]+\.[0-9]+(?:{_EXP})?|[0-9]+{_EXP}|\.[0-9]+(?:{_EXP})?)
  | (?P<uint>(?:0[xX][0-9a-fA-F]+|[0-9]+)[uU])
  | (?P<int>0[xX][0-9a-fA-F]+|[0-9]+)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|&&|\|\||[<>!?:()\[\]{{}},.\-+*/%])
    """,
    re.VERBOSE,
)
_KEYWORDS: Final = frozenset({"true", "false", "null", "in"})
# CEL refuses these as names of variables, fields and functions.
RESERVED: Final = _KEYWORDS | frozenset(
    {"as", "break", "const", "continue", "else", "for", "function", "if", "import", "let", "loop"}
    | {"package", "namespace", "return", "var", "void", "while"}
)
RELOPS: Final = frozenset({"==", "!=", "<", "<=", ">", ">=", "in"})
INT_MIN: Final = -(2**63)
INT_MAX: Final = 2**63 - 1
UINT_MAX: Final = 2**64 - 1


@dataclass(frozen=True, slots=True)
class Token:
    # "int", "uint", "float", "str", "rawstr", "bytes", "rawbytes", "ident", "op", "comment"
    # or "end"; whitespace is dropped.
    kind: str
    text: str
    pos: int


def tokenize(source: str) -> list[Token]:
    """The tokens of `source` (comments included), ending with an "end" token."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(source):
        m = _TOKEN.match(source, pos)
        if m is None:
            raise CelSyntaxError(f"unexpected text at {pos}: {source[pos : pos + 10]!r}")
        kind = cast(str, m.lastgroup)
        if kind != "ws":
            tokens.append(Token(kind, m[0], pos))
        pos = m.end()
    tokens.append(Token("end", "", pos))
    return tokens


_ESCAPE = re.compile(
    r"""\\(?:(?P<simple>[\\?"'`abfnrtv])|[xX](?P<hex>[0-9a-fA-F]{2})|u(?P<u4>[0-9a-fA-F]{4})"""
    r"""|U(?P<u8>[0-9a-fA-F]{8})|(?P<oct>[0-3][0-7]{2})|(?P<bad>[\s\S]?))"""
)
_SIMPLE: Final = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def unquote(text: str, raw: bool, as_bytes: bool, pos: int) -> str | bytes:
    """The value of a string or bytes literal's text (its prefix already removed)."""
    quote = 3 if text[:3] in ('"""', "'''") else 1
    body = text[quote:-quote]
    if raw:
        return body.encode() if as_bytes else body
    try:
        return _cooked(body, as_bytes, pos)
    except UnicodeError as exc:
        raise CelSyntaxError(f"invalid text in the literal at {pos}") from exc


def _cooked(body: str, as_bytes: bool, pos: int) -> str | bytes:
    out = bytearray()
    last = 0
    for m in _ESCAPE.finditer(body):
        out += body[last : m.start()].encode()
        last = m.end()
        if m["bad"] is not None:
            raise CelSyntaxError(f"invalid escape in the literal at {pos}")
        if m["simple"] is not None:
            out += _SIMPLE.get(m["simple"], m["simple"]).encode()
        elif m["hex"] is not None or m["oct"] is not None:
            code = int(m["hex"], 16) if m["hex"] is not None else int(m["oct"], 8)
            out += bytes([code]) if as_bytes else chr(code).encode()
        else:
            if as_bytes:
                raise CelSyntaxError(f"\\u escape in a bytes literal at {pos}")
            code = int(m["u4"] or m["u8"], 16)
            if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
                raise CelSyntaxError(f"invalid code point in the literal at {pos}")
            out += chr(code).encode()
    out += body[last:].encode()
    return bytes(out) if as_bytes else out.decode()
