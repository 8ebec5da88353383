"""`sunlight audit verify`: replay the history and hold the database to it and to the anchors.

Three checks, each damaged thing a named one-line finding, never a crash:
(a) every row links to the one before and carries a valid HMAC under a known key (or, for
    rows written before the keyed chain, a valid SHA-256), and the head matches the last row;
(b) every alert in `sunlight_alerts` has the level and state its history replays to, and
    every alert the history knows still exists;
(c) the chain still holds each anchor (the anchor file's, or one given from a digest) at its
    seq with the same HMAC: rows removed after an anchor, a head moved back, an erased
    history all show.
Every table is read in a savepoint inside one read-only snapshot, so a read that fails (a
missing table, a dropped column) is a finding and the other reads still run.
"""

from __future__ import annotations

import hmac
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Text, cast, select
from sqlalchemy.exc import SQLAlchemyError

from alerts.audit.anchors import Anchor, Head, read_head
from alerts.audit.keys import AuditKey
from alerts.history import GENESIS, row_hash
from monitor.state.schema import alert_history, alerts, aware

SYSTEM_ALERT = 0  # rows about no single alert (alerts.silences)
STATE_AFTER = {"raised": "open", "reopened": "open", "cured": "resolved", "closed": "resolved"}
STATE_AFTER["acknowledged"] = "acknowledged"
SETS_LEVEL = frozenset({"raised", "escalated", "reopened"})
MAX_LINES = 20  # findings of one name shown before "… and N more"


@dataclass(frozen=True, slots=True)
class Finding:
    name: str  # stable: row_edited, rows_missing, truncated, alert_deleted, ...
    message: str

    def __str__(self) -> str:
        return f"{self.name}: {self.message}"


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


def ranges(seqs: Sequence[int], limit: int = 6) -> str:
    """[3, 4, 5, 9] -> "3–5, 9"."""
    runs: list[tuple[int, int]] = []
    for s in seqs:
        if runs and s == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], s)
        else:
            runs.append((s, s))
    shown = [f"{a}" if a == b else f"{a}–{b}" for a, b in runs[:limit]]
    return ", ".join(shown) + (f" and {len(runs) - limit} more runs" if len(runs) > limit else "")


class Replay:
    """The chain read row by row: links, hashes, anchors and the alerts' replayed state."""

    def __init__(
        self,
        keys: Mapping[str, AuditKey],
        anchors: Iterable[Anchor] = (),
        *,
        from_seq: int = 1,
        prev: str | None = GENESIS,
        track_alerts: bool = True,
    ) -> None:
        """`from_seq` and `prev`: where the replay starts and the hash the row there must link
        to (None: not checked, when the replay starts in the middle of the chain)."""
        self.keys = keys
        self.anchors: dict[int, list[Anchor]] = defaultdict(list)
        for a in anchors:
            self.anchors[a.seq].append(a)
        self.from_seq = from_seq
        self.expected = from_seq
        self.prev = prev
        self.last_seq = from_seq - 1
        self.last_hash: str | None = prev
        self.rows = 0
        self.keyed_from: int | None = None
        self.unkeyed = 0
        self.unkeyed_until: datetime | None = None
        self.key_ids: set[str] = set()
        self.per_row: dict[tuple[str, str], list[int]] = defaultdict(list)
        self.findings: list[Finding] = []
        self.track_alerts = track_alerts
        self.alerts: dict[int, tuple[str | None, str | None, datetime | None]] = {}

    def add(self, r: Any) -> None:
        seq = int(r.chain_seq)
        self.rows += 1
        if seq > self.expected:
            self.findings.append(
                Finding(
                    "rows_missing", f"rows {self.expected}–{seq - 1} are missing from the chain (deleted)"
                )
            )
        elif self.prev is not None and r.prev_hash != self.prev:
            self.per_row[
                ("broken_link", "do not link to the row before: reordered, or that row was replaced")
            ].append(seq)
        at, detail, trouble = _parsed(r)
        if trouble:
            self.per_row[trouble].append(seq)
        else:
            assert at is not None
            self._check_hash(r, seq, at, detail)
            self._replay(r, at)
        for a in self.anchors.get(seq, ()):
            if not a.matches(str(r.hash)):
                self.findings.append(
                    Finding(
                        "anchor_mismatch",
                        f"row {seq} does not carry the HMAC of {a.named()}: "
                        "the chain was rewritten after it was anchored",
                    )
                )
        self.prev = str(r.hash)
        self.last_seq, self.last_hash = seq, str(r.hash)
        self.expected = seq + 1

    def _check_hash(self, r: Any, seq: int, at: datetime, detail: Any) -> None:
        kid = r.key_id
        key: AuditKey | None = None
        if kid is None:
            if self.keyed_from is not None:
                self.per_row[
                    (
                        "unkeyed_after_keyed",
                        f"are unkeyed after keyed rows began at row {self.keyed_from}: "
                        "rewritten without the key",
                    )
                ].append(seq)
                return
            self.unkeyed += 1
            self.unkeyed_until = at
        else:
            if self.keyed_from is None:
                self.keyed_from = seq
            key = self.keys.get(str(kid))
            if key is None:
                self.per_row[
                    (
                        "unknown_key",
                        f"are signed with key id {kid}, which no configured key has (a wrong key, "
                        "or a retired key missing from audit.previous_key_files)",
                    )
                ].append(seq)
                return
            self.key_ids.add(str(kid))
        want = row_hash(key, str(r.prev_hash), seq, int(r.alert_id), at, r.action, r.level, r.actor, detail)
        if not hmac.compare_digest(want, str(r.hash)):
            what = f"key {kid}" if kid else "SHA-256 (unkeyed)"
            self.per_row[
                ("row_edited", f"were edited after they were written (hash mismatch under {what})")
            ].append(seq)

    def _replay(self, r: Any, at: datetime) -> None:
        alert_id = int(r.alert_id)
        if not self.track_alerts or alert_id == SYSTEM_ALERT:
            return
        level, state, raised = self.alerts.get(alert_id, (None, None, None))
        if r.action in SETS_LEVEL and r.level:
            level = r.level
        state = STATE_AFTER.get(r.action, state)
        if r.action == "raised":
            raised = at
        self.alerts[alert_id] = (level, state, raised)

    def flush_rows(self) -> None:
        for (name, what), seqs in self.per_row.items():
            self.findings.append(Finding(name, f"rows {ranges(seqs)} {what}"))
        self.per_row.clear()

    def close(self, head: Head | None) -> None:
        """The end of the chain against its head and the anchors past it."""
        self.flush_rows()
        if head is not None and (
            head.seq != self.last_seq or (self.last_hash and head.hash != self.last_hash)
        ):
            if head.seq > self.last_seq:
                self.findings.append(
                    Finding(
                        "truncated",
                        f"the head records row {head.seq} but the chain ends at row {self.last_seq}: "
                        "the newest rows were deleted",
                    )
                )
            else:
                self.findings.append(
                    Finding(
                        "head_mismatch",
                        f"the head records row {head.seq} ({head.hash[:12]}) but the chain ends at row "
                        f"{self.last_seq} ({(self.last_hash or '')[:12]}): the head was moved",
                    )
                )
        beyond = [a for seq, found in self.anchors.items() if seq > self.last_seq for a in found]
        if beyond:
            a = max(beyond, key=lambda x: x.seq)
            where = f"head at row {head.seq}" if head is not None else "no head row"
            if self.rows == 0 and self.from_seq == 1:
                self.findings.append(
                    Finding(
                        "history_erased",
                        f"the history holds no rows ({where}), but {a.named()} records row {a.seq}: "
                        "the history was erased",
                    )
                )
            else:
                self.findings.append(
                    Finding(
                        "truncated",
                        f"the chain ends at row {self.last_seq} ({where}), "
                        f"but {a.named()} records row {a.seq}: "
                        f"rows {self.last_seq + 1}–{a.seq} were deleted after it was anchored",
                    )
                )


