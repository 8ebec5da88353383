"""A batch's claim is one statement, and the .eml folder's outcomes are recorded together.

Real passes raise the reds; the notices go to a real folder (`EmlNotifier`) on SQLite; a kill
is a KeyboardInterrupt raised from inside the notifier, where a SIGKILL could land.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from alerts.notify.base import OnResult
from alerts.notify.eml import EmlNotifier
from alerts.notify.mime import Mail
from alerts.sender import drain
from monitor.errors import DeliveryError
from tests.conftest import Harness
from tests.test_smtp import T0, raise_reds, smtp_harness


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    harness = smtp_harness(tmp_path, "smtp://127.0.0.1:1")  # never used: the folder is
    yield harness
    harness.app.dispose()


class Statements:
    """The UPDATEs of the notices table and the commits, as the database saw them."""

    def __init__(self, h: Harness) -> None:
        self.updates: list[str] = []
        self.commits = 0
        engine = h.app.state
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)

    def _statement(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE SUNLIGHT_NOTICES"):
            self.updates.append(statement)

    def _commit(self, conn: Any) -> None:
        self.commits += 1


class Watching:
    """The folder's notifier, noting what the database had done when the batch began."""

    name = "eml"
    idempotent = True

    def __init__(self, inner: EmlNotifier, seen: Statements, kill_at: int | None = None) -> None:
        self.inner, self.seen, self.kill_at = inner, seen, kill_at
        self.at_start: tuple[int, int] | None = None

    def send_batch(
        self, messages: list[Mail], on_result: OnResult | None = None
    ) -> list[DeliveryError | None]:
        self.at_start = (len(self.seen.updates), self.seen.commits)

        def hook(i: int, error: DeliveryError | None) -> None:
            if i == self.kill_at:
                raise KeyboardInterrupt
            assert on_result is not None
            on_result(i, error)

        return self.inner.send_batch(messages, hook)


def test_a_batch_is_claimed_with_one_update_and_its_files_recorded_in_one_transaction(
    h: Harness, tmp_path: Path
) -> None:
    raise_reds(h, "C1", "C2", "C3")  # six notices
    seen = Statements(h)
    notifier = Watching(EmlNotifier(tmp_path / "outbox"), seen)
    result = drain(h.app.state, notifier, h.config.notify, T0)
    assert result.sent == 6
    assert notifier.at_start == (1, 1)  # the claim: one UPDATE, one commit, before any file
    assert seen.commits == 2  # and the six outcomes, their history included, in one more
    # The claim; the outcomes; the six notices' text, rendered after the claim, kept with them.
    assert len(seen.updates) == 3
    assert all(n.status == "sent" and n.attempts == 1 for n in h.notices())
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 6


def test_a_kill_in_an_eml_batch_rewrites_the_same_files_and_doubles_nothing(
    h: Harness, tmp_path: Path
) -> None:
    raise_reds(h, "C1", "C2", "C3")
    folder = tmp_path / "outbox"
    seen = Statements(h)
    with pytest.raises(KeyboardInterrupt):
        drain(h.app.state, Watching(EmlNotifier(folder), seen, kill_at=3), h.config.notify, T0)
    # Four files were in place when the kill came (it hit as the fourth's fate was told);
    # nothing of the batch was recorded.
    first = {p.name: p.read_bytes() for p in folder.glob("*.eml")}
    assert len(first) == 4
    assert all(n.status == "sending" for n in h.notices())
    lease = timedelta(seconds=h.config.notify.claim_lease_seconds)
    again = drain(h.app.state, EmlNotifier(folder), h.config.notify, T0 + lease)
    assert (again.sent, again.lapsed) == (6, 6)
    files = {p.name: p.read_bytes() for p in folder.glob("*.eml")}
    assert len(files) == 6  # one file a notice: the four written twice are the same files
    assert all(files[name] == data for name, data in first.items())  # with the same bytes
    assert not list(folder.glob("*.tmp"))
    assert all(n.status == "sent" and n.attempts == 2 for n in h.notices())
