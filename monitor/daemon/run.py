"""The long-running daemon: APScheduler repeats small units of work.

Jobs: a pass (`poll_once`), draining the outbox, a cheap check for changed rule files
(every `rules.reload_check_seconds`), and anchoring the history's head outside the database
(looked at every minute, written every `audit.anchor_interval_minutes`). Each job does one
unit of work and returns; a unit that found work is followed by another at once, so the loop
sleeps only when idle. SIGTERM or SIGINT lets the running unit finish, starts no new one,
and stops; SIGHUP asks for a rule reload before the next pass.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from types import FrameType

from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import text

from alerts.audit.anchors import anchor_head
from alerts.dispatch import deliver
from alerts.outbox import notify_operators
from monitor.app import App
from monitor.daemon.http import serve
from monitor.daemon.poll import poll_once
from monitor.daemon.reload import RuleHolder
from monitor.daemon.workers import Workers
from monitor.engine import build as engine_build
from monitor.timeutil import utcnow

log = logging.getLogger(__name__)


class Daemon:
    def __init__(
        self, app: App, clock: Callable[[], datetime] = utcnow, *, fixed_now: datetime | None = None
    ) -> None:
        self.app = app
        self.fixed_now = fixed_now
        self.clock: Callable[[], datetime] = (lambda: fixed_now) if fixed_now is not None else clock
        self.holder: RuleHolder = app.holder()
        self.pipeline = app.pipeline(self.holder)
        self.notifier = app.notifier()
        self.scheduler = BlockingScheduler(timezone=app.config.timezone)
        self._reload_wanted = threading.Event()
        self._stopping = threading.Event()
        self.passes_ok = 0

    # -- units of work ---------------------------------------------------------------

    def check_rules(self) -> None:
        """Reload rules and calendar when their files changed or SIGHUP asked for it."""
        if self._reload_wanted.is_set() or self.holder.changed():
            self._reload_wanted.clear()
            if not self.holder.reload():
                notify_operators(
                    self.app.state,
                    self.app.config.notify,
                    "规则重新加载失败，继续使用上一版规则",
                    self.holder.errors,
                    self.clock(),
                )

    def run_pass(self) -> bool:
        try:
            result = poll_once(self.pipeline, self.clock())
        except Exception:
            self.app.metrics.passes.labels("error").inc()
            log.exception("evaluation pass failed; the next pass will retry from the same cursor")
            return False
        self.passes_ok += 1
        return result.worked

    def refresh_metrics(self) -> None:
        """The state gauges (open cases and alerts by department, outcomes) as one snapshot,
        every `metrics.state_refresh_seconds`: a job of its own, so that no evaluation pass
        pays for aggregating every case."""
        try:
            self.app.metrics.state.refresh(self.app.state, self.clock())
        except Exception:
            log.exception("refreshing the state metrics failed; the last snapshot stays")

    def send_notices(self) -> bool:
        try:
            cfg = self.app.config
            result = deliver(
                self.app.state, self.notifier, cfg.notify, self.holder.calendar(), self.clock(), cfg.tz
            )
        except Exception:
            log.exception("sending notices failed; they stay queued")
            return False
        m = self.app.metrics
        m.notices_sent.inc(result.sent)
        if result.failed:
            m.notices_failed.labels("true").inc(result.failed)
        if result.retrying:
            m.notices_failed.labels("false").inc(result.retrying)
        m.claims_lapsed.inc(result.lapsed)
        m.notices_set_aside.inc(result.set_aside)
        return result.worked

    def anchor(self) -> None:
        """Append the history's head to the anchor file when the interval has passed; a chain
        that does not continue the last anchor is reported, never anchored."""
        cfg = self.app.config
        now = self.clock()
        try:
            outcome = anchor_head(
                self.app.state,
                cfg.path(cfg.audit.anchor_file),
                now,
                timedelta(minutes=cfg.audit.anchor_interval_minutes),
            )
        except Exception:
            log.exception("anchoring the history failed; trying again in a minute")
            return
        m = self.app.metrics
        if outcome.problems:
            m.chain_consistent.set(0)
            log.error("the history does not continue its last anchor: %s", "; ".join(outcome.problems))
            notify_operators(
                self.app.state,
                cfg.notify,
                "存证链与上次锚点不符，未写入新锚点",
                [*outcome.problems, "请运行 sunlight audit verify 查明，并告知纪检监察室。"],
                now,
            )
            return
        m.chain_consistent.set(1)
        if outcome.written is not None:
            m.anchors.inc()
            log.info("history anchored at row %d", outcome.written.seq)

    def ready(self) -> tuple[bool, str]:
        """Ready when both databases answer, the source is whole and a rule set is loaded."""
        try:
            for engine in {self.app.source, self.app.state}:
                with engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            return False, f"database unreachable: {exc}"
        if self.pipeline.source_faults:
            return False, "; ".join(self.pipeline.source_faults.values())
        if self.holder.errors:
            return (
                True,
                f"ready (rule reload failed, last good set active: {self.holder.errors[0]})",
            )
        return True, f"ready: {self.holder.rules().rule_count} rules"

    # -- the loop --------------------------------------------------------------------

    def _repeat_while_working(self, unit: Callable[[], bool], limit: int = 50) -> None:
        for _ in range(limit):
            if self._stopping.is_set() or not unit():
                return

    def run(self) -> None:
        cfg = self.app.config
        server = None
        if cfg.metrics.enabled:
            server, _ = serve(cfg.metrics.host, cfg.metrics.port, self.app.metrics.registry, self.ready)
            log.info("metrics on http://%s:%d/metrics", cfg.metrics.host, cfg.metrics.port)
        interval = cfg.daemon.poll_interval_seconds
        self.scheduler.add_job(
            lambda: self._repeat_while_working(self.run_pass),
            "interval",
            seconds=interval,
            id="poll",
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(self.app.config.tz),
        )
        self.scheduler.add_job(
            self.check_rules,
            "interval",
            seconds=cfg.rules.reload_check_seconds,
            id="rules",
            max_instances=1,
            coalesce=True,
        )
        self.scheduler.add_job(
            lambda: self._repeat_while_working(self.send_notices),
            "interval",
            seconds=min(interval, 10),
            id="send",
            max_instances=1,
            coalesce=True,
        )
        self.scheduler.add_job(
            self.refresh_metrics,
            "interval",
            seconds=max(cfg.metrics.state_refresh_seconds, 1.0),
            id="metrics",
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(self.app.config.tz),
        )
        self.scheduler.add_job(
            self.anchor,
            "interval",
            seconds=60,
            id="anchor",
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(self.app.config.tz),
        )
        self._install_signals()
        workers = None
        if cfg.daemon.workers > 1:
            if self.app.state.dialect.name == "sqlite":
                log.warning(
                    "daemon.workers is %d, but SQLite has one writer: evaluating in one process",
                    cfg.daemon.workers,
                )
            else:
                workers = Workers(cfg, cfg.daemon.workers, self.fixed_now)
                workers.start()
        log.info("sunlight daemon started: polling every %.0fs, %s engine", interval, engine_build())
        try:
            self.scheduler.start()
        finally:
            if workers is not None:
                workers.stop()
            if server is not None:
                server.shutdown()
            self.app.dispose()
            log.info("sunlight daemon stopped")

    def _install_signals(self) -> None:
        def stop(signum: int, _frame: FrameType | None) -> None:
            log.info("signal %d: finishing the current unit of work, then stopping", signum)
            self._stopping.set()
            threading.Thread(target=self.scheduler.shutdown, kwargs={"wait": True}, daemon=True).start()

        def hup(_signum: int, _frame: FrameType | None) -> None:
            self._reload_wanted.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGHUP, hup)
