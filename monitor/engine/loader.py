"""Loading rule sets strictly: every mistake named with its file, line, column and rule id.

A set loads whole or not at all: `load_ruleset` either returns a complete `RuleSet` or raises
`RuleError` listing every problem it found, so the daemon can keep its last good set. The
checks of each file are in `monitor.engine.filecheck`; the set itself, and the plan it
compiles, in `monitor.engine.ruleset`; the comparison of the fast path with CEL on the loaded
conditions in `monitor.engine.selfcheck`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
from pathlib import Path
from typing import Any

import cel
import yaml
from pydantic import ValidationError

from monitor.engine import rules as r
from monitor.engine.celsyntax import tree
from monitor.engine.filecheck import (
    cel_error,
    check_file,
    describe,
    dollar_at,
    is_union_tag,
    raw_expressions,
    ref_problem,
    rule_id,
    variables,
    without_echoes,
)
from monitor.engine.params import Ref, stray, substitute
from monitor.engine.positions import Position
from monitor.engine.positions import positions as _positions
from monitor.engine.positions import where as _where
from monitor.engine.ruleset import CEL_VARIABLES, Chain, CompiledFile, PlannedFile, RuleSet, Step
from monitor.engine.selfcheck import disagreements
from monitor.errors import RuleError
from monitor.model import STANDARD_EVENT_KINDS
from monitor.vocabulary import STANDARD_EVENT_NAMES, STANDARD_VALUE_NAMES, Vocabulary

# What other modules import from here.
__all__ = [
    "CEL_VARIABLES",
    "Chain",
    "CompiledFile",
    "PlannedFile",
    "RuleSet",
    "Step",
    "load_ruleset",
    "rule_files",
]

log = logging.getLogger(__name__)


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
    places: dict[str, str] = {}  # where each condition first sits
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
        problems += [ref_problem(path, positions, data, ref) for ref in refs]
        unreplaced = {f"${ref.name}" for ref in refs}
        try:
            spec = r.RuleFile.model_validate(body)
        except ValidationError as exc:
            for err in without_echoes(exc.errors()):
                named = str(err["loc"][-1]) if err["type"] == "extra_forbidden" else err.get("input")
                if isinstance(named, str) and named in unreplaced:
                    continue  # the `$name` itself is reported above
                loc = tuple(x for x in err["loc"] if not is_union_tag(x))
                problems.append(f"{_where(path, positions, loc)}{rule_id(data, loc)}: {describe(err)}")
            # The file is rejected either way, but report its bad expressions too, so the
            # author sees every error in one run.
            for loc, source in raw_expressions(data):
                try:
                    cel.compile(source)
                except ValueError as cel_exc:
                    rid = rule_id(data, loc)
                    dollar = dollar_at(path, positions, loc, source, params, cel_exc)
                    if dollar is not None:
                        problems.append(f"{dollar[0]}{rid}: expression `{source}`: {dollar[1]}")
                        continue
                    where = f"{_where(path, positions, loc)}{rid}"
                    problems.append(f"{where}: bad expression `{source}`: {cel_error(cel_exc)}")
            continue
        approvals = frozenset(values.get("approval", {}))
        problems += check_file(
            path, spec, positions, routes, frozenset(kinds), programs, approvals, expressions, places
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
        src: frozenset(variables(src, prog)) & CEL_VARIABLES
        for src, prog in (*programs.items(), *expressions.items())
    }
    parts = {src: tree(src).conjuncts() for src in programs}
    parts = {src: ps if all(p in programs for p in ps) else (src,) for src, ps in parts.items()}
    vocabulary = Vocabulary(names, values, {t: label for t, (label, _) in labels.items()})
    ruleset = RuleSet(
        tuple(compiled),
        programs,
        frozenset(kinds),
        digest.hexdigest()[:16],
        needs,
        parts,
        vocabulary,
        expressions,
    )
    # The fast path against CEL on the loaded conditions: a conjunct on which they disagree
    # runs on CEL alone (docs/architecture.md, "checked at start-up").
    distrusted = disagreements(ruleset, places)
    if distrusted:
        for sentence in distrusted.values():
            log.warning("%s", sentence)
        ruleset = dataclasses.replace(ruleset, distrusted=distrusted)
    return ruleset


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
