"""The long-running daemon: APScheduler repeats small units of work.

Jobs: a pass (`poll_once`), draining the outbox, a cheap check for changed rule files
(every `rules.reload_check_seconds`), and anchoring the history's head outside the database
(looked at every minute, written every `audit.anchor_interval_minutes`). Each job does one
unit of work and returns; a unit that found work is followed by another at once, so the loop
sleeps only when idle. SIGTERM or SIGINT lets the running unit finish, starts no new one,
and stops; SIGHUP asks for a rule reload before the next pass.

An unreachable database or SMTP server stops nothing: the daemon waits for it with backoff
(monitor.daemon.deps), /readyz answers 503 naming it, and work resumes when it answers. An
SMTP outage holds the notices in the outbox while evaluation goes on.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from types import FrameType

from apscheduler.schedulers.base import SchedulerNotRunningError
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import Engine

from alerts.audit.anchors import anchor_head
from alerts.dispatch import deliver
from alerts.notify.smtp import SmtpNotifier
from alerts.outbox import notify_operators
from monitor.app import App
from monitor.daemon.deps import Dependencies
from monitor.daemon.http import Readiness, Reason, serve
from monitor.daemon.poll import poll_once
from monitor.daemon.reload import RuleHolder
from monitor.daemon.workers import Workers
from monitor.engine import build as engine_build
from monitor.errors import StartupError
from monitor.startup import Which, dependency, prepare_schema, reach
from monitor.timeutil import utcnow

log = logging.getLogger(__name__)


class Daemon:
    def __init__(
        self,
        app: App,
        clock: Callable[[], datetime] = utcnow,
        *,
        fixed_now: datetime | None = None,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        self.app = app
        self.fixed_now = fixed_now
        self.clock: Callable[[], datetime] = (lambda: fixed_now) if fixed_now is not None else clock
        self.holder: RuleHolder = app.holder()
        self.pipeline = app.pipeline(self.holder)
        self.notifier = app.notifier()
        self.outlets = app.outlets(self.notifier)  # e-mail and the other channels
        self.scheduler = BlockingScheduler(timezone=app.config.timezone)
        self._reload_wanted = threading.Event()
        self._stopping = threading.Event()
        self._shutdown_lock = threading.Lock()
        self._shutdown_started = False
        # Waits end at once on SIGTERM; tests pass a recorder and never sleep.
        shared = {"state_db": ("source_db",)} if app.source is app.state else {}
        self.deps = Dependencies(app.metrics, sleep or self._stopping.wait, shared)
        self.started = False  # the databases answered and the schema is there
        self._smtp_seen = False
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
        except Exception as exc:
            self.app.metrics.passes.labels("error").inc()
            if self.diagnose():
                log.warning("evaluation pass failed, a database does not answer: %s", _line(exc))
            else:
                log.exception("evaluation pass failed; the next pass will retry from the same cursor")
            return False
        self.passes_ok += 1
        return result.worked

    # -- dependencies ----------------------------------------------------------------

    def databases(self) -> list[Which]:
        """The state database, and the source database when it is another one."""
        return ["state"] if self.pipeline.source is self.pipeline.state else ["state", "source"]

    def _probe(self, which: Which) -> Callable[[], None]:
        def probe() -> None:  # the engine as it is at each attempt
            engine: Engine = self.pipeline.state if which == "state" else self.pipeline.source
            reach(self.app.config, engine, which)

        return probe

    def diagnose(self) -> bool:
        """After a failed unit of work: probe the databases; True when one does not answer."""
        failing = False
        for which in self.databases():
            try:
                failing |= not self.deps.check(dependency(which), self._probe(which))
            except StartupError as exc:  # a SQLite file gone: not worth waiting for, but said
                self.deps.down(dependency(which), str(exc))
                failing = True
        return failing

    def wait_for_databases(self, *, always: bool = False) -> bool:
        """Wait, with backoff, for each database marked down (every one, at start); False
        when the daemon was asked to stop meanwhile."""
        for which in self.databases():
            name = dependency(which)
            if (always or self.deps.is_down(name)) and not self.deps.wait_for(
                name, self._probe(which), self._stopping.is_set
            ):
                return False
        return True

    def smtp_ready(self) -> bool:
        """With SMTP configured: probe it once at the start, and wait for it while it is down
        (the notices stay queued; the passes run in their own job meanwhile)."""
        notifier = self.notifier
        if not isinstance(notifier, SmtpNotifier):
            return True
        if self._smtp_seen and not self.deps.is_down("smtp"):
            return True

        def probe() -> None:
            # While the mail server is awaited, SMS and the robots do not wait with it: a red
            # must reach its people by whatever channel is up.
            self.send_notices(skip_email=True)
            notifier.probe()

        if not self.deps.wait_for("smtp", probe, self._stopping.is_set):
            return False
        self._smtp_seen = True
        return True

    def poll_job(self) -> None:
        try:
            if not self.wait_for_databases():
                return
        except StartupError as exc:
            log.error("%s", exc)
            return
        self._repeat_while_working(self.run_pass)

    def send_job(self) -> None:
        if self.deps.is_down("state_db"):
            return  # the poll job waits for it; the notices are in it and stay there
        if self.smtp_ready():
            self._repeat_while_working(self.send_notices)

    def refresh_metrics(self) -> None:
        """The state gauges (open cases and alerts by department, outcomes) as one snapshot,
        every `metrics.state_refresh_seconds`: a job of its own, so that no evaluation pass
        pays for aggregating every case."""
        try:
            self.app.metrics.state.refresh(self.app.state, self.clock())
        except Exception:
            log.exception("refreshing the state metrics failed; the last snapshot stays")

    def send_notices(self, *, skip_email: bool = False) -> bool:
        try:
            cfg = self.app.config
            self.outlets.email = self.notifier  # the e-mail notifier of the moment (tests swap it)
            result = deliver(
                self.app.state, self.outlets, cfg.notify, self.holder.calendar(), self.clock(), cfg.tz,
                console_url=cfg.web.base_url, reach=self.app.reach(), skip_email=skip_email,
            )  # fmt: skip
        except Exception as exc:
            if self.diagnose():
                log.warning("sending notices failed, they stay queued: %s", _line(exc))
            else:
                log.exception("sending notices failed; they stay queued")
            return False
        m = self.app.metrics
        m.notices_sent.inc(result.sent)
        if result.failed:
            m.notices_failed.labels("true").inc(result.failed)
        if result.retrying:
            m.notices_failed.labels("false").inc(result.retrying)
        m.claims_lapsed.inc(result.lapsed)
        for channel, outcome, n in result.by_channel:
            m.channel_notices.labels(channel, outcome).inc(n)
        m.notices_set_aside.inc(result.set_aside)
        smtp = self.notifier if isinstance(self.notifier, SmtpNotifier) else None
        if (
            not skip_email
            and result.retrying
            and smtp is not None
            and not self.deps.check("smtp", smtp.probe)
        ):
            return False  # the server is down: the next send job waits for it
        return result.worked

    def anchor(self) -> None:
        """Append the history's head to the anchor file when the interval has passed; a chain
        that does not continue the last anchor is reported, never anchored."""
        cfg = self.app.config
        now = self.clock().astimezone(cfg.tz)  # the anchor file reads in local time, as notices do
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

    def ready(self) -> Readiness:
        """Ready when the databases (and SMTP, if used) answered when last asked, the
        schema is there, the source is whole and a rule set is loaded."""
        reasons = self.deps.reasons()
        if not self.started and not reasons:
            reasons.append(Reason("starting", "connecting to the databases"))
        faults = self.pipeline.source_faults.values()
        reasons += [Reason("source", fault.removeprefix("source fault: ")) for fault in faults]
        if self.holder.errors:
            text = f"rule reload failed, last good set active: {self.holder.errors[0]}"
            reasons.append(Reason("rules", text, blocking=False))
        return Readiness(tuple(reasons), f"ready: {self.holder.rules().rule_count} rules")

    # -- the loop --------------------------------------------------------------------

    def _repeat_while_working(self, unit: Callable[[], bool], limit: int = 50) -> None:
        for _ in range(limit):
            if self._stopping.is_set() or not unit():
                return

    def run(self, *, init: bool = False) -> None:
        """Serve the endpoints, wait for the databases, check (or with `init` create) the
        schema, then run the jobs until a signal. Start-up failures raise StartupError."""
        cfg = self.app.config
        server = None
        self._install_signals()
        try:
            if cfg.metrics.enabled:
                origin = cfg.origin("metrics.port")
                server, _ = serve(
                    cfg.metrics.host, cfg.metrics.port, self.app.metrics.registry, self.ready, origin
                )
            if not self.wait_for_databases(always=True):
                return  # asked to stop while waiting
            prepare_schema(self.app, create=init)
            # The history's key, generated once in the default place and checked against the
            # chain; the pipeline is rebuilt so every writer carries it.
            self.app.prepare_audit()
            self.pipeline = self.app.pipeline(self.holder)
            self.started = True
            if server is not None:  # said once started: a failed start is one line
                log.info("metrics on http://%s:%d/metrics", cfg.metrics.host, server.server_port)
            if not self._stopping.is_set():
                self._schedule()
        finally:
            if server is not None:
                server.shutdown()
                server.server_close()
            self.app.dispose()
            if self.started:  # a start-up failure is one line, said by the caller
                log.info("sunlight daemon stopped")

    def _schedule(self) -> None:
        cfg = self.app.config
        interval = cfg.daemon.poll_interval_seconds
        self.scheduler.add_job(
            self.poll_job,
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
            self.send_job,
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
        workers = None
        if cfg.daemon.workers > 1:
            if not self.pipeline.store.locks:
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

    def stop(self) -> None:
        """Start no new unit of work, end any wait for a dependency, let the running one finish."""
        self._stopping.set()
        with self._shutdown_lock:
            # A second signal (SIGTERM to the process group, then SIGINT) must not shut the
            # scheduler down twice: APScheduler raises on the second call.
            if self._shutdown_started or not self.scheduler.running:
                return
            self._shutdown_started = True
        threading.Thread(target=self._shutdown_scheduler, daemon=True).start()

    def _shutdown_scheduler(self) -> None:
        with contextlib.suppress(SchedulerNotRunningError):  # it stopped on its own meanwhile
            self.scheduler.shutdown(wait=True)

    def _install_signals(self) -> None:
        def stop(signum: int, _frame: FrameType | None) -> None:
            log.info("signal %d: finishing the current unit of work, then stopping", signum)
            self.stop()

        def hup(_signum: int, _frame: FrameType | None) -> None:
            self._reload_wanted.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGHUP, hup)


def _line(exc: BaseException) -> str:
    """An exception as one line (a driver's message can run over several)."""
    orig = getattr(exc, "orig", None) or exc
    first = next((line.strip() for line in str(orig).splitlines() if line.strip()), "")
    return f"{type(orig).__name__}: {first}"
