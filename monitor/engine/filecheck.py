"""The checks of one rule file, each problem a sentence naming the file, line, column and
rule: its keys and values (as pydantic reports them), its expressions (as CEL compiles them
and `monitor.engine.celcheck` types them), its step kinds, approvals and notice routes."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import cel
from pydantic import BaseModel

from monitor.engine import rules as r
from monitor.engine.celcheck import check_condition, check_value
from monitor.engine.celnodes import free_names
from monitor.engine.celsyntax import tree
from monitor.engine.conjuncts import split_conjuncts
from monitor.engine.params import PARAM_REF, Ref, in_expression
from monitor.engine.positions import Position
from monitor.engine.positions import at as _at
from monitor.engine.positions import where as _where
from monitor.engine.ruleset import CEL_VARIABLES
from monitor.engine.template import template_expressions


def ref_problem(path: Path, positions: dict[tuple[Any, ...], Position], data: Any, ref: Ref) -> str:
    where = _where(path, positions, ref.loc) if ref.key else _at(path, positions, ref.loc)
    return f"{where}{rule_id(data, ref.loc)}: {ref.problem}"


def dollar_at(
    path: Path,
    positions: dict[tuple[Any, ...], Position],
    loc: tuple[Any, ...],
    source: str,
    params: Any,
    exc: Exception,
    base: int = 0,
) -> tuple[str, str] | None:
    """Where and why, for an expression CEL refused at a `$`: a parameter written `$name`.
    `base`: where the expression starts in the YAML value (a placeholder in its text)."""
    found = in_expression(source, params) if "'$'" in str(exc) else None
    if found is None:
        return None
    offset, sentence = found
    return _at(path, positions, loc, base + offset), sentence


def rule_id(data: Any, loc: tuple[Any, ...]) -> str:
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int) and isinstance(data, dict):
        rules = data.get("rules")
        if isinstance(rules, list | tuple) and loc[1] < len(rules) and isinstance(rules[loc[1]], dict):
            return f" [rule {rules[loc[1]].get('id', '#' + str(loc[1] + 1))}]"
    return ""


def _all_field_names(model: type[BaseModel], seen: set[type[BaseModel]] | None = None) -> set[str]:
    seen = seen if seen is not None else set()
    if model in seen:
        return set()
    seen.add(model)
    names: set[str] = set()
    for name, info in model.model_fields.items():
        names.add(info.alias or name)
        for arg in _types_in(info.annotation):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                names |= _all_field_names(arg, seen)
    return names


def _types_in(annotation: Any) -> Iterable[Any]:
    yield annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        yield from _types_in(arg)
    for meta in getattr(annotation, "__metadata__", ()) or ():
        yield from _types_in(meta)


_KNOWN_KEYS = sorted(_all_field_names(r.RuleFile) | {"kind"})


def describe(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        key = str(err["loc"][-1])
        close = difflib.get_close_matches(key, _KNOWN_KEYS, n=1)
        hint = f" (did you mean `{close[0]}`?)" if close else ""
        return f"unknown key `{key}`{hint}"
    if err["type"] == "missing":
        return f"missing key `{err['loc'][-1]}`"
    if err["type"] == "union_tag_not_found":
        return "missing key `kind`"
    if err["type"] == "dict_type" or (
        err["type"] == "string_type" and err["loc"] and err["loc"][-1] == "[key]"
    ):
        return f"{err['msg']} (YAML reads yes/no/on/off as true/false: quote them)"
    if err["type"] == "union_tag_invalid":
        kinds = "deadline, precedence, existence, absence, at_most, min_interval, check, unlisted"
        given = err["input"].get("kind") if isinstance(err["input"], dict) else err["input"]
        return f"unknown rule kind {given!r}; use one of: {kinds}"
    return str(err["msg"])


def file_expressions(spec: r.RuleFile) -> Iterable[tuple[tuple[Any, ...], str]]:
    """Every CEL expression in a file, with where it sits."""
    if spec.select.when:
        yield ("select", "when"), spec.select.when
    for c, chain in enumerate(spec.flow):
        for s, stage in enumerate(chain):
            for j, m in enumerate(stage):
                if m.when:
                    yield ("flow", c, s, j, "when"), m.when
    for i, rule in enumerate(spec.rules):
        when = getattr(rule, "when", None)
        if isinstance(when, str):
            yield ("rules", i, "when"), when
        for name, matches in _matches_of(rule):
            for j, m in enumerate(matches):
                if m.when:
                    yield ("rules", i, *name, j, "when"), m.when
        if isinstance(rule, r.DeadlineRule) and rule.clock.extension is not None:
            for g, grant in enumerate(rule.clock.extension.grants):
                if grant.when:
                    yield ("rules", i, "clock", "extension", "grants", g, "when"), grant.when
        for d, piece in enumerate(rule.detail):
            if piece.when:
                yield ("rules", i, "detail", d, "when"), piece.when


def _is_step_condition(loc: tuple[Any, ...]) -> bool:
    """Whether the expression at `loc` is a step's condition (where `event` is defined): a
    flow chart's stage or a rule's matched step, not a rule's, a grant's or a detail's."""
    if loc[0] == "flow":
        return True
    return loc[0] == "rules" and len(loc) > 3 and loc[2] != "detail" and "grants" not in loc


