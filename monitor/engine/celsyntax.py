"""The syntax tree of a CEL condition: a tokenizer and a parser for CEL's grammar.

One tree serves every reader of a condition's text: the fast path compiles a subset of it to
Python (`monitor.engine.fastpath`), the screen asks which conditions follow from a case's
shape, `split_conjuncts` finds the top-level `&&`, and the load-time checks look for names and
types that fail on every case (`monitor.engine.celcheck`).

The grammar is CEL's (cel-spec, langdef.md), as `common-expression-language` 0.10 parses it:
precedence `?:` below `||`, below `&&`, below relations (`== != < <= > >= in`, one level, left
to right), below `+ -`, below `* / %`, below the unary `!` and `-`, below member access.
`has`, `all`, `exists`, `exists_one`, `filter` and `map` are macros where CEL makes them
macros, and every other call is a plain `Call`. Literals are read as CEL reads them, with
each escape and prefix. What this parser refuses CEL either refuses too, or cannot evaluate
(message literals `a.B{…}`, names with a leading dot): `CelSyntaxError`, and every caller
then leaves the expression to CEL alone.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, Final, NoReturn, cast


class CelSyntaxError(ValueError):
    """The text is not an expression this parser reads."""


# ---------------------------------------------------------------------------------------------
# The tree. `pos` is where the node's text starts in the source (0-based), for messages.


@dataclass(frozen=True, slots=True)
class Lit:
    # `Any`, not `object`: a dataclass compiled by mypyc looks its field types up among the
    # module's names, where the builtin `object` is not.
    value: Any  # int, float, str, bytes, bool or None
    kind: str  # "int", "uint", "double", "string", "bytes", "bool" or "null"
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Ident:
    name: str
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Select:
    obj: Node
    field: str
    pos: int = dataclasses.field(default=0, compare=False)  # of the field's name


@dataclass(frozen=True, slots=True)
class Index:
    obj: Node
    key: Node
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Has:
    """The `has(obj.field)` macro."""

    obj: Node
    field: str
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Call:
    """A function `f(args)` (target None) or a method `target.f(args)`."""

    function: str
    args: tuple[Node, ...]
    target: Node | None = None
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Macro:
    """A comprehension: `target.all(var, body)`, also `exists`, `exists_one`, `filter` and
    `map` (whose body is `(transform,)` or `(filter, transform)`)."""

    name: str
    target: Node
    var: str
    body: tuple[Node, ...]
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class ListExpr:
    items: tuple[Node, ...]
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class MapExpr:
    entries: tuple[tuple[Node, Node], ...]
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Not:
    arg: Node
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Neg:
    arg: Node
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Logic:
    """`a && b && …` (conj) or `a || b || …`, flattened: CEL's result does not depend on the
    grouping."""

    conj: bool
    args: tuple[Node, ...]
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Cond:
    test: Node
    then: Node
    orelse: Node
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Rel:
    op: str  # == != < <= > >= in
    left: Node
    right: Node
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Arith:
    op: str  # + - * / %
    left: Node
    right: Node
    pos: int = dataclasses.field(default=0, compare=False)


Node = (
    Lit
    | Ident
    | Select
    | Index
    | Has
    | Call
    | Macro
    | ListExpr
    | MapExpr
    | Not
    | Neg
    | Logic
    | Cond
    | Rel
    | Arith
)

MACROS: Final = frozenset({"all", "exists", "exists_one", "filter", "map"})

# ---------------------------------------------------------------------------------------------
# Tokens.

# A raw string takes a backslash as it is; a cooked one reads escapes (see `_unquote`).
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
_RELOPS: Final = frozenset({"==", "!=", "<", "<=", ">", ">=", "in"})
_INT_MIN: Final = -(2**63)
_INT_MAX: Final = 2**63 - 1
_UINT_MAX: Final = 2**64 - 1


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


def _unquote(text: str, raw: bool, as_bytes: bool, pos: int) -> str | bytes:
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


# ---------------------------------------------------------------------------------------------
# The parser: recursive descent over CEL's precedence.


def parse(source: str) -> Node:
    """The syntax tree of `source`; CelSyntaxError when this parser cannot read it."""
    return Parser(tokenize(source)).parse()


class Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = [t for t in tokens if t.kind != "comment"]
        self.i = 0

    def parse(self) -> Node:
        node = self.expr()
        if self.peek().kind != "end":
            self.fail()
        return node

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[max(0, min(self.i + ahead, len(self.tokens) - 1))]

    def fail(self, why: str = "") -> NoReturn:
        tok = self.peek()
        raise CelSyntaxError(why or f"unexpected {tok.text or 'end'!r} at {tok.pos}")

    def accept(self, text: str) -> bool:
        tok = self.peek()
        if tok.kind in ("op", "ident") and tok.text == text:
            self.i += 1
            return True
        return False

    def expect(self, text: str) -> None:
        if not self.accept(text):
            self.fail()

    def name(self) -> str:
        """An identifier that CEL allows as a variable, field or function name."""
        tok = self.peek()
        if tok.kind != "ident" or tok.text in RESERVED:
            self.fail()
        self.i += 1
        return tok.text

    def expr(self) -> Node:
        pos = self.peek().pos
        test = self.logic(conj=False)
        if self.accept("?"):
            then = self.logic(conj=False)  # CEL's grammar: the middle is not a full expression
            self.expect(":")
            return Cond(test, then, self.expr(), pos)
        return test

    def logic(self, conj: bool) -> Node:
        pos = self.peek().pos
        op, sub = ("&&", self.relation) if conj else ("||", lambda: self.logic(conj=True))
        args = [sub()]
        while self.accept(op):
            args.append(sub())
        return args[0] if len(args) == 1 else Logic(conj, tuple(args), pos)

    def relation(self) -> Node:
        pos = self.peek().pos
        node = self.calc(additive=True)
        while self.peek().text in _RELOPS and self.peek().kind in ("op", "ident"):
            op = self.peek().text
            self.i += 1
            node = Rel(op, node, self.calc(additive=True), pos)
        return node

    def calc(self, additive: bool) -> Node:
        pos = self.peek().pos
        ops = ("+", "-") if additive else ("*", "/", "%")
        node = self.calc(additive=False) if additive else self.unary()
        while self.peek().kind == "op" and self.peek().text in ops:
            op = self.peek().text
            self.i += 1
            node = Arith(op, node, self.calc(additive=False) if additive else self.unary(), pos)
        return node

    def unary(self) -> Node:
        # A run of `!` (or of `-`) counts by its parity, as CEL's parser reads it: `!!1` is 1
        # and `--"a"` is "a", where `!(!1)` and `-(-"a")` fail.
        pos = self.peek().pos
        if self.accept("!"):
            nots = 1
            while self.accept("!"):
                nots += 1
            node = self.member()
            return Not(node, pos) if nots % 2 else node
        negs = 0
        # `-1` is a literal (CEL's grammar reads the sign with the number), so a `-` right
        # before a number is left to `primary`. Before a number with a member after it
        # (`-1.x`, an error either way) it is a negation.
        while self.peek().kind == "op" and self.peek().text == "-" and not self.signed_number():
            self.i += 1
            negs += 1
        node = self.member()
        return Neg(node, pos) if negs % 2 else node

    def signed_number(self, at: int = 0) -> bool:
        """Whether the `-` at `at` (from the token at hand) is the sign of the number after it."""
        after = self.peek(at + 2)
        return self.peek(at + 1).kind in ("int", "float") and not (after.kind == "op" and after.text in ".[")

    def member(self) -> Node:
        node = self.primary()
        while True:
            if self.accept("."):
                pos = self.peek().pos
                field = self.name()
                node = self.method(node, field, pos) if self.accept("(") else Select(node, field, pos)
            elif self.accept("["):
                pos = self.peek().pos
                key = self.expr()
                self.expect("]")
                node = Index(node, key, pos)
            elif self.peek().text == "{" and self.peek().kind == "op":
                self.fail("message literals are not supported")
            else:
                return node

    def arguments(self, close: str) -> list[Node]:
        """Expressions separated by commas up to `close`; a trailing comma only in lists."""
        items: list[Node] = []
        if close != ")" and self.peek().text == "," and self.peek(1).text == close:
            self.i += 1  # CEL reads `[,]` as `[]`
        while not self.accept(close):
            items.append(self.expr())
            if not self.accept(","):
                self.expect(close)
                break
            if close == ")" and self.peek().text == ")":
                self.fail()  # CEL allows `[1,]` and `{1: 2,}`, not `f(1,)`
        return items

    def method(self, target: Node, name: str, pos: int) -> Node:
        args = self.arguments(")")
        if name in MACROS and (len(args) == 2 or (name == "map" and len(args) == 3)):
            var = args[0]
            if not isinstance(var, Ident):
                self.fail("argument must be a simple name")
            return Macro(name, target, var.name, tuple(args[1:]), pos)
        return Call(name, tuple(args), target, pos)

    def primary(self) -> Node:
        tok = self.peek()
        self.i += 1
        if tok.text == "-" and tok.kind == "op":  # after `!`: CEL takes only a signed number
            if self.peek().kind not in ("int", "float"):
                self.i -= 1
                self.fail()
            if not self.signed_number(-1):  # `!-1.x`: as `-(1.x)`, an error either way
                return Neg(self.member(), tok.pos)
            return self.number(self.peek(), negative=True, pos=tok.pos, advance=True)
        if tok.kind in ("int", "uint", "float"):
            return self.number(tok, negative=False, pos=tok.pos, advance=False)
        if tok.kind in ("str", "rawstr", "bytes", "rawbytes"):
            raw = tok.kind.startswith("raw")
            as_bytes = tok.kind.endswith("bytes")
            text = tok.text[(2 if raw and as_bytes else 1 if raw or as_bytes else 0) :]
            return Lit(_unquote(text, raw, as_bytes, tok.pos), "bytes" if as_bytes else "string", tok.pos)
        if tok.kind == "ident":
            literals: dict[str, tuple[object, str]] = {
                "true": (True, "bool"),
                "false": (False, "bool"),
                "null": (None, "null"),
            }
            if tok.text in literals:
                value, kind = literals[tok.text]
                return Lit(value, kind, tok.pos)
            if tok.text in RESERVED:
                self.i -= 1
                self.fail()
            if self.accept("("):
                return self.function(tok.text, tok.pos)
            return Ident(tok.text, tok.pos)
        if tok.kind == "op" and tok.text == "(":
            node = self.expr()
            self.expect(")")
            return node
        if tok.kind == "op" and tok.text == "[":
            return ListExpr(tuple(self.arguments("]")), tok.pos)
        if tok.kind == "op" and tok.text == "{":
            return self.map_entries(tok.pos)
        self.i -= 1
        self.fail()

    def number(self, tok: Token, negative: bool, pos: int, advance: bool) -> Lit:
        if advance:
            self.i += 1
        text = tok.text
        if tok.kind == "float":
            value = float(text)
            if value in (float("inf"), float("-inf")):
                raise CelSyntaxError(f"double literal out of range at {pos}")
            return Lit(-value if negative else value, "double", pos)
        if tok.kind == "uint" and not negative:
            number = int(text[:-1], 0)
            if number > _UINT_MAX:
                raise CelSyntaxError(f"uint literal out of range at {pos}")
            return Lit(number, "uint", pos)
        if tok.kind != "int":
            self.i -= 1
            self.fail()
        number = int(text, 16) if text[:2] in ("0x", "0X") else int(text, 10)
        number = -number if negative else number
        if not _INT_MIN <= number <= _INT_MAX:
            raise CelSyntaxError(f"int literal out of range at {pos}")
        return Lit(number, "int", pos)

    def map_entries(self, pos: int) -> MapExpr:
        entries: list[tuple[Node, Node]] = []
        if self.peek().text == "," and self.peek(1).text == "}":
            self.i += 1
        while not self.accept("}"):
            key = self.expr()
            self.expect(":")
            entries.append((key, self.expr()))
            if not self.accept(","):
                self.expect("}")
                break
        return MapExpr(tuple(entries), pos)

    def function(self, name: str, pos: int) -> Node:
        first = self.peek()
        args = self.arguments(")")
        if name == "has" and len(args) == 1:
            arg = args[0]
            # CEL's parser lets `has(!!a.b)` and `has(has(a.b))` through; only a selection as
            # written is read here.
            if not isinstance(arg, Select) or (first.kind == "op" and first.text in ("!", "-")):
                raise CelSyntaxError(f"invalid argument to has() at {pos}")
            return Has(arg.obj, arg.field, pos)
        return Call(name, tuple(args), None, pos)


def line_col(source: str, pos: int) -> tuple[int, int]:
    """1-based line and column of an offset in `source`."""
    line = source.count("\n", 0, pos) + 1
    return line, pos - (source.rfind("\n", 0, pos) + 1) + 1
