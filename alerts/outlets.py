"""Where notices go out: the e-mail notifier (SMTP or the .eml folder) and one notifier per
other channel (SMS gateway, DingTalk, WeCom, Feishu, the signed webhook), each built from
`notify.channels` the first time a notice needs it.

A channel that is not configured (no SMS gateway URL, no webhook secret) is a transient
failure of each of its notices, not of the batch: configuring it makes the same notices
deliverable, so they wait with backoff (up to `notify.max_attempts`) while the e-mail and the
other channels go on. `sunlight check` names such channels before anything is queued. In
the embedded default (no SMTP server: notices are `.eml` files) such a channel's messages are
files in the same folder instead (`alerts.channels.folder`), so a trial installation shows
what each SMS or robot card would say.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from alerts.channels import ChannelNotifier, notifier_for
from alerts.channels.address import parse
from alerts.channels.config import ChannelsConfig
from alerts.channels.folder import FolderNotifier
from alerts.channels.messages import ChannelMessage, Templates
from alerts.notify.base import Notifier
from monitor.errors import ConfigError


class ChannelContent:
    """A claimed channel notice with what its message says, kept in the outbox row as sent
    (subject: the title, body_text: the text) like an e-mail's rendering (`alerts.claims`)."""

    __slots__ = ("_row", "body_html", "body_text", "rendered_now", "subject")

    def __init__(self, row: Any, message: ChannelMessage) -> None:
        self._row = row
        self.rendered_now = not row.body_text
        self.subject, self.body_text, self.body_html = message.title[:500], message.text, ""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, name)


def context_of(row: Any) -> dict[str, Any]:
    """The template context of a notice: as a pass queued it, else built from what it says."""
    if row.context:
        ctx: dict[str, Any] = dict(json.loads(row.context))
    else:
        # Rendered when queued (an operations notice, a reminder of an e-mail): its subject
        # and first line; the keys it lacks are empty (alerts.channels.messages.OPTIONAL).
        ctx = {"title": row.subject, "message": (row.body_text or "").strip().split("\n", 1)[0]}
    ctx["kind"] = row.kind
    return ctx


class Outlets:
    def __init__(
        self,
        email: Notifier,
        channels: ChannelsConfig | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        factory: Callable[[str, ChannelsConfig, Mapping[str, str]], ChannelNotifier] = notifier_for,
        folder: Path | None = None,
    ) -> None:
        self.email = email
        self.config = channels or ChannelsConfig()
        self._environ = os.environ if environ is None else environ
        self._factory = factory
        self._folder = folder  # where an unconfigured channel's messages go (embedded default)
        self._built: dict[str, ChannelNotifier | ConfigError] = {}
        self._templates: Templates | None = None

    @property
    def templates(self) -> Templates:
        if self._templates is None:
            self._templates = Templates(self.config.templates)
        return self._templates

    def notifier(self, channel: str) -> Notifier | ChannelNotifier:
        """The notifier of `channel`; ConfigError (the same one each time) when it is not set up."""
        if channel == "email":
            return self.email
        built = self._built.get(channel)
        if built is None:
            try:
                built = self._factory(channel, self.config, self._environ)
            except ConfigError as exc:
                built = exc if self._folder is None else FolderNotifier(channel, self._folder)
            self._built[channel] = built
        if isinstance(built, ConfigError):
            raise built
        return built

    def message(self, row: Any) -> tuple[ChannelMessage, ChannelContent]:
        """The message of a claimed channel notice, and the row with its content."""
        message = self.templates.render(context_of(row), parse(row.recipient), row.message_id)
        return message, ChannelContent(row, message)

    def close(self) -> None:
        for built in self._built.values():
            if not isinstance(built, ConfigError):
                built.close()
        self._built.clear()


def outlets_of(notifier: Notifier | Outlets, channels: ChannelsConfig) -> Outlets:
    return notifier if isinstance(notifier, Outlets) else Outlets(notifier, channels)
