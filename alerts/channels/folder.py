"""Channel messages as files in the outbox folder: the embedded default's stand-in for a
channel that has no gateway or service configured, as the `.eml` folder stands in for an
SMTP server (`alerts.outlets` uses it only while `notify.smtp.url` is unset).

Each message is one UTF-8 file named after its Message-ID and channel
(`<id>.sms.txt`, `<id>.webhook.json`, ...), written under a temporary name and renamed into
place; writing it again writes the same bytes, so the sender may record a batch at once
(`idempotent`), exactly as for `.eml` files. The file holds what the service would have
received: the recipient as configured, the title and the text (a webhook's JSON body).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from alerts.channels.messages import ChannelMessage
from alerts.notify.base import OnResult
from monitor.errors import DeliveryError


class FolderNotifier:
    idempotent = True

    def __init__(self, channel: str, folder: Path) -> None:
        self.name = channel
        self.folder = folder

    def send_batch(
        self, messages: Sequence[ChannelMessage], on_result: OnResult | None = None
    ) -> list[DeliveryError | None]:
        out: list[DeliveryError | None] = []
        for i, message in enumerate(messages):
            error: DeliveryError | None = None
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                stem = re.sub(r"[^A-Za-z0-9_.-]", "_", message.message_id.strip("<>"))
                if self.name == "webhook":
                    final = self.folder / f"{stem}.webhook.json"
                    data = json.dumps(dict(message.data), ensure_ascii=False, indent=2) + "\n"
                else:
                    final = self.folder / f"{stem}.{self.name}.txt"
                    data = f"To: {message.address.raw}\nTitle: {message.title}\n\n{message.text}\n"
                tmp = final.with_suffix(final.suffix + ".tmp")
                tmp.write_text(data, encoding="utf-8")
                tmp.replace(final)
            except OSError as exc:
                error = DeliveryError(f"cannot write {self.folder}: {exc}", permanent=False)
            out.append(error)
            if on_result is not None:
                on_result(i, error)
        return out

    def close(self) -> None:
        pass
