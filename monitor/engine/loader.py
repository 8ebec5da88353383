"""Loading rule sets strictly: every mistake named with its file, line, column and rule id.

A set loads whole or not at all: `load_ruleset` either returns a complete `RuleSet` or raises
`RuleError` listing every problem it found, so the daemon can keep its last good set.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import cel
import yaml
from pydantic import BaseModel, ValidationError

from monitor.engine import rules as r
from monitor.engine.celcheck import check_condition, check_value
from monitor.engine.conjuncts import split_conjuncts
from monitor.engine.fastpath import FastCondition, compile_fast
from monitor.engine.gates import PlannedRule, gates_of, never_for
from monitor.engine.params import PARAM_REF, Ref, in_expression, stray, substitute
from monitor.engine.positions import Position
from monitor.engine.positions import at as _at
from monitor.engine.positions import positions as _positions
from monitor.engine.positions import where as _where
from monitor.engine.template import template_expressions
from monitor.errors import RuleError
from monitor.model import STANDARD_EVENT_KINDS, ItemType
from monitor.vocabulary import STANDARD_EVENT_NAMES, STANDARD_VALUE_NAMES, Vocabulary

CEL_VARIABLES = frozenset({"case", "events", "event", "params", "now"})


@dataclass(frozen=True, slots=True)
class Chain:
    """One chain of a file's flow chart (monitor.engine.flow), with the file's parameters for
    its stages' conditions."""

    stages: tuple[tuple[r.EventMatch, ...], ...]
    params: dict[str, Any]
    kinds: tuple[frozenset[str], ...] = field(init=False)  # each stage's step kinds
    plain: tuple[bool, ...] = field(init=False)  # stages without conditions

    def __post_init__(self) -> None:
        object.__setattr__(self, "kinds", tuple(frozenset(m.kind for m in s) for s in self.stages))
        object.__setattr__(self, "plain", tuple(all(m.when is None for m in s) for s in self.stages))


@dataclass(frozen=True, slots=True)
class CompiledFile:
    path: Path
    spec: r.RuleFile
    selector: cel.Program | None
    digest: str  # of the file's text
    # The parameters as expressions see them; one dict per file, so a CEL context converts
    # them once per case rather than once per rule.
    params: dict[str, Any] = field(init=False)
    chains: tuple[Chain, ...] = field(init=False)  # the file's flow chart

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", dict(self.spec.params))
        object.__setattr__(self, "chains", tuple(Chain(stages, self.params) for stages in self.spec.flow))


PlannedFile = tuple[CompiledFile, tuple[PlannedRule, ...]]


class Step(NamedTuple):
    source: str
    fast: FastCondition | None
    reads_events: bool


@dataclass(frozen=True, slots=True)
class RuleSet:
    """A loaded, checked set of rule files with their CEL programs compiled once."""

    files: tuple[CompiledFile, ...]
    programs: dict[str, cel.Program]
    event_kinds: frozenset[str]
    digest: str  # changes whenever any rule file changes; recorded with each evaluation
    needs: dict[str, frozenset[str]]  # the variables each expression reads
    parts: dict[str, tuple[str, ...]]  # an expression's top-level conjuncts, run in order
    # The Chinese names of steps and values, and the party's label by item type.
    vocabulary: Vocabulary = field(default_factory=Vocabulary)
    # Expressions whose value is shown rather than tested: the placeholders of `detail`.
    expressions: dict[str, cel.Program] = field(default_factory=dict)
    # What to run for a case, by its item type (None: an unlisted item): the files whose
    # selection admits the type, each with its enabled rules and their gates.
    plan: dict[ItemType | None, tuple[PlannedFile, ...]] = field(init=False)
    # How to run each expression: its conjuncts in order, each with its fast-path function
    # (monitor.engine.fastpath; None: CEL only) and whether it reads `events`.
    steps: dict[str, tuple[Step, ...]] = field(init=False)

    def __post_init__(self) -> None:
        fast = {src: compile_fast(src) for src in self.programs}
        steps = {
            src: tuple(Step(part, fast[part], "events" in self.needs[part]) for part in self.parts[src])
            for src in self.programs
        }
        object.__setattr__(self, "steps", steps)
        planned = [
            (f, tuple(PlannedRule(rule, gates_of(rule, self.parts)) for rule in f.spec.rules if rule.enabled))
            for f in self.files
        ]
        plan = {
            t: tuple(
                (f, tuple(p for p in rules if not never_for(p.rule, self.parts, t.value if t else None)))
                for f, rules in planned
                if not f.spec.select.item_types or t in f.spec.select.item_types
            )
            for t in (*ItemType, None)
        }
        object.__setattr__(self, "plan", plan)

    def program(self, source: str) -> cel.Program:
        found = self.programs.get(source)
        return found if found is not None else self.expressions[source]

    def affected_item_types(self, old: RuleSet) -> frozenset[str] | None:
        """The item types whose cases a change from `old` to this set can affect; None for
        every case (a changed file that selects by more than item type, or new event kinds)."""
        if self.event_kinds != old.event_kinds:
            return None
        before = {f.path.name: f for f in old.files}
        after = {f.path.name: f for f in self.files}
        types: set[str] = set()
        for name in before.keys() | after.keys():
            a, b = before.get(name), after.get(name)
            if a is not None and b is not None and a.digest == b.digest:
                continue
            for f in (a, b):
                if f is None:
                    continue
                sel = f.spec.select
                if not sel.item_types:
                    return None
                types.update(t.value for t in sel.item_types)
        return frozenset(types)

    @property
    def rule_count(self) -> int:
        return sum(len(f.spec.rules) for f in self.files)


