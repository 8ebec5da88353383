"""A batch that fails for one case's sake: find the case by halves and set it aside.

A batch of cases commits whole or not at all, and the due queue is ordered by next check, so
a case whose evaluation raises (something `evaluate` does not turn into a data_quality
finding: a value the database refuses, a notice that cannot be rendered) would fail its
batch at the head of the queue in every pass, and nothing behind it would ever be evaluated.
Instead the failed batch is evaluated again in halves, each half its own transaction, until
the failing case is alone; that case's next check is pushed back (`SET_ASIDE_FOR`), the
operators get a notice, and the rest of the batch is evaluated and committed.

Conflicts (another writer won a race) are not this: they keep their retry of the whole
batch (`poll._retrying`). Nor is a fault of the database or the code that every case meets:
when `SYSTEMIC` cases in a row fail alone before any part of the batch commits, nothing is
set aside and the pass fails as it did before, to be retried from the same queue.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, update
from sqlalchemy.exc import DBAPIError

from alerts.outbox import notify_operators
from monitor.config import NotifyConfig
from monitor.metrics import Metrics
from monitor.state.schema import case_state

log = logging.getLogger(__name__)
SET_ASIDE_FOR = timedelta(minutes=30)
SYSTEMIC = 3  # cases failing alone before anything commits: the fault is not the cases'
Totals = tuple[int, int, int]  # cases evaluated, alert changes, notices


class BatchError(Exception):
    """A batch failed for a reason other than a conflict; `case_ids` are the cases it held."""

    def __init__(self, case_ids: list[str], cause: Exception) -> None:
        self.case_ids = case_ids
        self.cause = cause
        super().__init__(f"a batch of {len(case_ids)} cases failed: {reason(cause)}")


@dataclass
class Isolated:
    totals: Totals = (0, 0, 0)
    poisoned: list[tuple[str, Exception]] = field(default_factory=list)


def reason(exc: BaseException) -> str:
    """One line about a failure, without the statement and parameters a database error
    carries (they may hold an applicant's personal data)."""
    inner = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    text = str(inner).strip().splitlines()[0] if str(inner).strip() else ""
    return f"{type(inner).__name__}: {text}"[:300]


def isolate(run: Callable[[list[str]], Totals | None], failed: BatchError) -> Isolated:
    """Evaluate the failed batch's cases again in halves, depth first; the cases that fail
    alone are returned as poisoned, the totals of everything that committed with them."""
    out = Isolated()
    committed = False
    stack: list[list[str]] = [failed.case_ids]
    known = failed  # the first chunk has failed already: no need to run it again
    while stack:
        ids = stack.pop()
        error = known if ids is known.case_ids else None
        if error is None:
            try:
                done = run(ids)
            except BatchError as exc:
                error = exc
            else:
                if done is not None:
                    committed = True
                    out.totals = (out.totals[0] + done[0], out.totals[1] + done[1], out.totals[2] + done[2])
                continue
        held = error.case_ids
        if len(held) > 1:
            half = len(held) // 2
            stack += [held[half:], held[:half]]  # the first half next
            continue
        out.poisoned.append((held[0], error.cause))
        if not committed and len(out.poisoned) >= SYSTEMIC:
            log.error(
                "%d cases of a batch each failed alone and none succeeded: the fault is not the "
                "cases'; none is set aside",
                len(out.poisoned),
            )
            raise failed.cause
    return out


def set_aside(
    engine: Engine,
    notify: NotifyConfig,
    metrics: Metrics | None,
    case_id: str,
    cause: Exception,
    now: datetime,
) -> bool:
    """Push one case's next check back and tell the operators; False if it was not due."""
    until = now + SET_ASIDE_FOR
    with engine.begin() as conn:
        moved = conn.execute(
            update(case_state)
            .where(case_state.c.case_id == case_id, case_state.c.next_check_at <= now)
            .values(next_check_at=until)
        )
    if moved.rowcount != 1:
        return False
    why = reason(cause)
    log.error(
        "case %s set aside until %s: its evaluation fails alone (%s); the rest of its batch went on",
        case_id,
        until.isoformat(),
        why,
        exc_info=cause,
        extra={"case": case_id, "reason": why},
    )
    if metrics is not None:
        metrics.cases_set_aside.inc()
    minutes = int(SET_ASIDE_FOR.total_seconds() // 60)
    notify_operators(
        engine,
        notify,
        "一件办件评估失败，已暂缓评估",
        [
            f"办件编号：{case_id}",
            f"原因：{why}",
            f"该办件{minutes}分钟后重新评估（期间有新的办理记录时更早）；同批其余办件已正常评估。",
            "请检查该办件在来源中的记录，或将日志中的错误报告给开发人员。",
        ],
        now,
    )
    return True
