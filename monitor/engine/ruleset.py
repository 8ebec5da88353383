"""A loaded rule set: its files, its compiled expressions and the plan each item type's
cases run (`monitor.engine.loader` builds it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import cel

from monitor.engine import rules as r
from monitor.engine.celsyntax import Tree, tree
from monitor.engine.fastpath import FastCondition, compile_fast
from monitor.engine.gates import PlannedRule, gates_of, never_for
from monitor.model import ItemType
from monitor.vocabulary import Vocabulary

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
    # Conjuncts whose fast-path answer disagreed with CEL's when the set was loaded
    # (monitor.engine.selfcheck), each with the sentence that names it: they run on CEL.
    distrusted: dict[str, str] = field(default_factory=dict)
    # How to run each expression: its conjuncts in order, each with its fast-path function
    # (monitor.engine.fastpath; None: CEL only) and whether it reads `events`.
    steps: dict[str, tuple[Step, ...]] = field(init=False)
    # The syntax tree of every expression and conjunct, parsed once for every reader.
    trees: dict[str, Tree] = field(init=False)

    def __post_init__(self) -> None:
        trees = {src: tree(src) for src in (*self.programs, *self.expressions)}
        object.__setattr__(self, "trees", trees)
        fast = {src: None if src in self.distrusted else compile_fast(src) for src in self.programs}
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
