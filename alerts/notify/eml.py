"""Notices as `.eml` files in a folder: the embedded default when no SMTP server is set.

Each file holds the bytes that would cross SMTP (CR LF line ends, folded headers), so what a
reader of the folder sees is what a mail server would have received.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from email.message import EmailMessage
from pathlib import Path

from alerts.notify.base import OnResult
from alerts.notify.headers import wire_bytes
from monitor.errors import DeliveryError


class EmlNotifier:
    name = "eml"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send_batch(
        self, messages: Sequence[EmailMessage], on_result: OnResult | None = None
    ) -> list[DeliveryError | None]:
        out: list[DeliveryError | None] = []
        for i, msg in enumerate(messages):
            error: DeliveryError | None = None
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                stem = re.sub(r"[^A-Za-z0-9_.-]", "_", str(msg["Message-ID"]).strip("<>"))
                final = self.folder / f"{stem}.eml"
                tmp = final.with_suffix(".eml.tmp")
                tmp.write_bytes(wire_bytes(msg))  # CR LF: the very bytes SMTP would carry
                tmp.replace(final)  # atomic: a reader never sees half a message
            except OSError as exc:
                error = DeliveryError(f"cannot write {self.folder}: {exc}", permanent=False)
            out.append(error)
            if on_result is not None:
                on_result(i, error)
        return out