def _templates(spec: r.RuleFile) -> Iterable[tuple[tuple[Any, ...], str]]:
    """The placeholders of every rule's `detail`, with where the detail sits."""
    for i, rule in enumerate(spec.rules):
        for d, piece in enumerate(rule.detail):
            for source in template_expressions(piece.text):
                yield ("rules", i, "detail", d), source


def _matches_of(rule: Any) -> Iterable[tuple[tuple[str, ...], tuple[r.EventMatch, ...]]]:
    if isinstance(rule, r.DeadlineRule):
        yield ("clock", "start"), rule.clock.start
        yield ("clock", "stop"), rule.clock.stop
        if rule.clock.pause:
            yield ("clock", "pause", "begin"), rule.clock.pause.begin
            yield ("clock", "pause", "end"), rule.clock.pause.end
        if rule.clock.deemed_start:
            yield ("clock", "deemed_start", "event"), rule.clock.deemed_start.event
            yield ("clock", "deemed_start", "unless"), rule.clock.deemed_start.unless
    if isinstance(rule, r.MinIntervalRule):
        yield ("from",), rule.from_
        yield ("to",), rule.to
    for name in ("before", "after", "event"):
        value = getattr(rule, name, None)
        if isinstance(value, tuple):
            yield (name,), value


def _unknown_kind(
    path: Path,
    positions: dict[tuple[Any, ...], Position],
    loc: tuple[Any, ...],
    rid: str,
    kind: str,
    kinds: frozenset[str],
) -> str:
    close = difflib.get_close_matches(kind, sorted(kinds), n=1)
    hint = f" (did you mean `{close[0]}`?)" if close else ""
    where = _where(path, positions, loc)
    return f"{where}{rid}: unknown event kind `{kind}`{hint}; declare new kinds under `event_kinds:`"


def check_file(
    path: Path,
    spec: r.RuleFile,
    positions: dict[tuple[Any, ...], Position],
    routes: frozenset[str] | None,
    kinds: frozenset[str],
    programs: dict[str, cel.Program],
    approvals: frozenset[str] = frozenset(),
    expressions: dict[str, cel.Program] | None = None,
    places: dict[str, str] | None = None,
) -> list[str]:
    """Every problem of one validated file. `places` gets where each condition first sits
    (its file, line, column and rule), for what is found about it later."""
    problems: list[str] = []
    for loc, source in file_expressions(spec):
        where = _where(path, positions, loc)
        rid = rule_id(spec.model_dump(), loc)
        if places is not None:
            places.setdefault(source, f"{where}{rid}")
        try:
            program = programs.get(source) or cel.compile(source)
        except ValueError as exc:
            dollar = dollar_at(path, positions, loc, source, spec.params, exc)
            if dollar is not None:
                problems.append(f"{dollar[0]}{rid}: expression `{source}`: {dollar[1]}")
            else:
                problems.append(f"{where}{rid}: bad expression `{source}`: {cel_error(exc)}")
            continue
        unknown = variables(source, program) - CEL_VARIABLES
        if unknown:
            names = ", ".join(sorted(unknown))
            problems.append(
                f"{where}{rid}: expression `{source}` uses unknown name(s) {names}; "
                f"available: {', '.join(sorted(CEL_VARIABLES))}"
            )
            continue
        programs[source] = program
        _compile_parts(source, programs)
        # What fails on every case, visible before any case is seen (a step condition is the
        # only place `event` is defined).
        for found in check_condition(source, spec.params, step=_is_step_condition(loc)):
            problems.append(f"{where}{rid}: expression `{source}`: {found}")
    for loc, source in _templates(spec):
        where = _where(path, positions, loc)
        rid = rule_id(spec.model_dump(), loc)
        try:
            program = programs.get(source) or cel.compile(source)
        except ValueError as exc:
            text = spec.rules[loc[1]].detail[loc[3]].text
            dollar = dollar_at(path, positions, loc, source, spec.params, exc, max(text.find(source), 0))
            if dollar is not None:
                problems.append(
                    f"{dollar[0]}{rid}: placeholder `{{{{ {source} }}}}` in `detail`: {dollar[1]}"
                )
            else:
                problems.append(
                    f"{where}{rid}: bad placeholder `{{{{ {source} }}}}` in `detail`: {cel_error(exc)}"
                )
            continue
        read = variables(source, program)
        unknown = read - CEL_VARIABLES
        if unknown or "event" in read:
            names = ", ".join(sorted(unknown | ({"event"} & read)))
            problems.append(
                f"{where}{rid}: placeholder `{{{{ {source} }}}}` uses {names}; "
                "a detail may read case, events, params and now"
            )
            continue
        for found in check_value(source, spec.params):
            problems.append(f"{where}{rid}: placeholder `{{{{ {source} }}}}` in `detail`: {found}")
        if expressions is not None:
            expressions[source] = program
    for c, chain in enumerate(spec.flow):
        for st, stage in enumerate(chain):
            for j, m in enumerate(stage):
                if m.kind not in kinds and not PARAM_REF.match(m.kind):  # a `$name`: reported as one
                    problems.append(_unknown_kind(path, positions, ("flow", c, st, j), "", m.kind, kinds))
    for i, rule in enumerate(spec.rules):
        rid = f" [rule {rule.id}]"
        if isinstance(rule, r.DeadlineRule) and rule.clock.extension is not None:
            ext = rule.clock.extension
            if ext.event not in kinds:
                loc = ("rules", i, "clock", "extension", "event")
                problems.append(_unknown_kind(path, positions, loc, rid, ext.event, kinds))
            for g, grant in enumerate(ext.grants):
                for approval in grant.approval:
                    if approval not in approvals:
                        close = difflib.get_close_matches(approval, sorted(approvals), n=1)
                        hint = f" (did you mean `{close[0]}`?)" if close else ""
                        where = _where(
                            path, positions, ("rules", i, "clock", "extension", "grants", g, "approval")
                        )
                        known = ", ".join(sorted(approvals))
                        problems.append(
                            f"{where}{rid}: unknown approval `{approval}`{hint}; known: {known} "
                            "(name a new one under `values: {approval: {…: 中文}}`)"
                        )
        for name, matches in _matches_of(rule):
            for j, m in enumerate(matches):
                if m.kind not in kinds and not PARAM_REF.match(m.kind):
                    problems.append(
                        _unknown_kind(path, positions, ("rules", i, *name, j), rid, m.kind, kinds)
                    )
        if routes is not None:
            for j, route in enumerate(rule.notify):
                if route not in routes:
                    where = _where(path, positions, ("rules", i, "notify", j))
                    known = ", ".join(sorted(routes))
                    problems.append(f"{where}{rid}: unknown notify route `{route}`; known: {known}")
        if rule.effective_from and rule.effective_to and rule.effective_to < rule.effective_from:
            where = _where(path, positions, ("rules", i, "effective_to"))
            problems.append(f"{where}{rid}: effective_to is before effective_from")
    return problems


