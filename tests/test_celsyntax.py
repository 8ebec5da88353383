"""The CEL syntax tree (monitor.engine.celsyntax) against the CEL engine's own parser."""

from __future__ import annotations

import cel
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.engine.celsyntax import (
    Arith,
    Call,
    CelSyntaxError,
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
    Not,
    Rel,
    Select,
    line_col,
    parse,
    tokenize,
)


def cel_parses(source: str) -> bool:
    try:
        cel.compile(source)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize(
    "source",
    [
        "1",
        "-1",
        "-9223372036854775808",
        "9223372036854775807",
        "0x7fffffffffffffff",
        "-0x8000000000000000",
        "01",
        "1u",
        "0xffffffffffffffffu",
        "1.5",
        "-0.5",
        ".5",
        "1e3",
        "1.5E-3",
        "1e+2",
        "true",
        "null",
        '"a"',
        "'a'",
        '"a\\nb"',
        "'\\x41\\X42\\u0043\\U00000044\\101'",
        "'\\a\\b\\f\\n\\r\\t\\v\\\\\\?\\\"\\'\\`'",
        "'\\377'",
        '"""a"b\nc"""',
        "'''it's'''",
        'r"\\n"',
        "R'\\d+'",
        'b"\\xff\\000"',
        "B'abc'",
        'br"\\x"',
        "bR'\\x'",
        '"é"',
        "'\\u00e9'",
    ],
)
def test_literals_have_the_values_cel_gives_them(source: str) -> None:
    node = parse(source)
    assert isinstance(node, Lit), node
    assert node.value == cel.compile(source).execute()
    assert type(node.value) is type(cel.compile(source).execute()), source


def test_literal_kinds() -> None:
    kinds = {src: parse(src) for src in ("1", "1u", "1.0", "'a'", "b'a'", "true", "null")}
    assert [n.kind for n in kinds.values() if isinstance(n, Lit)] == [
        "int",
        "uint",
        "double",
        "string",
        "bytes",
        "bool",
        "null",
    ]


@pytest.mark.parametrize(
    ("source", "tree"),
    [
        ("a || b && c", Logic(False, (Ident("a"), Logic(True, (Ident("b"), Ident("c")))))),
        ("a && b && c", Logic(True, (Ident("a"), Ident("b"), Ident("c")))),
        ("a ? b : c ? d : e", Cond(Ident("a"), Ident("b"), Cond(Ident("c"), Ident("d"), Ident("e")))),
        ("a < b == c", Rel("==", Rel("<", Ident("a"), Ident("b")), Ident("c"))),
        ("a + b * c < d", Rel("<", Arith("+", Ident("a"), Arith("*", Ident("b"), Ident("c"))), Ident("d"))),
        ("a - b - c", Arith("-", Arith("-", Ident("a"), Ident("b")), Ident("c"))),
        ("!a.b", Not(Select(Ident("a"), "b"))),
        ("!!a", Ident("a")),  # a run of `!` counts by its parity, as CEL reads it: `!!1` is 1
        ("!!!a", Not(Ident("a"))),
        ("!(!a)", Not(Not(Ident("a")))),
        ("-a[0]", Neg(Index(Ident("a"), Lit(0, "int")))),
        ("--a", Ident("a")),
        ("- -'a'", Lit("a", "string")),
        ("--1", Neg(Lit(-1, "int"))),
        ("---1", Lit(-1, "int")),
        ("1 - -1", Arith("-", Lit(1, "int"), Lit(-1, "int"))),
        ("-1.x", Neg(Select(Lit(1, "int"), "x"))),  # an error either way; CEL reads (-1).x
        ("x in [1, 2,]", Rel("in", Ident("x"), ListExpr((Lit(1, "int"), Lit(2, "int"))))),
        ("{'a': 1,}.a", Select(MapExpr(((Lit("a", "string"), Lit(1, "int")),)), "a")),
        ("[,]", ListExpr(())),
        ("has(a.b.c)", Has(Select(Ident("a"), "b"), "c")),
        ("has(a.b, c)", Call("has", (Select(Ident("a"), "b"), Ident("c")))),  # not the macro
        ("size(a)", Call("size", (Ident("a"),))),
        ("a.size()", Call("size", (), Ident("a"))),
        ('a.startsWith("x")', Call("startsWith", (Lit("x", "string"),), Ident("a"))),
        ("l.all(x, x)", Macro("all", Ident("l"), "x", (Ident("x"),))),
        (
            "l.map(x, x > 1, x)",
            Macro("map", Ident("l"), "x", (Rel(">", Ident("x"), Lit(1, "int")), Ident("x"))),
        ),
        ("l.exists(x)", Call("exists", (Ident("x"),), Ident("l"))),  # one argument: not the macro
        ("a // a comment && b\n && c", Logic(True, (Ident("a"), Ident("c")))),
    ],
)
def test_precedence_and_shapes(source: str, tree: object) -> None:
    assert parse(source) == tree
    assert cel_parses(source)


