"""The history replayed row by row: links, hashes, anchors, and the state each alert's
rows lead to. `audit verify` replays the whole chain; the anchorer, the rows since its last
anchor (`replay_since`)."""

from __future__ import annotations

import hmac
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Text, cast, select

from alerts.audit.anchors import Anchor, Head
from alerts.audit.keys import AuditKey
from alerts.history import GENESIS, row_hash
from monitor.state.schema import alert_history, aware

SYSTEM_ALERT = 0  # rows about no single alert (alerts.silences)
STATE_AFTER = {"raised": "open", "reopened": "open", "cured": "resolved", "closed": "resolved"}
STATE_AFTER["acknowledged"] = "acknowledged"
SETS_LEVEL = frozenset({"raised", "escalated", "reopened"})


@dataclass(frozen=True, slots=True)
class Finding:
    name: str  # stable: row_edited, rows_missing, truncated, alert_deleted, ...
    message: str

    def __str__(self) -> str:
        return f"{self.name}: {self.message}"


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


def history_query() -> Any:
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
    query = history_query().where(alert_history.c.chain_seq >= replay.from_seq)
    for r in conn.execute(query.execution_options(yield_per=5000)):
        replay.add(r)
    replay.close(head)
    return replay.findings
