"""What the record says about each department's items in a period: the raw figures a scheme
scores. Read with two grouped queries, so a year of a province's record is two scans.

Closed cases count in the period they closed; cards in the period their breach or warning
began (`monitor.report.began_in`), never in the period the daemon noticed them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, Text, cast, func, select

from monitor.report import began_in, counted
from monitor.state.schema import alerts, case_events, case_state, supervisions
from monitor.timeutil import utcnow


@dataclass(frozen=True, slots=True)
class Tally:
    """One department's figures for one item (or a sum of them) over one period."""

    closed: int = 0
    measured: int = 0  # closed cases a time limit measured: the rates' denominator
    on_time: int = 0  # early included
    early: int = 0
    overdue: int = 0
    red: Counter[str] = field(default_factory=Counter)  # by category
    yellow: Counter[str] = field(default_factory=Counter)
    disclosure_measured: int = 0  # closed cases whose disclosure (公开) went on time or late
    disclosed_on_time: int = 0
    supervised: int = 0  # 督办 whose reply deadline fell in the period and has passed
    replied_on_time: int = 0  # answered by that deadline (督办按时反馈)
    # The closed cases' outcomes by item type, "complaint measured", "complaint on_time"…,
    # for the rates of one kind of case (投诉按时办结率).
    typed: Counter[str] = field(default_factory=Counter)

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.closed + other.closed,
            self.measured + other.measured,
            self.on_time + other.on_time,
            self.early + other.early,
            self.overdue + other.overdue,
            self.red + other.red,
            self.yellow + other.yellow,
            self.disclosure_measured + other.disclosure_measured,
            self.disclosed_on_time + other.disclosed_on_time,
            self.supervised + other.supervised,
            self.replied_on_time + other.replied_on_time,
            self.typed + other.typed,
        )


Key = tuple[str, str]  # (department, item_code)


def _outcome_parts(outcome: str | None) -> tuple[str, ...]:
    """What a closed case's outcome counts towards: measured, on_time (early included), early."""
    if outcome == "early":
        return ("measured", "on_time", "early")
    if outcome == "on_time":
        return ("measured", "on_time")
    if outcome == "overdue":
        return ("measured",)
    return ()


def tallies(state: Engine, start: datetime, end: datetime, now: datetime | None = None) -> dict[Key, Tally]:
    """Every (department, item) with a closed case, a card or a 督办 in [start, end). A 督办
    counts once its reply deadline (24:00 of its last day) has passed as of `now`."""
    now = now or utcnow()
    closed: dict[Key, Counter[str]] = {}
    typed: dict[Key, Counter[str]] = {}  # outcomes by item type
    cards: dict[Key, tuple[Counter[str], Counter[str]]] = {}
    s = case_state.c
    with state.connect() as conn:
        rows = conn.execute(
            select(s.department, s.item_code, s.item_type, s.outcome, s.disclosure, func.count())
            .where(s.closed_at >= start, s.closed_at < end)
            .group_by(s.department, s.item_code, s.item_type, s.outcome, s.disclosure)
        )
        for dept, item, kind, outcome, disclosed, n in rows:
            counts = closed.setdefault((dept, item), Counter())
            kinds = typed.setdefault((dept, item), Counter())
            for part in _outcome_parts(outcome):
                kinds[f"{kind} {part}"] += int(n)
            counts[outcome or "unmeasured"] += int(n)
            counts["closed"] += int(n)
            counts[f"disclosure {disclosed}"] += int(n)
        rows = conn.execute(
            select(alerts.c.department, alerts.c.item_code, alerts.c.level, alerts.c.category, func.count())
            .where(began_in(start, end), counted())
            .group_by(alerts.c.department, alerts.c.item_code, alerts.c.level, alerts.c.category)
        )
        for dept, item, level, category, n in rows:
            red, yellow = cards.setdefault((dept, item), (Counter(), Counter()))
            (red if level == "red" else yellow)[category] += int(n)
        sup = supervisions.c
        rows = conn.execute(
            select(sup.department, alerts.c.item_code, sup.replied_at, sup.reply_due)
            .join(alerts, alerts.c.id == sup.alert_id)
            .where(sup.reply_due > start, sup.reply_due <= end, sup.reply_due <= now)
        )
        for dept, item, replied_at, due in rows:
            counts = closed.setdefault((dept, item), Counter())
            counts["supervised"] += 1
            counts["replied on time"] += replied_at is not None and replied_at <= due
    out: dict[Key, Tally] = {}
    for key in sorted(closed.keys() | cards.keys()):
        c = closed.get(key, Counter())
        red, yellow = cards.get(key, (Counter(), Counter()))
        measured = c["on_time"] + c["early"] + c["overdue"]
        out[key] = Tally(
            closed=c["closed"],
            measured=measured,
            on_time=c["on_time"] + c["early"],
            early=c["early"],
            overdue=c["overdue"],
            red=red,
            yellow=yellow,
            disclosure_measured=c["disclosure on_time"] + c["disclosure late"],
            disclosed_on_time=c["disclosure on_time"],
            supervised=c["supervised"],
            replied_on_time=c["replied on time"],
            typed=typed.get(key, Counter()),
        )
    return out


