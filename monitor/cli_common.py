"""What every `sunlight` command shares: the --config and --now options, the configuration
and the databases they open, JSON output."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from monitor.config import Config, load_config
from monitor.errors import ConfigError
from monitor.terminal import json_text
from monitor.timeutil import parse_instant, utcnow

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="config.yaml (default: SUNLIGHT_CONFIG or ./config.yaml)"),
]
NowOpt = Annotated[
    str | None, typer.Option("--now", help="Evaluate as of this instant (ISO 8601; default: now)")
]


class _State:
    config_path: Path | None = None


_state = _State()


def remember_config(path: Path | None) -> None:
    """The main callback's --config, read by every command that loads the configuration."""
    _state.config_path = path


def current_config() -> Config:
    return load_config(_state.config_path)


def now_from(value: str | None, cfg: Config) -> datetime:
    if value is None:
        return utcnow()
    try:
        return parse_instant(value, cfg.tz)
    except ValueError as exc:
        raise ConfigError(f"--now: {value!r} is not an ISO 8601 time") from exc


def open_application(cfg: Config, *, create: bool = False) -> Any:
    """The databases, reached and with Sunlight's schema (upgraded with auto_upgrade); only
    `db upgrade`, `demo` and `run --init` pass create=True (monitor.startup)."""
    from monitor.startup import open_app

    return open_app(cfg, create=create)


def print_json(value: Any) -> None:
    typer.echo(json_text(value))
