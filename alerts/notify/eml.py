"""Notices as `.eml` files in a folder: the embedded default when no SMTP server is set.

Each file holds the bytes that would cross SMTP (CR LF line ends, folded headers), so what a
reader of the folder sees is what a mail server would have received. A file is written
under a temporary name and renamed into place, so a reader never sees half a message; it is
named after the Message-ID, and a notice's bytes are the same at every build, so writing a
message again (after a crash before its outcome was recorded) rewrites the same file with
the same bytes: nothing is doubled. That is why the sender may record a whole batch's
outcomes at once (`idempotent`).

Files are not fsynced one by one: that costs about 2 ms a file on this project's machines,
twice the whole budget of a notice. A killed process loses nothing written (the kernel
keeps it); the folder itself is fsynced once at the end of each batch, before the outcomes
are recorded, so the new names are on disk when the outbox says sent. What a power cut can
still take is the contents of the newest files on a filesystem that allocates blocks late
(ext4's delalloc): such a file may be empty though recorded sent; the outbox row still holds
the subject and both bodies. A failing folder fsync raises: nothing of the batch is
recorded, and the claim's lapse rewrites the same files.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from alerts.notify.base import OnResult
from alerts.notify.mime import Mail
from monitor.errors import DeliveryError


class EmlNotifier:
    name = "eml"
    idempotent = True  # sending again rewrites the same file with the same bytes

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send_batch(
        self, messages: Sequence[Mail], on_result: OnResult | None = None
    ) -> list[DeliveryError | None]:
        out: list[DeliveryError | None] = []
        wrote = False
        try:
            for i, msg in enumerate(messages):
                error: DeliveryError | None = None
                try:
                    if not wrote:
                        self.folder.mkdir(parents=True, exist_ok=True)
                    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", msg.message_id.strip("<>"))
                    final = self.folder / f"{stem}.eml"
                    tmp = final.with_suffix(".eml.tmp")
                    tmp.write_bytes(msg.data)  # CR LF: the very bytes SMTP would carry
                    tmp.replace(final)  # atomic: a reader never sees half a message
                    wrote = True
                except OSError as exc:
                    error = DeliveryError(f"cannot write {self.folder}: {exc}", permanent=False)
                out.append(error)
                if on_result is not None:
                    on_result(i, error)
        finally:
            if wrote:
                self._sync_folder()
        return out

    def _sync_folder(self) -> None:
        """The batch's new names on disk before its outcomes are recorded (see above)."""
        fd = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
