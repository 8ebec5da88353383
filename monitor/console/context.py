"""What the console's services read: the databases, the rules and calendar, the zone."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from monitor.config import NotifyConfig
from monitor.daemon.reload import RuleHolder


@dataclass(frozen=True, slots=True)
class Services:
    state: Engine  # carries the history's keys: acknowledging writes a history row
    source: Engine
    holder: RuleHolder
    tz: ZoneInfo
    # Where the 督办 notices go (alerts.supervision), and the scoring scheme the public
    # assessment is computed under (None: no public assessment).
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    scheme: Path | None = None
