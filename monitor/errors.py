"""The few exceptions Sunlight raises; each message names what was wrong and where."""

from __future__ import annotations


class SunlightError(Exception):
    """Base class; the CLI turns it into a one-line reason and an exit code."""

    exit_code = 1


class ConfigError(SunlightError):
    """The configuration file or an environment override is invalid."""

    exit_code = 2


class StartupError(SunlightError):
    """A command cannot start: a database missing, empty or unreachable, a port in use."""

    exit_code = 2


class UnreachableError(StartupError):
    """A dependency (`state_db`, `source_db`, `smtp`) does not answer; the daemon waits for it."""

    def __init__(self, dependency: str, message: str) -> None:
        self.dependency = dependency
        super().__init__(message)


class RuleError(SunlightError):
    """A rule file is invalid; `problems` lists every error found, each with file and line."""

    exit_code = 2

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(problems[0] if len(problems) == 1 else f"{len(problems)} rule errors")


class RefusedError(SunlightError):
    """A command that would overwrite data it was not asked to replace; nothing was written."""

    exit_code = 2


class RecordError(SunlightError):
    """A source record cannot be read; it becomes a data_quality finding, never a crash."""


class NotFoundError(SunlightError):
    """Something asked for by id does not exist."""


class DeliveryError(SunlightError):
    """A notice could not be delivered; `permanent` says whether retrying can help, and
    `retry_after` (seconds) how long the service asked us to wait before trying again."""

    def __init__(self, message: str, *, permanent: bool, retry_after: float | None = None) -> None:
        self.permanent = permanent
        self.retry_after = retry_after
        super().__init__(message)