def _parsed(r: Any) -> tuple[datetime | None, Any, tuple[str, str] | None]:
    """A row's time and detail from their stored text: anything else is a finding, not a crash."""
    try:
        at = aware(r.at) if isinstance(r.at, datetime) else aware(str(r.at))
    except (TypeError, ValueError):
        return None, None, ("bad_time", "have a time that is not a time (`at` was overwritten)")
    raw = r.detail
    if isinstance(raw, (dict, list)):
        return at, raw, None
    try:
        return at, json.loads(raw), None
    except (TypeError, ValueError):
        return at, None, ("detail_not_json", "have a `detail` that is not JSON (overwritten)")


def _history_query() -> Any:
    h = alert_history.c
    # `at` and `detail` as stored text, parsed here: a value the column type cannot read
    # (an overwritten time, a detail that is not JSON) must be a finding, not an exception.
    return select(
        h.id,
        h.chain_seq,
        h.alert_id,
        cast(h.at, Text).label("at"),
        h.action,
        h.level,
        h.actor,
        cast(h.detail, Text).label("detail"),
        h.prev_hash,
        h.hash,
        h.key_id,
    ).order_by(h.chain_seq)


def _guarded(conn: Connection, what: str, findings: list[Finding], work: Any) -> bool:
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
                for r in conn.execute(_history_query().execution_options(yield_per=5000)):
                    replay.add(r)

            read_whole = _guarded(conn, "sunlight_alert_history", findings, history)
            replay.close(head if heads else None)
            counted: list[int] = []
            if read_whole:
                _guarded(
                    conn, "sunlight_alerts", findings, lambda: counted.append(_compare_alerts(conn, replay))
                )
            alerts_seen = counted[0] if counted else 0
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


def replay_since(
    conn: Connection, keys: Mapping[str, AuditKey], last: Anchor | None, head: Head
) -> list[Finding]:
    """What the anchorer checks before vouching for `head`: the rows after the last anchor,
    which must continue it."""
    if last is not None and head.seq < last.seq:
        return [
            Finding(
                "truncated",
                f"the head is at row {head.seq} but {last.named()} records row {last.seq}: rows were removed",
            )
        ]
    if last is None:
        replay = Replay(keys, track_alerts=False)
    else:
        replay = Replay(keys, [last], from_seq=last.seq, prev=None, track_alerts=False)
    query = _history_query().where(alert_history.c.chain_seq >= replay.from_seq)
    for r in conn.execute(query.execution_options(yield_per=5000)):
        replay.add(r)
    replay.close(head)
    return replay.findings
