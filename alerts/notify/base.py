"""The notifier interface and the one way a notice becomes an e-mail message."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, Protocol

from alerts.notify import headers
from monitor.errors import DeliveryError

# Called with a message's index and its fate (None: accepted) as soon as that fate is known,
# so the sender records each delivery before the next message goes out. It may raise to stop
# the batch: the messages not yet tried are then left unsent.
OnResult = Callable[[int, DeliveryError | None], None]


class Notifier(Protocol):
    name: str

    def send_batch(
        self, messages: Sequence[EmailMessage], on_result: OnResult | None = None
    ) -> list[DeliveryError | None]:
        """Send each message; for each, None when the server accepted it, else the error.
        `on_result` hears of each message right after it, in order."""
        ...


def build_message(row: Any, sender: str) -> EmailMessage:
    """An RFC 5322 message from a notice row; every header is built by `alerts.notify.headers`,
    so no value can become a header line of its own (ValueError for a bad address or id)."""
    msg = EmailMessage()
    for header in (
        headers.addresses("From", sender),
        headers.addresses("To", row.recipient),
        headers.text("Subject", row.subject),
        headers.message_ids("Message-ID", row.message_id),
        headers.text("Date", format_datetime(row.created_at)),
        headers.text("X-Sunlight-Alert", row.alert_id),
        headers.text("X-Sunlight-Kind", row.kind),
    ):
        msg[header.name] = header
    msg.set_content(row.body_text)
    msg.add_alternative(row.body_html, subtype="html")
    return msg
