"""The flow chart (流程图) as an order the record must show, and the finding when it does not.

A rule file's `flow:` lists chains of stages; a case's first step of a later stage must not
be timed before the first step of an earlier one. A record that breaks the order cannot be
right as it stands (a decision before the acceptance, a delivery before the decision): it
is a data-quality finding naming both steps, and the rules that would otherwise rest a red
on it (a clock whose stop is timed before its start, a precedence whose `before` step is
recorded after its `after` step although the flow orders them) give way to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from monitor.engine import rules as r
from monitor.engine.context import CaseContext, Contradiction
from monitor.engine.loader import Chain
from monitor.engine.messages import fmt_instant
from monitor.model import Category, Event, Finding, Level

STEP_ORDER_RULE = "data_quality.step_order"
STEP_ORDER_TITLE = "办件环节时间顺序矛盾"


def _match(ctx: CaseContext, chain: Chain, stage: int, e: Event) -> r.EventMatch | None:
    for m in chain.stages[stage]:
        if e.kind == m.kind and (m.when is None or ctx.test(m.when, chain.params, e)):
            return m
    return None


def _matches(ctx: CaseContext, chain: Chain, stage: int, e: Event) -> bool:
    return _match(ctx, chain, stage, e) is not None


def _first(ctx: CaseContext, chain: Chain, stage: int) -> tuple[Event, r.EventMatch] | None:
    """The first step of a stage, and the match that found it."""
    matches = chain.stages[stage]
    if chain.plain[stage]:
        found = [(ctx.firsts[m.kind], m) for m in matches if m.kind in ctx.firsts]
        return min(found, key=lambda pair: (pair[0].at, pair[0].seq)) if found else None
    for e in ctx.case.events:
        m = _match(ctx, chain, stage, e)
        if m is not None:
            return e, m
    return None


def chain_contradictions(ctx: CaseContext, chains: Sequence[Chain]) -> list[Contradiction]:
    """Every pair of stages whose first steps the case records in the wrong order."""
    out: list[Contradiction] = []
    counts = ctx.counts
    for chain in chains:
        present = [i for i, kinds in enumerate(chain.kinds) if not kinds.isdisjoint(counts)]
        if len(present) < 2:
            continue  # nothing to put in order
        firsts = {i: _first(ctx, chain, i) for i in present}
        for j in present:
            late = firsts[j]
            if late is None:
                continue
            for i in present:
                earlier = firsts[i]
                if i < j and earlier is not None and late[0].at < earlier[0].at:
                    out.append(Contradiction(late[0], earlier[0], late[1].name, earlier[1].name))
    return out


def orders(ctx: CaseContext, chains: Sequence[Chain], first: Event, then: Event) -> bool:
    """Whether a flow chart of the case puts `first`'s stage before `then`'s."""
    for chain in chains:
        at = [i for i in range(len(chain.stages)) if _matches(ctx, chain, i, first)]
        if at and any(_matches(ctx, chain, j, then) for j in range(at[0] + 1, len(chain.stages))):
            return True
    return False


def step_order_finding(ctx: CaseContext, found: Sequence[Contradiction], tz: ZoneInfo) -> Finding:
    """One finding for all of a case's contradictions: each early step with the steps the
    flow requires before it, and their times."""
    names: dict[int, str] = {}
    by_early: dict[int, tuple[Event, list[Event]]] = {}
    for c in found:
        for e, name in ((c.early, c.early_name), (c.required, c.required_name)):
            if name or id(e) not in names:
                names[id(e)] = name or ctx.step_name(e)
        early, required = by_early.setdefault(id(c.early), (c.early, []))
        if all(x is not c.required for x in required):
            required.append(c.required)

    def said(e: Event) -> str:
        return f"“{names[id(e)]}”（{fmt_instant(e.at, tz)}）"

    lines = []
    for early, required in sorted(by_early.values(), key=lambda pair: (pair[0].at, pair[0].seq)):
        before = "、".join(said(x) for x in sorted(required, key=lambda x: x.at))
        lines.append(f"{said(early)}早于{before}")
    return Finding(
        STEP_ORDER_RULE,
        STEP_ORDER_TITLE,
        Category.DATA_QUALITY,
        Level.YELLOW,
        f"办件记录的环节先后与流程图不符：{'；'.join(lines)}。这些记录不能同时成立，请核对并更正；"
        "更正前，系统不依据相互矛盾的环节时间作出时限或程序违规判断。",
        "",
        None,
        ("department",),
    )
