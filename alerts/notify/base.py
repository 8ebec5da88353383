"""The notifier interface and the one way a notice becomes an e-mail message."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from alerts.notify import mime
from alerts.notify.mime import Mail
from monitor.errors import DeliveryError

# Called with a message's index and its fate (None: accepted) as soon as that fate is known,
# so the sender records each delivery before the next message goes out. It may raise to stop
# the batch: the messages not yet tried are then left unsent.
OnResult = Callable[[int, DeliveryError | None], None]


class Notifier(Protocol):
    """A way out for messages. A notifier may also set `idempotent = True` when sending a
    message again changes nothing (the .eml folder): the sender then records a batch's
    outcomes together once `send_batch` returns, instead of one transaction a message."""

    name: str

    def send_batch(
        self, messages: Sequence[Mail], on_result: OnResult | None = None
    ) -> list[DeliveryError | None]:
        """Send each message; for each, None when the server accepted it, else the error.
        `on_result` hears of each message right after it, in order."""
        ...


def build_message(row: Any, sender: str) -> Mail:
    """An RFC 5322 message from a notice row; every header is built by `alerts.notify.headers`,
    so no value can become a header line of its own (ValueError for a bad address or id)."""
    return mime.build(row, sender)