def _ref_problem(path: Path, positions: dict[tuple[Any, ...], Position], data: Any, ref: Ref) -> str:
    where = _where(path, positions, ref.loc) if ref.key else _at(path, positions, ref.loc)
    return f"{where}{_rule_id(data, ref.loc)}: {ref.problem}"


def _dollar(
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


def _rule_id(data: Any, loc: tuple[Any, ...]) -> str:
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


def _describe(err: Any) -> str:
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


def _expressions(spec: r.RuleFile) -> Iterable[tuple[tuple[Any, ...], str]]:
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


def _check_file(
    path: Path,
    spec: r.RuleFile,
    positions: dict[tuple[Any, ...], Position],
    routes: frozenset[str] | None,
    kinds: frozenset[str],
    programs: dict[str, cel.Program],
    approvals: frozenset[str] = frozenset(),
    expressions: dict[str, cel.Program] | None = None,
) -> list[str]:
    problems: list[str] = []
    for loc, source in _expressions(spec):
        where = _where(path, positions, loc)
        rid = _rule_id(spec.model_dump(), loc)
        try:
            program = programs.get(source) or cel.compile(source)
        except ValueError as exc:
            dollar = _dollar(path, positions, loc, source, spec.params, exc)
            if dollar is not None:
                problems.append(f"{dollar[0]}{rid}: expression `{source}`: {dollar[1]}")
            else:
                problems.append(f"{where}{rid}: bad expression `{source}`: {_cel_error(exc)}")
            continue
        unknown = set(program.variables()) - CEL_VARIABLES - _comprehension_vars(source)
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
        rid = _rule_id(spec.model_dump(), loc)
        try:
            program = programs.get(source) or cel.compile(source)
        except ValueError as exc:
            text = spec.rules[loc[1]].detail[loc[3]].text
            dollar = _dollar(path, positions, loc, source, spec.params, exc, max(text.find(source), 0))
            if dollar is not None:
                problems.append(
                    f"{dollar[0]}{rid}: placeholder `{{{{ {source} }}}}` in `detail`: {dollar[1]}"
                )
            else:
                problems.append(
                    f"{where}{rid}: bad placeholder `{{{{ {source} }}}}` in `detail`: {_cel_error(exc)}"
                )
            continue
        unknown = set(program.variables()) - CEL_VARIABLES - {"event"} - _comprehension_vars(source)
        if unknown or "event" in program.variables():
            names = ", ".join(sorted(unknown | ({"event"} & set(program.variables()))))
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


def _cel_error(exc: Exception) -> str:
    """'column 20: Syntax error: ...' from the CEL compiler's message."""
    m = _CEL_POSITION.search(str(exc))
    if not m:
        return str(exc).splitlines()[0]
    line, col, msg = m.groups()
    where = f"column {col}" if line == "1" else f"line {line} column {col}"
    return f"{where} of the expression: {msg}"


_COMPREHENSION = re.compile(r"\.(?:all|exists|exists_one|map|filter)\(\s*([A-Za-z_]\w*)\s*,")


def _comprehension_vars(source: str) -> set[str]:
    return set(_COMPREHENSION.findall(source))


def rule_files(folder: Path) -> list[Path]:
    """The rule-set files of a folder: `*.yaml` at its top (calendar/ and tests/ are not)."""
    if folder.is_file():
        return [folder]
    return sorted(p for p in folder.glob("*.yaml") if p.is_file())


def load_ruleset(folder: Path, routes: frozenset[str] | None = None) -> RuleSet:
    """Load and check every rule file; raise RuleError listing every problem found."""
    problems: list[str] = []
    compiled: list[CompiledFile] = []
    programs: dict[str, cel.Program] = {}
    labels: dict[str, tuple[str, Path]] = {}  # party label by item type, and the file that set it
    expressions: dict[str, cel.Program] = {}
    seen_ids: dict[str, Path] = {}
    digest = hashlib.sha256()
    files = rule_files(folder)
    if not files:
        raise RuleError([f"{folder}: no rule files (*.yaml) found"])
    parsed: list[tuple[Path, dict[str, Any], dict[tuple[Any, ...], Position], str]] = []
    kinds = set(STANDARD_EVENT_KINDS)
    names: dict[str, str] = dict(STANDARD_EVENT_NAMES)
    values: dict[str, dict[str, str]] = {k: dict(v) for k, v in STANDARD_VALUE_NAMES.items()}
    for path in files:
        text = path.read_text(encoding="utf-8")
        digest.update(path.name.encode() + b"\0" + text.encode() + b"\0")
        try:
            data = yaml.safe_load(text)
            positions = _positions(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
            problems.append(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}")
            continue
        if not isinstance(data, dict):
            problems.append(f"{path}:1:1: a rule file must be a mapping with `ruleset` and `rules`")
            continue
        declared = data.pop("event_kinds", None) or {}
        problems += _declare_kinds(path, positions, declared, kinds, names)
        for attribute, named in (
            (data.get("values") or {}).items() if isinstance(data.get("values"), dict) else ()
        ):
            if isinstance(named, dict):
                values.setdefault(str(attribute), {}).update({str(k): str(v) for k, v in named.items()})
        parsed.append((path, data, positions, hashlib.sha256(text.encode()).hexdigest()[:16]))
    for path, data, positions, file_digest in parsed:
        params = data.get("params") or {}
        refs: list[Ref] = []
        body = {k: (substitute(v, params, (k,), refs) if k == "rules" else v) for k, v in data.items()}
        refs += stray(data)
        problems += [_ref_problem(path, positions, data, ref) for ref in refs]
        unreplaced = {f"${ref.name}" for ref in refs}
        try:
            spec = r.RuleFile.model_validate(body)
        except ValidationError as exc:
            for err in _without_echoes(exc.errors()):
                named = str(err["loc"][-1]) if err["type"] == "extra_forbidden" else err.get("input")
                if isinstance(named, str) and named in unreplaced:
                    continue  # the `$name` itself is reported above
                loc = tuple(x for x in err["loc"] if not _is_union_tag(x))
                problems.append(f"{_where(path, positions, loc)}{_rule_id(data, loc)}: {_describe(err)}")
            # The file is rejected either way, but report its bad expressions too, so the
            # author sees every error in one run.
            for loc, source in _raw_expressions(data):
                try:
                    cel.compile(source)
                except ValueError as cel_exc:
                    rid = _rule_id(data, loc)
                    dollar = _dollar(path, positions, loc, source, params, cel_exc)
                    if dollar is not None:
                        problems.append(f"{dollar[0]}{rid}: expression `{source}`: {dollar[1]}")
                        continue
                    where = f"{_where(path, positions, loc)}{rid}"
                    problems.append(f"{where}: bad expression `{source}`: {_cel_error(cel_exc)}")
            continue
        approvals = frozenset(values.get("approval", {}))
        problems += _check_file(
            path, spec, positions, routes, frozenset(kinds), programs, approvals, expressions
        )
        problems += _party_labels(path, positions, spec, labels)
        for i, rule in enumerate(spec.rules):
            if rule.id in seen_ids:
                where = _where(path, positions, ("rules", i, "id"))
                problems.append(f"{where}: rule id `{rule.id}` is already used in {seen_ids[rule.id]}")
            seen_ids[rule.id] = path
        selector = programs.get(spec.select.when) if spec.select.when else None
        compiled.append(CompiledFile(path, spec, selector, file_digest))
    if problems:
        raise RuleError(problems)
    needs = {
        src: frozenset(prog.variables()) & CEL_VARIABLES
        for src, prog in (*programs.items(), *expressions.items())
    }
    parts = {src: tuple(split_conjuncts(src)) for src in programs}
    parts = {src: ps if all(p in programs for p in ps) else (src,) for src, ps in parts.items()}
    vocabulary = Vocabulary(names, values, {t: label for t, (label, _) in labels.items()})
    return RuleSet(
        tuple(compiled),
        programs,
        frozenset(kinds),
        digest.hexdigest()[:16],
        needs,
        parts,
        vocabulary,
        expressions,
    )


def _declare_kinds(
    path: Path,
    positions: dict[tuple[Any, ...], Position],
    declared: Any,
    kinds: set[str],
    names: dict[str, str],
) -> list[str]:
    """A file's new step kinds with their Chinese names (`event_kinds: {kind: 名称}`): a kind
    without a name would reach a notice as an English identifier."""
    where = _where(path, positions, ("event_kinds",))
    if isinstance(declared, list) and all(isinstance(k, str) for k in declared):
        listed = ", ".join(f"`{k}: 名称`" for k in declared)
        return [f"{where}: every new event kind needs a Chinese name: write {listed} under `event_kinds:`"]
    if not isinstance(declared, dict):
        return [f"{where}: `event_kinds` must map each new kind to its Chinese name (`kind: 名称`)"]
    problems = []
    for kind, name in declared.items():
        at = _where(path, positions, ("event_kinds", kind))
        if not isinstance(kind, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", kind):
            problems.append(f"{at}: event kind `{kind}` must be lower case letters, digits and _")
        elif not isinstance(name, str) or not name.strip():
            problems.append(f"{at}: event kind `{kind}` needs a Chinese name (`{kind}: 名称`)")
        elif kind in STANDARD_EVENT_KINDS:
            problems.append(
                f"{at}: `{kind}` is a standard event kind; it is named already ({STANDARD_EVENT_NAMES[kind]})"
            )
        else:
            kinds.add(kind)
            names[kind] = name.strip()
    return problems


def _party_labels(
    path: Path,
    positions: dict[tuple[Any, ...], Position],
    spec: r.RuleFile,
    labels: dict[str, tuple[str, Path]],
) -> list[str]:
    """申请人, 当事人…: set by files that select by item type, one label per type."""
    if spec.party_label is None:
        return []
    where = _where(path, positions, ("party_label",))
    if not spec.select.item_types:
        return [
            f"{where}: `party_label` needs `select.item_types`: it names the party of those item types' cases"
        ]
    given = spec.party_label
    by_type = given if isinstance(given, dict) else dict.fromkeys(spec.select.item_types, given)
    problems = []
    for t, label in by_type.items():
        if t not in spec.select.item_types:
            problems.append(
                f"{where}: `party_label` names item type `{t.value}`, which the file does not select"
            )
            continue
        known = labels.get(t.value)
        if known is not None and known[0] != label:
            problems.append(f"{where}: item type `{t.value}` is labelled “{known[0]}” already in {known[1]}")
        else:
            labels[t.value] = (label, path)
    return problems


def _raw_expressions(node: Any, loc: tuple[Any, ...] = ()) -> Iterable[tuple[tuple[Any, ...], str]]:
    """Every `when: <string>` in a document that did not validate."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "when" and isinstance(value, str):
                yield (*loc, key), value
            else:
                yield from _raw_expressions(value, (*loc, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _raw_expressions(value, (*loc, i))


def _without_echoes(errors: list[Any]) -> list[Any]:
    """Drop "missing `category`" where the same mapping has a misspelt `categroy`: the
    did-you-mean on the unknown key already says it."""
    misspelt = set()
    for err in errors:
        if err["type"] == "extra_forbidden":
            close = difflib.get_close_matches(str(err["loc"][-1]), _KNOWN_KEYS, n=1)
            if close:
                misspelt.add((*err["loc"][:-1], close[0]))
    return [e for e in errors if not (e["type"] == "missing" and tuple(e["loc"]) in misspelt)]


def _is_union_tag(part: Any) -> bool:
    return isinstance(part, str) and part in {
        "deadline",
        "precedence",
        "existence",
        "absence",
        "at_most",
        "check",
        "unlisted",
    }