@pytest.mark.parametrize(
    "source",
    [
        "",
        "a b",
        "(a",
        "a ? b ? c : d : e",  # the middle of ?: is not a full expression
        "9223372036854775808",
        "-9223372036854775809",
        "18446744073709551616u",
        "1e999",
        "'\\z'",
        "'\\400'",
        "'\\ud800'",
        "b'\\u00ff'",
        "'''a''''",
        "has(a)",
        "l.exists(x.y, true)",
        "l.all(1, true)",
        "if",
        "a.in",
        "let + 1",
        "-!a",
        "a = 1",
        "a & b",
        "f(a,)",
        "[1,,]",
        "a.?b",
        "a[?0]",
        'rb"a"',  # this CEL takes `br` only
    ],
)
def test_what_cel_refuses_is_refused(source: str) -> None:
    assert not cel_parses(source), source
    with pytest.raises(CelSyntaxError):
        parse(source)


def test_runs_of_not_and_minus_count_by_their_parity_as_in_cel() -> None:
    assert cel.compile("!!1").execute() == 1
    assert cel.compile("--'a'").execute() == "a"
    with pytest.raises(TypeError):
        cel.compile("!(!1)").execute()


@pytest.mark.parametrize("source", ["a.B{}", "B{x: 1}", ".a", "a + .b", "has(has(a.b))", "has(!!a.b)"])
def test_message_literals_and_leading_dots_are_left_to_cel(source: str) -> None:
    # CEL parses these but this CEL cannot evaluate them (no message types; a leading-dot
    # name is never declared), or they make no sense (`has` of something that is not a
    # selection as written): the callers leave them to CEL alone.
    assert cel_parses(source)
    with pytest.raises(CelSyntaxError):
        parse(source)


def test_positions() -> None:
    source = "case.listed &&\n  case.atributes.x"
    node = parse(source)
    assert isinstance(node, Logic)
    second = node.args[1]
    assert isinstance(second, Select) and isinstance(second.obj, Select)
    assert line_col(source, second.obj.pos) == (2, 8)  # the misspelt field
    assert [t.kind for t in tokenize("a // x\n'b'")] == ["ident", "comment", "str", "end"]


# Random expressions from pieces of CEL: whatever this parser accepts, CEL accepts too; and
# it accepts everything CEL accepts but the forms it leaves to CEL (a leading dot, message
# literals, and `has()` over something CEL's parser lets through but cannot evaluate).
ATOMS = ["a", "b.c", "l", "1", "-1", "2.5", "1u", "0x1F", "'s'", 'r"\\d"', "b'x'", "true", "null", "in", "if"]
PIECES = ["==", "<", "&&", "||", "!", "-", "+", "*", "%", "?", ":", "(", ")", "[", "]", "{", "}", ",", "."]


@st.composite
def expressions(draw: st.DrawFn, depth: int = 0) -> str:
    if depth > 3 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(ATOMS))
    a = draw(expressions(depth + 1))
    b = draw(expressions(depth + 1))
    forms = [
        f"{a} {draw(st.sampled_from(['==', '<', '>=', '&&', '||', 'in', '+', '-', '*', '/']))} {b}",
        f"!{a}",
        f"-{a}",
        f"({a})",
        f"[{a}, {b}]",
        f"{{{a}: {b}}}",
        f"{a} ? {b} : {a}",
        f"{a}[{b}]",
        f"{a}.{draw(st.sampled_from(['x', 'size', 'in', 'exists']))}",
        f"{a}.{draw(st.sampled_from(['exists', 'all', 'map', 'filter', 'exists_one', 'size']))}"
        f"({draw(st.sampled_from(['x', 'x.y', '1', '']))}{draw(st.sampled_from([', ' + b, '']))})",
        f"has({a})",
        f"size({a})",
        " ".join(draw(st.lists(st.sampled_from(ATOMS + PIECES), min_size=1, max_size=6))),
    ]
    return draw(st.sampled_from(forms))


@settings(max_examples=300, deadline=None)
@given(expressions())
def test_the_parser_accepts_what_cel_accepts(source: str) -> None:
    try:
        parse(source)
    except CelSyntaxError:
        mine = False
    else:
        mine = True
    theirs = cel_parses(source)
    if mine:
        assert theirs, source
    elif theirs:
        assert _left_to_cel(source), source


def _left_to_cel(source: str) -> bool:
    """Whether `source` has a form this parser leaves to CEL: a leading-dot name (a `.` with
    no expression before it), a message literal (`{` right after a name), or `has(`."""
    tokens = tokenize(source)
    for before, tok in zip([None, *tokens], tokens, strict=False):
        after_expr = before is not None and (before.kind != "op" or before.text in ")]}")
        if tok.text == "." and tok.kind == "op" and not after_expr:
            return True
        if tok.text == "{" and before is not None and before.kind == "ident":
            return True
    return "has(" in source
