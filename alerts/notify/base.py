"""The notifier interface and the one way a notice becomes an e-mail message."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, Protocol

from alerts.render import one_line
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
    """An RFC 5322 message from a notice row; header values cannot carry line breaks."""
    msg = EmailMessage()
    msg["From"] = one_line(sender)
    msg["To"] = one_line(row.recipient)
    msg["Subject"] = one_line(row.subject)
    msg["Message-ID"] = one_line(row.message_id)
    msg["Date"] = format_datetime(row.created_at)
    msg["X-Sunlight-Alert"] = str(row.alert_id)
    msg["X-Sunlight-Kind"] = one_line(row.kind)
    msg.set_content(row.body_text)
    msg.add_alternative(row.body_html, subtype="html")
    return msg
