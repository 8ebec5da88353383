"""The syntax tree of a CEL condition: a tokenizer and a parser for CEL's grammar.

One tree serves every reader of a condition's text, parsed once (`tree`, which the loaded
`RuleSet` holds for its expressions): the fast path compiles a subset of it to Python
(`monitor.engine.fastpath`), the screen asks which conditions follow from a case's shape
(`monitor.engine.timefree`), the conjuncts are cut at its top-level `&&`, the gates read the
step tests among them (`monitor.engine.gates`), the loader reads the variables it needs and
the names its comprehensions bind, and the load-time checks look for names and types that
fail on every case (`monitor.engine.celcheck`). The nodes are in `monitor.engine.celnodes`,
the tokens in `monitor.engine.celtokens`.

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

import functools
import itertools
from dataclasses import dataclass
from typing import NoReturn

from monitor.engine.celnodes import (
    MACROS,
    Arith,
    Call,
    Cond,
    Has,
    Ident,
    Index,
    ListExpr,
    Lit,
    Logic,
    Macro,
    MapExpr,
    Neg,
    Node,
    Not,
    Rel,
    Select,
)
from monitor.engine.celtokens import (
    INT_MAX,
    INT_MIN,
    RELOPS,
    RESERVED,
    UINT_MAX,
    CelSyntaxError,
    Token,
    tokenize,
    unquote,
)

__all__ = [
    "MACROS",
    "RESERVED",
    "Arith",
    "Call",
    "CelSyntaxError",
    "Cond",
    "Has",
    "Ident",
    "Index",
    "ListExpr",
    "Lit",
    "Logic",
    "Macro",
    "MapExpr",
    "Neg",
    "Node",
    "Not",
    "Parser",
    "Rel",
    "Select",
    "Token",
    "Tree",
    "line_col",
    "parse",
    "tokenize",
    "tree",
]


# ---------------------------------------------------------------------------------------------
# The parser: recursive descent over CEL's precedence.


def parse(source: str) -> Node:
    """The syntax tree of `source`; CelSyntaxError when this parser cannot read it."""
    return Parser(tokenize(source)).parse()


class Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = [t for t in tokens if t.kind != "comment"]
        self.i = 0
        # Whether the text keeps to the spelling the fast path takes (`Tree.plain`); a
        # comment, a literal written otherwise or a folded pair of minus signs clears it.
        self.plain = len(self.tokens) == len(tokens)

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
        ops: list[int] = []
        while self.peek().kind == "op" and self.peek().text == op:
            ops.append(self.peek().pos)
            self.i += 1
            args.append(sub())
        return args[0] if len(args) == 1 else Logic(conj, tuple(args), pos, tuple(ops))

    def relation(self) -> Node:
        pos = self.peek().pos
        node = self.calc(additive=True)
        while self.peek().text in RELOPS and self.peek().kind in ("op", "ident"):
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
        if negs > 1:
            self.plain = False  # a pair folded away: the fast path has no negation
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
            self.plain = self.plain and _plain(tok)
            raw = tok.kind.startswith("raw")
            as_bytes = tok.kind.endswith("bytes")
            text = tok.text[(2 if raw and as_bytes else 1 if raw or as_bytes else 0) :]
            return Lit(unquote(text, raw, as_bytes, tok.pos), "bytes" if as_bytes else "string", tok.pos)
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
        self.plain = self.plain and _plain(tok)
        text = tok.text
        if tok.kind == "float":
            value = float(text)
            if value in (float("inf"), float("-inf")):
                raise CelSyntaxError(f"double literal out of range at {pos}")
            return Lit(-value if negative else value, "double", pos)
        if tok.kind == "uint" and not negative:
            number = int(text[:-1], 0)
            if number > UINT_MAX:
                raise CelSyntaxError(f"uint literal out of range at {pos}")
            return Lit(number, "uint", pos)
        if tok.kind != "int":
            self.i -= 1
            self.fail()
        number = int(text, 16) if text[:2] in ("0x", "0X") else int(text, 10)
        number = -number if negative else number
        if not INT_MIN <= number <= INT_MAX:
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


def _plain(tok: Token) -> bool:
    """Whether a literal is written the plain way the fast path takes: decimal numbers without
    exponents or leading zeros (which some languages read as octal), strings in one pair of
    quotes without escapes; raw, bytes, triple-quoted, uint and hex literals are left to CEL."""
    text = tok.text
    if tok.kind == "int":
        return text == "0" or not text.startswith(("0", "."))
    if tok.kind == "float":
        whole, _, fraction = text.partition(".")
        return bool(whole) and (whole == "0" or whole[0] != "0") and fraction.isdigit()
    if tok.kind == "str":
        return "\\" not in text and not text.startswith(('"""', "'''"))
    return False


@dataclass(frozen=True, slots=True)
class Tree:
    """A source parsed once, for every reader."""

    source: str
    node: Node | None  # None: the parser cannot read the source
    plain: bool = False  # within the spelling the fast path compiles (see `_plain`)
    start: int = 0  # where the first token stands (after any comment)

    def conjuncts(self) -> tuple[str, ...]:
        """The texts of the top-level conjuncts, in order (comments kept with the part they
        follow); `(source,)` when there is only one, or when the parser cannot read it. Only
        a `&&` of the whole expression counts: one inside brackets, a string or a comment
        does not, and a top-level `||` or `? :` keeps it whole."""
        node = self.node
        if not isinstance(node, Logic) or not node.conj or node.pos != self.start:
            return (self.source,)  # `(a && b)` starts after its bracket
        cuts = (-2, *node.ops, len(self.source))
        return tuple(self.source[a + 2 : b].strip() for a, b in itertools.pairwise(cuts))


@functools.lru_cache(maxsize=4096)
def tree(source: str) -> Tree:
    """The tree of `source`, parsed once however many readers ask (the loaded rule sets hold
    theirs, so their sources stay in the cache's reach whatever else is parsed)."""
    try:
        tokens = tokenize(source)
        parser = Parser(tokens)
        node = parser.parse()
    except CelSyntaxError:
        return Tree(source, None)
    start = next((t.pos for t in tokens if t.kind != "comment"), 0)
    return Tree(source, node, parser.plain, start)
