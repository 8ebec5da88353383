"""The session secret: SUNLIGHT_WEB_SECRET, else `web.secret_file`, generated once (mode
0600) only for the embedded SQLite default, so that web processes on a shared database
never each invent a secret of their own."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from monitor.config import WEB_SECRET_ENV, Config
from monitor.errors import StartupError

MIN_LENGTH = 32


def session_secret(cfg: Config) -> str:
    if cfg.web.secret is not None:
        value = cfg.web.secret.get_secret_value()
        if len(value) < MIN_LENGTH:
            raise StartupError(f"{WEB_SECRET_ENV} is too short: give at least {MIN_LENGTH} characters")
        return value
    path = cfg.path(cfg.web.secret_file)
    explicit = "secret_file" in cfg.web.model_fields_set
    if not path.exists():
        if explicit:
            raise StartupError(f"web.secret_file {path} does not exist ({cfg.origin('web.secret_file')})")
        if not cfg.state_url.startswith("sqlite"):
            raise StartupError(
                f"the console's session secret is not set: set {WEB_SECRET_ENV} (the same value for "
                "every web process) when the state database is PostgreSQL or MariaDB"
            )
        return _generate(path)
    value = path.read_text(encoding="utf-8").strip()
    if len(value) < MIN_LENGTH:
        raise StartupError(f"{path}: the session secret must be at least {MIN_LENGTH} characters")
    return value


def _generate(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another web process made it first: share that one
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(value + "\n")
    return value