def _compile_parts(source: str, programs: dict[str, cel.Program]) -> None:
    """Compile the conjuncts of a valid expression too; one that will not compile alone
    leaves the expression whole (see RuleSet.parts)."""
    conjuncts = split_conjuncts(source)
    if len(conjuncts) == 1:
        return
    for part in conjuncts:
        if part not in programs:
            try:
                programs[part] = cel.compile(part)
            except ValueError:
                return


_CEL_POSITION = re.compile(r"ERROR: <input>:(\d+):(\d+): (.*)")


def cel_error(exc: Exception) -> str:
    """'column 20: Syntax error: ...' from the CEL compiler's message."""
    m = _CEL_POSITION.search(str(exc))
    if not m:
        return str(exc).splitlines()[0]
    line, col, msg = m.groups()
    where = f"column {col}" if line == "1" else f"line {line} column {col}"
    return f"{where} of the expression: {msg}"


def variables(source: str, program: cel.Program) -> set[str]:
    """The variables an expression reads, off its syntax tree (a comprehension's own variable
    is not one); CEL's list, less nothing, for the rare source only CEL reads."""
    node = tree(source).node
    return set(program.variables()) if node is None else set(free_names(node))


def raw_expressions(node: Any, loc: tuple[Any, ...] = ()) -> Iterable[tuple[tuple[Any, ...], str]]:
    """Every `when: <string>` in a document that did not validate."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "when" and isinstance(value, str):
                yield (*loc, key), value
            else:
                yield from raw_expressions(value, (*loc, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from raw_expressions(value, (*loc, i))


def without_echoes(errors: list[Any]) -> list[Any]:
    """Drop "missing `category`" where the same mapping has a misspelt `categroy`: the
    did-you-mean on the unknown key already says it."""
    misspelt = set()
    for err in errors:
        if err["type"] == "extra_forbidden":
            close = difflib.get_close_matches(str(err["loc"][-1]), _KNOWN_KEYS, n=1)
            if close:
                misspelt.add((*err["loc"][:-1], close[0]))
    return [e for e in errors if not (e["type"] == "missing" and tuple(e["loc"]) in misspelt)]


def is_union_tag(part: Any) -> bool:
    return isinstance(part, str) and part in {
        "deadline",
        "precedence",
        "existence",
        "absence",
        "at_most",
        "check",
        "unlisted",
    }
