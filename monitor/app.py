"""Wiring: from a Config to engines, the rule holder, the pipeline and the notifier."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine

from alerts.notify.base import Notifier
from alerts.notify.eml import EmlNotifier
from alerts.notify.smtp import SmtpNotifier
from monitor.config import Config
from monitor.daemon.poll import Pipeline
from monitor.daemon.reload import RuleHolder
from monitor.metrics import Metrics
from monitor.source.reader import SourceReader
from monitor.state.db import make_engine, upgrade


@dataclass
class App:
    config: Config
    source: Engine
    state: Engine
    metrics: Metrics

    def upgrade(self) -> None:
        """Create or upgrade the schema: state always, source when Sunlight owns it."""
        if self.config.database.manages_source:
            upgrade(self.source, "source")
        upgrade(self.state, "state")

    def holder(self) -> RuleHolder:
        cfg = self.config
        return RuleHolder(
            cfg.path(cfg.rules.path),
            cfg.path(cfg.rules.calendar),
            frozenset(cfg.notify.routes),
            self.metrics,
        )

    def pipeline(self, holder: RuleHolder) -> Pipeline:
        d = self.config.daemon
        reader = SourceReader(
            self.source,
            gap_timeout=timedelta(seconds=d.gap_timeout_seconds),
            overlap=timedelta(seconds=d.change_overlap_seconds),
        )
        return Pipeline(
            self.config,
            self.source,
            self.state,
            reader,
            holder.rules,
            holder.calendar,
            self.metrics,
        )

    def notifier(self) -> Notifier:
        n = self.config.notify
        if n.smtp.url:
            return SmtpNotifier(n.smtp)
        return EmlNotifier(self.config.path(n.eml_dir))

    def dispose(self) -> None:
        self.source.dispose()
        if self.state is not self.source:
            self.state.dispose()


def build(config: Config, metrics: Metrics | None = None, *, create: bool = False) -> App:
    """The engines; they connect only when used. `create`: a SQLite file may be made
    (monitor.startup says who may ask for that)."""
    source = make_engine(config.source_url, create=create)
    state = source if config.state_url == config.source_url else make_engine(config.state_url, create=create)
    return App(config, source, state, metrics or Metrics())
