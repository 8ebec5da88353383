"""Notification channels beyond e-mail: an SMS gateway, DingTalk, WeCom and Feishu robots
and work notices, and a signed webhook (docs/notifications.md).

A recipient is an address string (`alerts.channels.address`), a notice is rendered for its
channel by `Templates` (`alerts.channels.messages`), and the channel's notifier sends a batch
with the contract of `alerts.notify.base.Notifier`: each message's fate told right after it,
DeliveryError marked permanent or not, with `retry_after` when the service said how long.

Why not apprise (2.3.0 is on the index): it has DingTalk, WeCom and Feishu plugins, but they
hard-code the public hosts (oapi.dingtalk.com, qyapi.weixin.qq.com, open.feishu.cn), so
政务钉钉/浙政钉 and private deployments cannot be reached and tests cannot point them at
127.0.0.1; `notify()` reports only True or False, so a refused number cannot be told from an
outage, nor a rate limit's wait read; it has no generic SMS-gateway template, no idempotency
key for retries, and no signed-webhook format a receiver can verify. What is left to share
is a few HTTP posts, written here against each service's documented request and reply.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Protocol

from alerts.channels.config import ChannelsConfig
from alerts.channels.messages import ChannelMessage
from alerts.notify.base import OnResult
from monitor.errors import DeliveryError


class ChannelNotifier(Protocol):
    name: str

    def send_batch(
        self, messages: Sequence[ChannelMessage], on_result: OnResult | None = None
    ) -> list[DeliveryError | None]:
        """Send each message; for each, None when the service accepted it, else the error.
        `on_result` hears of each message right after it, in order; it may raise to stop."""
        ...

    def close(self) -> None: ...


def notifier_for(
    channel: str, cfg: ChannelsConfig, environ: Mapping[str, str] = os.environ
) -> ChannelNotifier:
    """The notifier of `channel` (address.CHANNELS other than email); ConfigError when its
    configuration or credentials are missing."""
    # Imported here: each notifier pulls in httpx2, which the e-mail-only paths do not need.
    from alerts.channels.robots import RobotNotifier
    from alerts.channels.sms import SmsNotifier
    from alerts.channels.webhook import WebhookNotifier

    if channel == "sms":
        return SmsNotifier(cfg.sms, environ)
    if channel == "dingtalk":
        return RobotNotifier("dingtalk", cfg.dingtalk, environ)
    if channel == "wecom":
        return RobotNotifier("wecom", cfg.wecom, environ)
    if channel == "feishu":
        return RobotNotifier("feishu", cfg.feishu, environ)
    if channel == "webhook":
        return WebhookNotifier(cfg.webhook, environ)
    if channel == "email":
        raise ValueError("e-mail is sent by alerts.notify (smtp, eml), not by alerts.channels")
    raise ValueError(f"unknown channel {channel!r}; one of sms, dingtalk, wecom, feishu, webhook")