@dataclass(frozen=True, slots=True)
class Behind:
    """One card or closed case behind a unit's score: what the score can be opened into."""

    what: str  # 红牌, 黄牌, 超期办结, 按时办结, 提前办结, 未计时办结
    case_id: str
    item_code: str
    alert_id: int | None
    category: str | None
    title: str
    at: datetime  # the breach's (or warning's) beginning, or the case's closing


OUTCOME_NAMES = {"overdue": "超期办结", "on_time": "按时办结", "early": "提前办结", None: "未计时办结"}


def behind(
    state: Engine,
    start: datetime,
    end: datetime,
    department: str,
    item_code: str | None = None,
    *,
    officer: str | None = None,
    source: Engine | None = None,
) -> list[Behind]:
    """The cards and closed cases a unit's score in [start, end) was computed from, by time:
    a department's, one of its items', or (`officer`, read from the `source`'s steps) those
    of the cases whose steps name that person or post."""
    out = []
    with state.connect() as conn:
        q = select(alerts).where(began_in(start, end), counted(), alerts.c.department == department)
        if item_code is not None:
            q = q.where(alerts.c.item_code == item_code)
        for a in conn.execute(q):
            out.append(
                Behind(
                    "红牌" if a.level == "red" else "黄牌",
                    a.case_id,
                    a.item_code,
                    int(a.id),
                    a.category,
                    a.title,
                    a.breached_at or a.raised_at,
                )
            )
        q2 = select(case_state).where(
            case_state.c.closed_at >= start,
            case_state.c.closed_at < end,
            case_state.c.department == department,
        )
        if item_code is not None:
            q2 = q2.where(case_state.c.item_code == item_code)
        for c in conn.execute(q2):
            out.append(
                Behind(
                    OUTCOME_NAMES.get(c.outcome, "未计时办结"),
                    c.case_id,
                    c.item_code,
                    None,
                    None,
                    "",
                    c.closed_at,
                )
            )
    if officer is not None:
        if source is None:
            raise ValueError("an officer's cases are found in the source database's steps")
        people = officers(source, {b.case_id for b in out})
        out = [b for b in out if officer in people.get(b.case_id, ())]
    return sorted(out, key=lambda b: (b.at, b.case_id, b.alert_id or 0))


def by_officer(state: Engine, source: Engine, start: datetime, end: datetime) -> dict[Key, Tally]:
    """Every (department, handling officer or post) with a closed case or a card in [start,
    end): a case counts for each person or post its steps name (`actors`), so a case two
    officers handled is on both their records; a case whose steps name nobody counts for no
    one here (it still counts for its department)."""
    outcomes: dict[str, tuple[str, str | None, str | None, str]] = {}
    cards: dict[str, list[tuple[str, str]]] = {}
    with state.connect() as conn:
        s = case_state.c
        for case_id, dept, outcome, disclosed, kind in conn.execute(
            select(s.case_id, s.department, s.outcome, s.disclosure, s.item_type).where(
                s.closed_at >= start, s.closed_at < end
            )
        ):
            outcomes[case_id] = (dept, outcome, disclosed, kind)
        for case_id, dept, level, category in conn.execute(
            select(alerts.c.case_id, alerts.c.department, alerts.c.level, alerts.c.category).where(
                began_in(start, end), counted()
            )
        ):
            cards.setdefault(case_id, []).append((level, category))
            outcomes.setdefault(case_id, (dept, "card only", None, ""))
    people = officers(source, outcomes)
    out: dict[Key, Tally] = {}
    for case_id, (dept, outcome, disclosed, kind) in outcomes.items():
        red, yellow = Counter[str](), Counter[str]()
        for level, category in cards.get(case_id, ()):
            (red if level == "red" else yellow)[category] += 1
        closed = outcome != "card only"
        measured = outcome in ("on_time", "early", "overdue")
        one = Tally(
            closed=int(closed),
            measured=int(measured),
            on_time=int(outcome in ("on_time", "early")),
            early=int(outcome == "early"),
            overdue=int(outcome == "overdue"),
            red=red,
            yellow=yellow,
            disclosure_measured=int(disclosed in ("on_time", "late")),
            disclosed_on_time=int(disclosed == "on_time"),
            typed=Counter(f"{kind} {part}" for part in _outcome_parts(outcome)),
        )
        for person in people.get(case_id, ()):
            key = (dept, person)
            out[key] = out[key] + one if key in out else one
    return dict(sorted(out.items()))


def officers(source: Engine, case_ids: Iterable[str]) -> dict[str, set[str]]:
    """The people or posts each case's steps name, read from the source a chunk at a time."""
    ids = sorted(case_ids)
    out: dict[str, set[str]] = {}
    with source.connect() as conn:
        for i in range(0, len(ids), 1000):
            rows = conn.execute(
                select(case_events.c.case_id, cast(case_events.c.actors, Text)).where(
                    case_events.c.case_id.in_(ids[i : i + 1000])
                )
            )
            for case_id, actors in rows:
                try:
                    names = json.loads(actors) if actors else []
                except ValueError:
                    continue  # a bad record is a data-quality finding of its case, not a score
                if isinstance(names, list):
                    out.setdefault(case_id, set()).update(str(n) for n in names if n)
    return out
