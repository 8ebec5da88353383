"""Wiring: from a Config to engines, the rule holder, the pipeline and the notifier."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine

from alerts.audit.keys import AuditKeyError, Keyring, ensure_key, keyed, load_keyring
from alerts.ladder import Reach
from alerts.notify.base import Notifier
from alerts.notify.eml import EmlNotifier
from alerts.notify.smtp import SmtpNotifier
from alerts.outlets import Outlets
from monitor.config import Config
from monitor.daemon.poll import Pipeline
from monitor.daemon.reload import RuleHolder
from monitor.metrics import Metrics
from monitor.people.reach import DirectoryReach
from monitor.source.reader import SourceReader
from monitor.state.db import make_engine, upgrade


@dataclass
class App:
    config: Config
    source: Engine
    state: Engine
    metrics: Metrics
    keys: Keyring | None = None  # None: no usable key; reading works, writing history fails

    def prepare_audit(self) -> Keyring:
        """For the commands that write (run, demo, db upgrade): the history's key, generated
        in the default place when there is none yet, and checked against the chain."""
        keys = ensure_key(self.config, self.state)
        self.keys = keys
        self.state = keyed(self.state, keys)
        if self.config.state_url == self.config.source_url:
            self.source = self.state
        return keys

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

    def outlets(self, email: Notifier | None = None) -> Outlets:
        """The e-mail notifier and the other channels (alerts.outlets), built when first used."""
        n = self.config.notify
        # Without an SMTP server (the embedded default) an unconfigured channel writes files
        # beside the .eml ones; with one, it waits for its configuration (`sunlight check`).
        folder = None if n.smtp.url else self.config.path(n.eml_dir)
        return Outlets(email or self.notifier(), n.channels, folder=folder)

    def reach(self) -> Reach:
        """Who holds a role for a case, from the people directory in the source (read once
        per send, when the ladder first asks)."""
        return DirectoryReach(self.source)

    def dispose(self) -> None:
        self.source.dispose()
        if self.state is not self.source:
            self.state.dispose()


def build(config: Config, metrics: Metrics | None = None, *, create: bool = False) -> App:
    """Engines for the configured databases; they connect only when used. `create`: a SQLite
    file may be made (monitor.startup says who may ask for that). The state engine carries
    the history's keys when they can be read (never generated here: read-only commands build
    an App too)."""
    try:
        keys: Keyring | None = load_keyring(config)
    except AuditKeyError:
        keys = None
    source = make_engine(config.source_url, create=create)
    same = config.state_url == config.source_url
    state = source if same else make_engine(config.state_url, create=create)
    if keys is not None:
        state = keyed(state, keys)
        if same:
            source = state
    return App(config, source, state, metrics or Metrics(), keys)
