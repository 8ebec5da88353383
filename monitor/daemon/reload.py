"""Hot reload of rules and calendar: whole or not at all, keeping the last good set."""

from __future__ import annotations

import gc
import logging
import threading
import time
from pathlib import Path

from monitor.calendar import WorkCalendar, load_calendar
from monitor.engine import RuleSet, load_ruleset
from monitor.errors import ConfigError, RuleError
from monitor.metrics import Metrics

log = logging.getLogger(__name__)


def _snapshot(*folders: Path) -> tuple[tuple[str, float, int], ...]:
    """Names, mtimes and sizes of the YAML files: cheap to compare every few seconds."""
    out = []
    for folder in folders:
        if folder.is_dir():
            for p in sorted(folder.glob("*.yaml")):
                st = p.stat()
                out.append((str(p), st.st_mtime, st.st_size))
    return tuple(out)


def settle_heap() -> None:
    """Move what lives as long as the rules into the collector's permanent generation.

    A pass allocates hundreds of thousands of short-lived objects (cases, events, clocks),
    and each full collection they trigger walked every long-lived object too: the rule
    models, the compiled conditions, the SQLAlchemy metadata, the modules. Frozen, those are
    no longer scanned (a first start runs a tenth faster). Unfrozen first, so that the set a
    reload replaced is collected rather than kept for ever."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


class RuleHolder:
    """The active rule set and calendar; a failed reload leaves both as they were."""

    def __init__(
        self,
        rules_path: Path,
        calendar_path: Path,
        routes: frozenset[str],
        metrics: Metrics | None = None,
    ) -> None:
        self.rules_path = rules_path
        self.calendar_path = calendar_path
        self.routes = routes
        self.metrics = metrics
        self._lock = threading.Lock()
        self.errors: list[str] = []
        self._rules = load_ruleset(rules_path, routes)  # the first load must succeed
        self._calendar = load_calendar(calendar_path)
        self._seen = _snapshot(rules_path, calendar_path)
        self._loaded(time.time())

    def _loaded(self, at: float) -> None:
        settle_heap()
        if self.metrics is not None:
            self.metrics.reload_ok.set(1)
            self.metrics.reload_time.set(at)
            self.metrics.rules_loaded.set(self._rules.rule_count)
            self.metrics.set_calendar(self._calendar.known_until)

    def rules(self) -> RuleSet:
        with self._lock:
            return self._rules

    def calendar(self) -> WorkCalendar:
        with self._lock:
            return self._calendar

    def changed(self) -> bool:
        return _snapshot(self.rules_path, self.calendar_path) != self._seen

    def reload(self) -> bool:
        """Load both anew; on any error keep the last good pair and report the errors."""
        snapshot = _snapshot(self.rules_path, self.calendar_path)
        try:
            rules = load_ruleset(self.rules_path, self.routes)
            calendar = load_calendar(self.calendar_path)
        except (RuleError, ConfigError) as exc:
            self._seen = snapshot  # do not retry the same broken files every few seconds
            self.errors = exc.problems if isinstance(exc, RuleError) else [str(exc)]
            for problem in self.errors:
                log.error("rule reload failed, keeping the last good set: %s", problem)
            if self.metrics is not None:
                self.metrics.reload_ok.set(0)
            return False
        with self._lock:
            self._rules, self._calendar = rules, calendar
        self._seen = snapshot
        self.errors = []
        self._loaded(time.time())
        log.info("rules reloaded: %d rules, digest %s", rules.rule_count, rules.digest)
        return True
