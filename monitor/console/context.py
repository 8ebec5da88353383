"""What the console's services read: the databases, the rules and calendar, the zone."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from monitor.daemon.reload import RuleHolder


@dataclass(frozen=True, slots=True)
class Services:
    state: Engine  # carries the history's keys: acknowledging writes a history row
    source: Engine
    holder: RuleHolder
    tz: ZoneInfo
