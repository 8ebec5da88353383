"""Anchors: the chain's head written outside the database, so that removing the newest rows
(or the whole history) shows.

The daemon appends the head (time, seq, HMAC, key id) to `audit.anchor_file`, one JSON line
per anchor, every `audit.anchor_interval_minutes`, and the daily digest mails the head's seq
and the first 12 hex digits of its HMAC to the office. Before writing, the anchorer replays
the rows since the last anchor: it vouches for a head only when the chain still carries the
last anchor's HMAC at its seq (not merely a seq as high) and every newer row links and
verifies under the key.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, Engine, select

from monitor.errors import ConfigError
from monitor.state.schema import chain_head

HEX = re.compile(r"^[0-9a-f]{12,64}$")
SHOWN = 12  # hex digits of the HMAC a digest shows


@dataclass(frozen=True, slots=True)
class Anchor:
    seq: int
    hmac: str  # the row's hash in hex: whole in the file, at least 12 digits from a digest
    at: datetime | None = None
    key_id: str | None = None
    origin: str = "--anchor"  # where it came from, for the findings: "file:line" or "--anchor"

    def matches(self, row_hash: str) -> bool:
        return row_hash.lower().startswith(self.hmac)

    def line(self) -> str:
        when = self.at.isoformat(timespec="seconds") if self.at else "?"
        return json.dumps(
            {"at": when, "seq": self.seq, "hmac": self.hmac, "key_id": self.key_id}, separators=(", ", ": ")
        )

    def named(self) -> str:
        when = f" of {self.at.isoformat(timespec='seconds')}" if self.at else ""
        return f"the anchor{when} ({self.origin}: row {self.seq}, {self.hmac[:SHOWN]})"


@dataclass(frozen=True, slots=True)
class Head:
    seq: int
    hash: str
    key_id: str | None

    def digest_line(self) -> str:
        """The line the daily digest carries, for the office to keep."""
        return f"存证链：第{self.seq}条，校验码 {self.hash[:SHOWN]}"


def read_head(conn: Connection) -> Head | None:
    row = conn.execute(
        select(chain_head.c.seq, chain_head.c.hash, chain_head.c.key_id).where(chain_head.c.id == 1)
    ).first()
    return None if row is None else Head(int(row.seq), str(row.hash), row.key_id)


def parse_anchor(text: str) -> Anchor:
    """`SEQ:HMAC` as given to `audit verify --anchor` (HMAC: the whole or at least 12 digits)."""
    seq, _, digits = text.strip().partition(":")
    digits = digits.strip().lower()
    if not seq.strip().isdigit() or not HEX.match(digits):
        raise ConfigError(
            f"--anchor {text!r}: expected SEQ:HMAC, a row number and at least {SHOWN} hex digits "
            "(as a digest's 存证链 line or the anchor file gives them)"
        )
    return Anchor(int(seq), digits)


def read_anchors(path: Path) -> tuple[list[Anchor], list[str]]:
    """Every anchor in the file, and a line for each that cannot be read (a missing file: none)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return [], []
    except (OSError, UnicodeDecodeError) as exc:
        return [], [f"anchor file {path} cannot be read: {exc}"]
    anchors: list[Anchor] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            digits = str(data["hmac"]).lower()
            if not HEX.match(digits) or not isinstance(data["seq"], int):
                raise ValueError("seq or hmac malformed")
            at = datetime.fromisoformat(data["at"]) if data.get("at") not in (None, "?") else None
            anchors.append(Anchor(data["seq"], digits, at, data.get("key_id"), f"{path}:{number}"))
        except (ValueError, KeyError, TypeError) as exc:
            problems.append(f"{path}:{number}: not an anchor line ({exc})")
    return anchors, problems


def append_anchor(path: Path, anchor: Anchor) -> None:
    """One line at the end of the file, synced to disk; the file is only ever appended to."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, (anchor.line() + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class AnchorOutcome:
    head: Head | None
    written: Anchor | None = None
    problems: tuple[str, ...] = ()  # the chain does not continue the last anchor: nothing written
    due: bool = True


def anchor_head(
    engine: Engine, path: Path, now: datetime, interval: timedelta | None = None
) -> AnchorOutcome:
    """Append the head to the anchor file, after checking it continues the last anchor.

    With `interval`, only when the last anchor is that old, and not again for a head the last
    anchor already holds (same seq and same HMAC)."""
    from alerts.audit.keys import has_keys, keyring_of
    from alerts.audit.replay import replay_since

    anchors, unreadable = read_anchors(path)
    last = max(anchors, key=lambda a: a.seq, default=None) if anchors else None
    newest = anchors[-1] if anchors else None
    if interval is not None and newest is not None and newest.at is not None and now < newest.at + interval:
        return AnchorOutcome(None, due=False)
    with engine.connect() as conn:
        head = read_head(conn)
        if head is None:
            return AnchorOutcome(None, problems=("the chain head row (sunlight_chain_head id 1) is missing",))
        keys = keyring_of(conn).by_id() if has_keys(conn) else {}
        problems = [*unreadable, *(str(f) for f in replay_since(conn, keys, last, head))]
        conn.rollback()
    if problems:
        return AnchorOutcome(head, problems=tuple(problems))
    if head.seq == 0:
        return AnchorOutcome(head)  # nothing recorded yet: nothing to anchor
    if interval is not None and last is not None and last.seq == head.seq and last.matches(head.hash):
        return AnchorOutcome(head)  # unchanged since the last anchor
    anchor = Anchor(head.seq, head.hash.lower(), now, head.key_id, str(path))
    append_anchor(path, anchor)
    return AnchorOutcome(head, anchor)
