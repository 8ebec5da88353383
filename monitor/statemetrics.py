"""Gauges that summarise stored state, served from one snapshot.

The values come from a few grouped queries. They are computed first and then swapped in as
a whole, so a scrape never sees a half-filled set (as clearing and refilling live gauges
would allow). The daemon refreshes them in a job of its own every
`metrics.state_refresh_seconds`, never inside an evaluation pass, because at province scale
the grouping reads every open case.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, case, func, select

from monitor.state.schema import alerts, case_state, notices, supervisions

NOTICE_STATUSES = ("pending", "sending", "held", "silenced", "digested", "sent", "failed")
LEVEL_RANK = case((alerts.c.level == "red", 2), else_=1)


class StateCollector(Collector):
    def __init__(self) -> None:
        self._families: list[GaugeMetricFamily] = []
        self._lock = threading.Lock()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:
            families = list(self._families)
        yield from families

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())  # the families vary with the data; nothing to check at registration

    def refresh(self, state: Engine, now: datetime) -> None:
        """Recompute the snapshot and swap it in."""
        families = _query(state, now)
        with self._lock:
            self._families = families


def _query(state: Engine, now: datetime) -> list[GaugeMetricFamily]:
    alerts_open = GaugeMetricFamily(
        "sunlight_alerts_open",
        "Alerts not resolved, by category, level and department.",
        labels=["category", "level", "department"],
    )
    alerts_all = GaugeMetricFamily(
        "sunlight_alerts",
        "Every alert ever raised, by category, level, department and state.",
        labels=["category", "level", "department", "state"],
    )
    cases_open = GaugeMetricFamily(
        "sunlight_cases_open",
        "Open cases by department and the highest level of their open alerts (none, yellow, red).",
        labels=["department", "level"],
    )
    cases_closed = GaugeMetricFamily(
        "sunlight_cases_closed",
        "Closed cases by department and outcome against the time limit (on_time, early, overdue; "
        "unmeasured: no time limit timed the case).",
        labels=["department", "outcome"],
    )
    supervising = GaugeMetricFamily(
        "sunlight_supervisions_open",
        "Open 督办 by department and state (issued: awaiting the reply, replied: awaiting the "
        "ruling); overdue: the reply deadline has passed unanswered.",
        labels=["department", "state", "overdue"],
    )
    outbox = GaugeMetricFamily("sunlight_notices", "Notices in the outbox by status.", labels=["status"])
    oldest = GaugeMetricFamily(
        "sunlight_notice_oldest_pending_age_seconds", "Age of the oldest notice waiting to be sent."
    )
    with state.connect() as conn:
        for category, level, dept, st, n in conn.execute(
            select(
                alerts.c.category, alerts.c.level, alerts.c.department, alerts.c.state, func.count()
            ).group_by(alerts.c.category, alerts.c.level, alerts.c.department, alerts.c.state)
        ):
            alerts_all.add_metric([category, level, dept, st], n)
        open_by: dict[tuple[str, str, str], int] = {}
        for s in alerts_all.samples:
            if s.labels["state"] != "resolved":
                key = (s.labels["category"], s.labels["level"], s.labels["department"])
                open_by[key] = open_by.get(key, 0) + int(s.value)
        for key, n in sorted(open_by.items()):
            alerts_open.add_metric(list(key), n)
        worst = (
            select(alerts.c.case_id, func.max(LEVEL_RANK).label("rank"))
            .where(alerts.c.state != "resolved")
            .group_by(alerts.c.case_id)
            .subquery()
        )
        for dept, rank, n in conn.execute(
            select(case_state.c.department, worst.c.rank, func.count())
            .select_from(case_state.outerjoin(worst, worst.c.case_id == case_state.c.case_id))
            .where(case_state.c.open.is_(True), case_state.c.department != "")
            .group_by(case_state.c.department, worst.c.rank)
        ):
            cases_open.add_metric([dept, {2: "red", 1: "yellow"}.get(rank, "none")], n)
        for dept, result, n in conn.execute(
            select(case_state.c.department, case_state.c.outcome, func.count())
            .where(case_state.c.open.is_(False))
            .group_by(case_state.c.department, case_state.c.outcome)
        ):
            # No outcome: no rule timed the case (monitor.daemon.outcomes.outcome). Its own label keeps
            # it in the count of closed cases and out of the on-time rates.
            cases_closed.add_metric([dept, result or "unmeasured"], n)
        late = case(((supervisions.c.state == "issued") & (supervisions.c.reply_due <= now), 1), else_=0)
        for dept, st, overdue, n in conn.execute(
            select(supervisions.c.department, supervisions.c.state, late, func.count())
            .where(supervisions.c.state.in_(("issued", "replied")))
            .group_by(supervisions.c.department, supervisions.c.state, late)
        ):
            supervising.add_metric([dept, st, "true" if overdue else "false"], n)
        counts: dict[str, int] = {
            str(k): int(v)
            for k, v in conn.execute(select(notices.c.status, func.count()).group_by(notices.c.status))
        }
        first = conn.execute(
            select(func.min(notices.c.created_at)).where(notices.c.status.in_(("pending", "sending")))
        ).scalar()
    for status in NOTICE_STATUSES:
        outbox.add_metric([status], int(counts.get(status, 0)))
    oldest.add_metric([], (now - first).total_seconds() if first else 0.0)
    return [alerts_open, alerts_all, cases_open, cases_closed, supervising, outbox, oldest]
