"""`sunlight audit verify`: replay the history and hold the database to it and to the anchors.

Three checks, each damaged thing a named one-line finding, never a crash:
(a) every row links to the one before and carries a valid HMAC under a known key (or, for
    rows written before the keyed chain, a valid SHA-256), and the head matches the last row;
(b) every alert in `sunlight_alerts` has the level and state its history replays to, and
    every alert the history knows still exists;
(b') every 督办 in `sunlight_supervisions` says what its history rows say (alerts.supervision.audit);
(c) the chain still holds each anchor (the anchor file's, or one given from a digest) at its
    seq with the same HMAC: rows removed after an anchor, a head moved back, an erased
    history all show.
Every table is read in a savepoint inside one read-only snapshot, so a read that fails (a
missing table, a dropped column) is a finding and the other reads still run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import SQLAlchemyError

from alerts.audit.anchors import Anchor, Head, read_head
from alerts.audit.keys import AuditKey
from alerts.audit.replay import Finding, Replay, history_query, ranges
from alerts.supervision import audit as supervision_audit
from monitor.state.schema import alerts

MAX_LINES = 20  # findings of one name shown before "… and N more"


@dataclass(frozen=True, slots=True)
class Report:
    findings: tuple[Finding, ...]
    rows: int
    summary: str

    @property
    def ok(self) -> bool:
        return not self.findings

    def names(self) -> set[str]:
        return {f.name for f in self.findings}


def error_line(exc: BaseException) -> str:
    """The driver's own message, first line only, not SQLAlchemy's whole statement."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _guarded(conn: Connection, what: str, findings: list[Finding], work: Callable[[], object]) -> bool:
    """Run one table's reads in a savepoint: on PostgreSQL a failed read aborts the
    transaction, and the other tables must still be read."""
    try:
        with conn.begin_nested():
            work()
        return True
    except SQLAlchemyError as exc:
        findings.append(Finding("unreadable", f"{what} cannot be read: {error_line(exc)}"))
        return False


def snapshot(conn: Connection) -> None:
    """One consistent, read-only view of every table for the whole check."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN")  # pysqlite begins no transaction for reads by itself
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
    else:
        conn.exec_driver_sql("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")


def verify(
    engine: Engine,
    keys: Mapping[str, AuditKey],
    anchors: Sequence[Anchor] = (),
    *,
    anchor_expected: str | None = None,
) -> Report:
    """Replay the whole history; `anchor_expected` names where anchors should have come from
    (their absence is then a finding)."""
    replay = Replay(keys, anchors)
    findings: list[Finding] = []
    head: Head | None = None
    alerts_seen = 0
    try:
        with engine.connect() as conn:
            snapshot(conn)
            heads: list[Head | None] = []
            _guarded(conn, "sunlight_chain_head", findings, lambda: heads.append(read_head(conn)))
            if heads and heads[0] is None:
                findings.append(
                    Finding("head_missing", "the chain head row (sunlight_chain_head id 1) is missing")
                )
            head = heads[0] if heads else None

            def history() -> None:
                for r in conn.execute(history_query().execution_options(yield_per=5000)):
                    replay.add(r)

            read_whole = _guarded(conn, "sunlight_alert_history", findings, history)
            if read_whole:  # a chain read in part says nothing of its end
                replay.close(head if heads else None)
            else:
                replay.flush_rows()
            counted: list[int] = []
            if read_whole:
                _guarded(
                    conn, "sunlight_alerts", findings, lambda: counted.append(_compare_alerts(conn, replay))
                )
            alerts_seen = counted[0] if counted else 0
            if read_whole:
                _guarded(
                    conn,
                    "sunlight_supervisions",
                    findings,
                    lambda: replay.findings.extend(supervision_audit.compare(conn)),
                )
            conn.rollback()
    except SQLAlchemyError as exc:
        findings.append(Finding("unreadable", f"the state database cannot be read: {error_line(exc)}"))
    if anchor_expected is not None and not anchors and replay.rows:
        findings.append(
            Finding(
                "no_anchor",
                f"{anchor_expected} holds no anchor, so removing the newest rows would not show: "
                "run `sunlight audit anchor`, or give --anchor SEQ:HMAC from a digest",
            )
        )
    every = _capped([*findings, *replay.findings])
    return Report(tuple(every), replay.rows, _summary(replay, alerts_seen, anchors))


def _compare_alerts(conn: Connection, replay: Replay) -> int:
    a = alerts.c
    expected = dict(replay.alerts)
    unrecorded: list[int] = []
    seen = 0
    query = select(a.id, a.case_id, a.rule_id, a.level, a.state).order_by(a.id)
    for row in conn.execute(query.execution_options(yield_per=5000)):
        seen += 1
        level, state, _ = expected.pop(int(row.id), (None, None, None))
        name = f"alert {row.id} ({row.case_id}, {row.rule_id})"
        if state is None:
            unrecorded.append(int(row.id))
            continue
        if level is not None and row.level != level:
            replay.findings.append(
                Finding(
                    "alert_level_changed",
                    f"{name} is {row.level} in sunlight_alerts but {level} in its history",
                )
            )
        if row.state != state:
            replay.findings.append(
                Finding(
                    "alert_state_changed",
                    f"{name} is {row.state} in sunlight_alerts but {state} in its history",
                )
            )
    if unrecorded:
        replay.findings.append(
            Finding(
                "alert_unrecorded",
                f"alerts {ranges(unrecorded)} are in sunlight_alerts but not in the history: "
                "written outside the record",
            )
        )
    for alert_id, (level, _state, raised) in sorted(expected.items()):
        when = f", raised {raised.date().isoformat()}" if raised else ""
        replay.findings.append(
            Finding(
                "alert_deleted",
                f"alert {alert_id} ({level or 'level unknown'}{when}) is in the history "
                "but not in sunlight_alerts: deleted",
            )
        )
    return seen


def _capped(findings: list[Finding]) -> list[Finding]:
    out: list[Finding] = []
    counts: dict[str, int] = defaultdict(int)
    for f in findings:
        counts[f.name] += 1
        if counts[f.name] <= MAX_LINES:
            out.append(f)
    for name, n in counts.items():
        if n > MAX_LINES:
            out.append(Finding(name, f"… and {n - MAX_LINES} more like it"))
    return out


def _summary(replay: Replay, alerts_seen: int, anchors: Sequence[Anchor]) -> str:
    parts = [f"{replay.rows} history rows intact"]
    if replay.unkeyed:
        until = replay.unkeyed_until.date().isoformat() if replay.unkeyed_until else "?"
        parts.append(
            f"rows 1–{replay.unkeyed} unkeyed (before {until}), "
            "checked by SHA-256 and sealed by the first keyed row"
        )
    if replay.key_ids:
        parts.append("signed with key " + ", ".join(sorted(replay.key_ids)))
    parts.append(f"{alerts_seen} alerts agree with their history")
    held = [a for a in anchors if a.seq <= replay.last_seq]
    if held:
        newest = max(held, key=lambda a: a.seq)
        parts.append(f"{len(held)} anchors hold, the newest {newest.named()}")
    return "; ".join(parts)
