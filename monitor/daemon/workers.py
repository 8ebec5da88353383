"""More processes for evaluation: `daemon.workers: N` on a server database.

Evaluation is Python and runs on one core per process. The due cases are a queue that any
number of processes claim from (`FOR UPDATE SKIP LOCKED`), so N-1 extra processes, started and
stopped with the main one, use N cores for a first start or a rule change. They only evaluate:
the main process reads the source (filling the queue), sends notices and serves the endpoints.
SQLite has one writer at a time, so there the setting is ignored.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
from datetime import datetime
from multiprocessing.context import SpawnProcess
from typing import Any

from monitor.config import Config
from monitor.timeutil import utcnow

log = logging.getLogger(__name__)
IDLE_SECONDS = 1.0  # the longest wait of an idle worker
FIRST_WAIT = 0.05  # the first wait after the queue ran dry


def _work(config: Config, fixed_now: datetime | None, stop: Any) -> None:
    """One extra process: passes until the main process says stop."""
    from monitor.app import build
    from monitor.daemon.poll import poll_once
    from monitor.logs import setup_logging

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the main process, which stops us
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    setup_logging(config.daemon.log_format, config.daemon.log_level)
    app = build(config)  # the main process has upgraded the schema
    holder = app.holder()
    pipeline = app.pipeline(holder)
    idle = 0  # passes in a row that found nothing
    try:
        while not stop.is_set():
            if holder.changed():
                holder.reload()
            worked = False
            try:
                worked = poll_once(pipeline, fixed_now or utcnow(), ingest=False).worked
            except Exception:
                log.exception("worker pass failed; retrying after the poll interval")
            idle = 0 if worked else idle + 1
            if idle:
                stop.wait(idle_wait(idle, config.daemon.poll_interval_seconds))
    finally:
        app.dispose()


def idle_wait(idle: int, poll_interval: float) -> float:
    """How long a worker waits after `idle` empty passes in a row. Looking at the queue is
    one index probe, so a worker looks again soon after it ran dry: during a first start
    the main process refills the queue page by page, and a second's wait at every page cost
    the worker two fifths of its time. A worker that stays idle backs off to one look a
    second (or the poll interval, if shorter)."""
    return min(poll_interval, IDLE_SECONDS, FIRST_WAIT * 2.0 ** min(idle - 1, 10))


class Workers:
    """The extra evaluation processes of one daemon."""

    def __init__(self, config: Config, count: int, fixed_now: datetime | None = None) -> None:
        self._ctx = multiprocessing.get_context("spawn")  # no inherited connections or threads
        self._stop = self._ctx.Event()
        self.processes: list[SpawnProcess] = [
            self._ctx.Process(target=_work, args=(config, fixed_now, self._stop), name=f"sunlight-worker-{i}")
            for i in range(1, count)
        ]

    def start(self) -> None:
        for p in self.processes:
            p.start()
        log.info("%d extra evaluation processes started", len(self.processes))

    def stop(self, timeout: float = 60.0) -> None:
        """Let each finish its batch, then stop; a process that hangs is terminated."""
        self._stop.set()
        for p in self.processes:
            p.join(timeout)
            if p.is_alive():
                log.warning("%s did not stop in %.0fs; terminating it", p.name, timeout)
                p.terminate()
                p.join(5)
