"""`sunlight check` on the notice channels: the channel templates (the city's own or the
shipped ones) render, fit and hold no personal data, and every channel a route or a ladder
rung uses can send. Every recipient URL was already parsed when the configuration loaded (an
unknown scheme fails there)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from alerts.channels import notifier_for
from alerts.channels.address import parse
from alerts.channels.messages import Templates
from monitor.config import Config
from monitor.errors import ConfigError


def used_channels(cfg: Config) -> dict[str, str]:
    """Each channel other than e-mail that notices may go out on, with the first key using it."""
    n = cfg.notify
    used: dict[str, str] = {}
    for name, route in n.routes.items():
        lists = {
            "recipients": route.recipients,
            **{f"by_department.{d}": r for d, r in route.by_department.items()},
        }
        for key, recipients in lists.items():
            for recipient in recipients:
                used.setdefault(parse(recipient).channel, f"notify.routes.{name}.{key}")
    for i, rung in enumerate(n.ladder):
        for recipient in rung.recipients:
            used.setdefault(parse(recipient).channel, f"notify.ladder.{i}.recipients")
        if rung.roles:
            for channel in rung.channels:
                used.setdefault(channel, f"notify.ladder.{i}.channels")
    used.pop("email", None)
    return used


def channel_problems(cfg: Config, environ: Mapping[str, str] | None = None) -> tuple[list[str], list[str]]:
    """(errors, notes): errors make `sunlight check` exit 2."""
    env = os.environ if environ is None else environ
    n = cfg.notify
    folder = cfg.path(n.channels.templates) if n.channels.templates else None
    errors = [f"notify.channels.templates: {p}" for p in Templates(folder).check()]
    notes: list[str] = []
    for channel, where in sorted(used_channels(cfg).items()):
        try:
            notifier_for(channel, n.channels, env).close()
        except ConfigError as exc:
            if n.smtp.url:
                errors.append(f"`{where}` sends over {channel}, which cannot send: {exc}")
            else:
                notes.append(
                    f"note: {channel} ({where}) has no service configured; without an SMTP server its "
                    f"messages are written to {cfg.path(n.eml_dir)} as files, like the .eml ones"
                )
    return errors, notes
