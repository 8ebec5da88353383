"""The 督办 → reply → ruling loop (预警纠错): the office supervises an alert, the department
answers, the office rules; an unanswered 督办 raises a red `supervision` alert.

The verbs (`service`) are what the web console and the CLI call; `loop` runs from the
daemon; `letter` renders the printable 工作督办函. docs/supervision.md explains the loop.
"""

from __future__ import annotations

from alerts.supervision.model import (
    MEASURES,
    InvalidInputError,
    Settings,
    Supervision,
    doc_number,
    settings_for,
)
from alerts.supervision.service import get, of_alert, open_supervisions, reply, rule, supervise

__all__ = [
    "MEASURES",
    "InvalidInputError",
    "Settings",
    "Supervision",
    "doc_number",
    "get",
    "of_alert",
    "open_supervisions",
    "reply",
    "rule",
    "settings_for",
    "supervise",
]
