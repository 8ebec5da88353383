"""A signed JSON POST to a system of the city's own (a ledger, an OA system, a message bus).

Headers: Content-Type application/json; X-Sunlight-Timestamp (unix seconds);
X-Sunlight-Signature "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + body);
X-Sunlight-Delivery the notice's Message-ID, the same on every retry, so a receiver drops a
duplicate. 2xx is accepted; 408, 429 (Retry-After honoured) and 5xx are retried; another 4xx
refuses this notice for good; a 3xx is retried (redirects are not followed: fix the URL).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from collections.abc import Callable, Mapping, Sequence

import httpx2

from alerts.channels.address import masked
from alerts.channels.config import WebhookConfig
from alerts.channels.http import request, send_each, status_error
from alerts.channels.messages import ChannelMessage
from alerts.notify.base import OnResult
from monitor.errors import ConfigError, DeliveryError


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(
    secret: bytes, timestamp: str, body: bytes, signature: str, now: float, tolerance: float = 300
) -> bool:
    """For a receiver: the signature is ours and the timestamp within `tolerance` seconds of
    `now` (an old request replayed is refused). Constant-time comparison."""
    try:
        sent = float(timestamp)
    except ValueError:
        return False
    if abs(now - sent) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body).encode(), signature.encode())


class WebhookNotifier:
    name = "webhook"

    def __init__(
        self,
        cfg: WebhookConfig,
        environ: Mapping[str, str] = os.environ,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        secret = environ.get(cfg.secret_env, "")
        if not secret:
            raise ConfigError(
                f"channels.webhook: {cfg.secret_env} is not set (the secret that signs each request)"
            )
        self.secret = secret.encode()
        self.cfg = cfg
        self.clock = clock

    def send_batch(
        self, messages: Sequence[ChannelMessage], on_result: OnResult | None = None
    ) -> list[DeliveryError | None]:
        return send_each(messages, on_result, self.cfg.timeout_seconds, self._send_one)

    def close(self) -> None:
        """Nothing is held between batches."""

    def _send_one(self, client: httpx2.Client, message: ChannelMessage) -> DeliveryError | None:
        where = f"webhook {masked(message.address)}"
        if message.address.channel != "webhook":
            return DeliveryError(f"{masked(message.address)} is not a webhook", permanent=True)
        body = message.text.encode()
        now = self.clock()
        timestamp = str(int(now))
        headers = {
            "Content-Type": "application/json",
            "X-Sunlight-Timestamp": timestamp,
            "X-Sunlight-Signature": sign(self.secret, timestamp, body),
            "X-Sunlight-Delivery": message.message_id,
        }
        # The URL's path and query may carry the receiver's own key: kept out of errors.
        response = request(client, where, (message.address.target,), "POST", message.address.target,
                           content=body, headers=headers)  # fmt: skip
        if isinstance(response, DeliveryError):
            return response
        if (error := status_error(response, where, now)) is not None:
            return error
        status = response.status_code
        if response.is_success:
            return None
        if 300 <= status < 400:
            return DeliveryError(f"{where}: HTTP {status} redirect, not followed", permanent=False)
        return DeliveryError(f"{where}: HTTP {status} refused", permanent=True)
