"""`sunlight audit verify`'s look at the 督办: each row of `sunlight_supervisions` must say
what its history rows (supervised, replied, ruled: chained and signed) say.

The rows' own columns are not signed; the history is. Replaying a 督办's actions gives the
number, demand, state, round, who replied what and how the office ruled; a row that differs
(a reply's text edited in the database, a ruling changed) is a finding, and so is a row no
history row speaks of.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from alerts.audit.replay import Finding, ranges
from alerts.supervision.model import doc_number
from monitor.state.schema import alert_history, supervisions

ACTIONS = ("supervised", "replied", "ruled")
FIELDS = (
    "number",
    "demand",
    "note",
    "issued_by",
    "state",
    "round",
    "reply_kind",
    "reply_text",
    "replied_by",
    "decision",
    "ruling_note",
    "ruled_by",
    "person",
    "measure",
)


def _replayed(conn: Connection) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    query = (
        select(alert_history.c.action, alert_history.c.actor, alert_history.c.detail)
        .where(alert_history.c.action.in_(ACTIONS))
        .order_by(alert_history.c.chain_seq)
    )
    for action, actor, detail in conn.execute(query):
        sid = detail.get("supervision") if isinstance(detail, dict) else None
        if sid is None:
            continue
        if action == "supervised":
            out[int(sid)] = dict.fromkeys(FIELDS) | {
                "number": detail.get("number"),
                "demand": detail.get("demand"),
                "note": detail.get("note"),
                "issued_by": actor,
                "state": "issued",
                "round": 1,
            }
            continue
        s = out.setdefault(int(sid), dict.fromkeys(FIELDS))
        if action == "replied":
            s |= {
                "state": "replied",
                "reply_kind": detail.get("kind"),
                "reply_text": detail.get("text"),
                "replied_by": actor,
            }
        else:
            decision = detail.get("decision")
            s |= {
                "decision": decision,
                "ruling_note": detail.get("note"),
                "ruled_by": actor,
                "person": detail.get("person"),
                "measure": detail.get("measure"),
            }
            if decision == "rejected":
                s |= {
                    "state": "issued",
                    "round": (s["round"] or 1) + 1,
                    "reply_kind": None,
                    "reply_text": None,
                    "replied_by": None,
                }
            else:
                s["state"] = "ruled"
    return out


def compare(conn: Connection) -> list[Finding]:
    """One finding per 督办 row that differs from its history (naming the columns)."""
    expected = _replayed(conn)
    findings: list[Finding] = []
    unrecorded: list[int] = []
    for row in conn.execute(select(supervisions).order_by(supervisions.c.id)):
        want = expected.pop(int(row.id), None)
        if want is None:
            unrecorded.append(int(row.id))
            continue
        have = {f: getattr(row, f, None) for f in FIELDS if f != "number"}
        have["number"] = doc_number(row.doc_year, row.doc_seq)
        differ = [f for f in FIELDS if (have[f] or None) != (want[f] or None)]
        if differ:
            findings.append(
                Finding(
                    "supervision_changed",
                    f"supervision {row.id} ({have['number']}, alert {row.alert_id}): "
                    f"its row in sunlight_supervisions differs from its history in {', '.join(differ)}",
                )
            )
    if unrecorded:
        findings.append(
            Finding(
                "supervision_unrecorded",
                f"supervisions {ranges(unrecorded)} are in sunlight_supervisions but not in the history: "
                "written outside the record",
            )
        )
    for sid, want in sorted(expected.items()):
        findings.append(
            Finding(
                "supervision_deleted",
                f"supervision {sid} ({want['number']}) is in the history but not in sunlight_supervisions",
            )
        )
    return findings
