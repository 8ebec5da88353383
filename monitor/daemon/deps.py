"""What the daemon depends on (state_db, source_db, smtp): up, or down with a reason, and
waiting for one to come back with backoff instead of exiting.

A dependency is down from the first failed probe until a probe succeeds. While it is down
`sunlight_dependency_up{dependency=...}` is 0 and /readyz says why. The wait sleeps through
the injected `sleep` (the daemon's stop event, so SIGTERM ends a wait at once; a test's
recorder, so no test sleeps).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping

from tenacity import RetryCallState, Retrying, retry_if_exception_type, wait_exponential

from monitor.daemon.http import Reason
from monitor.errors import UnreachableError
from monitor.metrics import Metrics

log = logging.getLogger(__name__)
FIRST_WAIT = 1.0  # seconds before the second attempt; doubling up to
MAX_WAIT = 60.0  # so a server back after an outage is found within a minute


class Dependencies:
    def __init__(
        self,
        metrics: Metrics,
        sleep: Callable[[float], object],
        aliases: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.metrics = metrics
        # One database for source and state: `state_db` stands for `source_db` too.
        self.aliases = aliases or {}
        self.sleep = sleep
        self.wait = wait_exponential(multiplier=FIRST_WAIT, min=FIRST_WAIT, max=MAX_WAIT)
        self._lock = threading.Lock()
        self._down: dict[str, str] = {}

    def _pause(self, seconds: float) -> None:
        self.sleep(seconds)  # Event.wait returns a flag: tenacity wants a plain sleep

    def up(self, name: str) -> None:
        for each in (name, *self.aliases.get(name, ())):
            with self._lock:
                was = self._down.pop(each, None)
            self.metrics.dependency_up.labels(each).set(1)
            if was is not None:
                log.info("%s answers again", each)

    def down(self, name: str, why: str) -> None:
        for each in (name, *self.aliases.get(name, ())):
            with self._lock:
                self._down[each] = why
            self.metrics.dependency_up.labels(each).set(0)

    def is_down(self, name: str) -> bool:
        with self._lock:
            return name in self._down

    def reasons(self) -> list[Reason]:
        with self._lock:
            return [Reason(name, f"unreachable, waiting for it: {why}") for name, why in self._down.items()]

    def check(self, name: str, probe: Callable[[], None]) -> bool:
        """One probe: True when it answered. Anything other than UnreachableError propagates."""
        try:
            probe()
        except UnreachableError as exc:
            self.down(name, str(exc))
            return False
        self.up(name)
        return True

    def wait_for(self, name: str, probe: Callable[[], None], stopping: Callable[[], bool]) -> bool:
        """Probe until it answers (True) or the daemon stops (False), backing off between
        attempts. Anything other than UnreachableError propagates: waiting cannot fix it."""

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            self.down(name, str(exc))
            wait = state.next_action.sleep if state.next_action else 0.0
            log.warning("%s; retrying in %.0fs (attempt %d)", exc, wait, state.attempt_number)

        retrying = Retrying(
            retry=retry_if_exception_type(UnreachableError),
            wait=self.wait,
            sleep=self._pause,
            stop=lambda _state: stopping(),
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            retrying(probe)
        except UnreachableError as exc:
            self.down(name, str(exc))
            return False
        self.up(name)
        return True
