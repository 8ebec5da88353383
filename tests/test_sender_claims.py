"""Claims, leases and per-message records of the sender, on SQLite, PostgreSQL and MariaDB,
against a real SMTP server in-process (aiosmtpd).

A kill is simulated by a notifier that raises KeyboardInterrupt or SystemExit from inside the
real SMTP notifier at a chosen message, exactly where a SIGKILL could land; time is passed as
`now`, so a lease lapses without sleeping.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select, update

from alerts.audit.keys import keyed
from alerts.notify.base import OnResult
from alerts.notify.smtp import SmtpNotifier
from alerts.sender import LAPSED, drain, stats
from monitor.errors import DeliveryError
from monitor.logs import JsonFormatter
from monitor.source.importer import import_records
from monitor.source.records import CaseRecord, EventRecord, ItemRecord
from monitor.state.db import make_engine
from monitor.state.schema import alert_history, notice_attempts
from monitor.state.schema import alerts as alerts_table
from monitor.state.schema import notices as notices_table
from tests.conftest import Harness, case, item
from tests.conftest import event as case_event
from tests.test_smtp import PASSWORD, PASSWORD_ENV, T0, USER, USER_ENV, MailServer, raise_reds, smtp_harness

ROUTES = {
    "discipline_office": {"recipients": ["jjjc@example.gov.cn"], "levels": ["red"]},
    "department": {
        "recipients": ["dept@example.gov.cn"],
        "by_department": {"市市场监督管理局": ["scjg@example.gov.cn"]},
        "levels": ["yellow", "red"],
    },
    "operators": {"recipients": ["ops@example.gov.cn"]},
}


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(USER_ENV, USER)
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


@pytest.fixture
def server(server_tls: ssl.SSLContext) -> Iterator[MailServer]:
    s = MailServer(server_tls)
    s.start()
    yield s
    s.stop()


@pytest.fixture
def h(tmp_path: Path, server: MailServer, any_db_url: str) -> Iterator[Harness]:
    harness = smtp_harness(tmp_path, server.url, db_url=any_db_url, routes=ROUTES)
    yield harness
    harness.app.dispose()


def smtp(h: Harness, tls: ssl.SSLContext) -> SmtpNotifier:
    return SmtpNotifier(h.config.notify.smtp, tls_context=tls)


class KilledAt:
    """The real notifier, and the process killed once the server has accepted message
    `index` (0-based) and before the sender recorded it; None: killed before sending."""

    name = "smtp"

    def __init__(self, inner: SmtpNotifier, index: int | None, kill: type[BaseException]) -> None:
        self.inner, self.index, self.kill = inner, index, kill

    def send_batch(self, messages: Any, on_result: OnResult | None = None) -> list[DeliveryError | None]:
        if self.index is None:
            raise self.kill

        def hook(i: int, error: DeliveryError | None) -> None:
            if i == self.index:
                raise self.kill
            assert on_result is not None
            on_result(i, error)

        return self.inner.send_batch(messages, hook)


def lease(h: Harness) -> timedelta:
    return timedelta(seconds=h.config.notify.claim_lease_seconds)


def attempts(h: Harness) -> list[Any]:
    with h.app.state.connect() as conn:
        return list(conn.execute(select(notice_attempts).order_by(notice_attempts.c.id)))


# -- a kill re-sends at most the message in flight -------------------------------------------


@pytest.mark.parametrize("kill", [KeyboardInterrupt, SystemExit])
def test_a_kill_between_two_messages_resends_only_the_unrecorded_one(
    h: Harness, server: MailServer, client_tls: ssl.SSLContext, kill: type[BaseException]
) -> None:
    raise_reds(h, "C1", "C2", "C3")  # six notices
    with pytest.raises(kill):
        drain(h.app.state, KilledAt(smtp(h, client_tls), 2, kill), h.config.notify, T0)
    rows = h.notices()
    # The first two were recorded as the server accepted them; the third was accepted, then
    # the kill; the last three were never tried. All four stay claimed under the lease.
    assert [r.status for r in rows] == ["sent", "sent"] + ["sending"] * 4
    assert len(server.mailbox.messages) == 3

    again = drain(h.app.state, smtp(h, client_tls), h.config.notify, T0 + lease(h))
    assert (again.sent, again.lapsed, again.failed) == (4, 4, 0)
    ids = server.mailbox.message_ids()
    assert sorted(set(ids)) == sorted(r.message_id for r in rows)  # nothing lost
    duplicates = [mid for mid in set(ids) if ids.count(mid) > 1]
    assert duplicates == [rows[2].message_id]  # only the one in flight, once
    assert all(r.status == "sent" for r in h.notices())
    lapsed = [a for a in attempts(h) if a.error == LAPSED]
    assert sorted(a.notice_id for a in lapsed) == [r.id for r in rows[2:]]
    with h.app.state.connect() as conn:
        sent_entries = conn.execute(
            select(alert_history.c.alert_id).where(alert_history.c.action == "notice_sent")
        ).all()
    assert len(sent_entries) == 6  # one history entry per notice, for its final outcome


def test_a_lapsed_lease_is_reclaimed_and_counted(
    h: Harness, server: MailServer, client_tls: ssl.SSLContext
) -> None:
    from monitor.daemon.run import Daemon

    raise_reds(h, "C1")
    at = [T0]
    daemon = Daemon(h.app, clock=lambda: at[0])
    daemon.notifier = KilledAt(smtp(h, client_tls), None, SystemExit)  # dies right after claiming
    with pytest.raises(SystemExit):
        daemon.send_notices()
    assert [(r.status, r.attempts) for r in h.notices()] == [("sending", 1)] * 2
    assert server.mailbox.messages == []

    daemon.notifier = smtp(h, client_tls)
    at[0] = T0 + lease(h)
    assert daemon.send_notices()
    assert [(r.status, r.attempts) for r in h.notices()] == [("sent", 2)] * 2
    registry = h.app.metrics.registry
    assert registry.get_sample_value("sunlight_notice_claims_lapsed_total") == 2
    assert registry.get_sample_value("sunlight_notices_sent_total") == 2
    assert len(server.mailbox.messages) == 2


def test_an_unexpired_claim_is_not_taken_by_a_second_sender(
    h: Harness, server: MailServer, client_tls: ssl.SSLContext
) -> None:
    raise_reds(h, "C1")
    with pytest.raises(KeyboardInterrupt):
        drain(h.app.state, KilledAt(smtp(h, client_tls), None, KeyboardInterrupt), h.config.notify, T0)
    just_before = T0 + lease(h) - timedelta(microseconds=1)
    second = drain(h.app.state, smtp(h, client_tls), h.config.notify, just_before)
    assert not second.worked and second.lapsed == 0
    assert server.mailbox.messages == []
    assert stats(h.app.state).sending == 2


def test_a_sender_whose_read_is_overtaken_claims_nothing_another_sender_claimed(
    h: Harness, server: MailServer, client_tls: ssl.SSLContext, any_db_url: str
) -> None:
    """Sender A has read its candidates; before its first conditional update, sender B
    drains. On SQLite B claims them and A's updates match nothing; on PostgreSQL and MariaDB
    A's read locked them and B skips them. Either way each notice is sent once."""
    raise_reds(h, "C1", "C2")
    assert h.app.keys is not None
    engine_a = keyed(make_engine(any_db_url), h.app.keys)  # a second process: its own pool
    fired: list[int] = []

    def before_claim(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not fired and statement.lstrip().upper().startswith("UPDATE SUNLIGHT_NOTICES"):
            fired.append(1)
            fired.append(drain(h.app.state, smtp(h, client_tls), h.config.notify, T0).sent)

    event.listen(engine_a, "before_cursor_execute", before_claim)
    try:
        a = drain(engine_a, smtp(h, client_tls), h.config.notify, T0)
    finally:
        engine_a.dispose()
    b_sent = fired[1]
    assert a.sent + b_sent == 4
    assert (a.sent, b_sent) == ((0, 4) if h.app.state.dialect.name == "sqlite" else (4, 0))
    ids = server.mailbox.message_ids()
    assert len(ids) == len(set(ids)) == 4


@pytest.mark.parametrize("any_db_url", ["postgres", "mariadb"], indirect=True)
def test_two_senders_in_threads_never_send_one_notice_twice(
    h: Harness, server: MailServer, client_tls: ssl.SSLContext
) -> None:
    """Each sender, in its own thread, holds its first claim until the other has claimed one
    too, so their claims overlap for certain; then both drain until nothing is pending."""
    raise_reds(h, "C1", "C2", "C3", "C4")  # eight notices
    claimed = {"a": threading.Event(), "b": threading.Event()}
    other = {"a": "b", "b": "a"}
    sent: dict[str, list[str]] = {"a": [], "b": []}

    class Holding:
        name = "smtp"

        def __init__(self, key: str) -> None:
            self.key = key
            self.inner = smtp(h, client_tls)

        def send_batch(self, messages: Any, on_result: OnResult | None = None) -> list[DeliveryError | None]:
            claimed[self.key].set()
            assert claimed[other[self.key]].wait(30), "the other sender never claimed"
            sent[self.key] += [m.message_id for m in messages]
            return self.inner.send_batch(messages, on_result)

    errors: list[BaseException] = []

    def run(key: str) -> None:
        try:
            # Until nothing is left to claim. A drain may find nothing while the other's claim
            # is being made (MariaDB locks every due row its ordered read looks at), so an
            # empty drain alone does not end the loop.
            while (
                drain(h.app.state, Holding(key), h.config.notify, T0, limit=2).worked
                or stats(h.app.state).pending
            ):
                pass
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
            claimed[key].set()

    threads = [threading.Thread(target=run, args=(k,)) for k in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and not any(t.is_alive() for t in threads)
    assert sent["a"] and sent["b"]  # both sent some
    assert not set(sent["a"]) & set(sent["b"])
    ids = server.mailbox.message_ids()
    assert len(ids) == len(set(ids)) == 8
    assert all(r.status == "sent" and r.attempts == 1 for r in h.notices())


# -- one poison notice never blocks the others ------------------------------------------------


@pytest.mark.parametrize("breaker", ["\u2028", "\u0085", "\r\nBcc: evil@attacker.example"])
def test_a_poison_notice_is_set_aside_and_the_others_are_sent(
    h: Harness, server: MailServer, client_tls: ssl.SSLContext, breaker: str
) -> None:
    """A notice row that cannot become a message (here a Message-ID a platform's own tooling
    broke) fails alone, the operators hear of it, and every other notice goes out."""
    raw = [
        ItemRecord.model_validate(item()),
        ItemRecord.model_validate(item("XK-2")),
        CaseRecord.model_validate(case("P1", "XK-2")),
        EventRecord.model_validate(case_event("P1", "accepted", "2026-11-03 09:00")),
        CaseRecord.model_validate(case("C1")),
        EventRecord.model_validate(case_event("C1", "accepted", "2026-11-03 09:00")),
    ]
    assert not import_records(h.app.source, [(f"raw:{i}", r) for i, r in enumerate(raw)], T0).errors
    h.poll(T0)
    with h.app.state.begin() as conn:
        p1 = select(alerts_table.c.id).where(alerts_table.c.case_id == "P1").scalar_subquery()
        conn.execute(
            update(notices_table)
            .where(notices_table.c.alert_id.in_(p1))
            .values(message_id=notices_table.c.message_id + breaker)
        )
    result = drain(h.app.state, smtp(h, client_tls), h.config.notify, T0)
    assert (result.sent, result.failed, result.set_aside) == (2, 2, 2)
    rows = h.notices()
    poison = [r for r in rows if r.message_id.endswith(breaker)]
    assert len(poison) == 2
    assert all(r.status == "failed" and r.last_error.startswith("set aside:") for r in poison)
    assert all(r.status == "sent" for r in rows if r.kind == "raised" and r not in poison)
    failed_ids = {r.id for r in poison}
    assert all(a.permanent and not a.ok for a in attempts(h) if a.notice_id in failed_ids)
    with h.app.state.connect() as conn:
        actions = set(
            conn.execute(
                select(alert_history.c.action).where(
                    alert_history.c.alert_id.in_({r.alert_id for r in poison})
                )
            ).scalars()
        )
    assert "notice_failed" in actions
    ops = [r for r in h.notices() if r.kind == "operations"]
    assert {r.recipient for r in ops} == {"ops@example.gov.cn"} and len(ops) == 2
    assert all("已单独搁置" in r.subject for r in ops)
    assert {p.id for p in poison} == {int(r.body_text.split("通知编号：")[1].split("（")[0]) for r in ops}
    bodies = " ".join(r.body_text for r in ops)
    assert "j***@example.gov.cn" in bodies and "jjjc@" not in bodies and "dept@" not in bodies  # masked
    later = drain(h.app.state, smtp(h, client_tls), h.config.notify, T0 + timedelta(minutes=1))
    assert later.sent == 2  # the operations notices themselves go out
    received = server.mailbox.message_ids()
    assert len(received) == len(set(received)) == 4


# -- the batch stops before its lease runs out -------------------------------------------------


def test_a_batch_that_outlives_most_of_its_lease_hands_back_the_untried_rest(
    h: Harness, server: MailServer, client_tls: ssl.SSLContext
) -> None:
    raise_reds(h, "C1", "C2")  # four notices
    ticks = iter([0.0, 1.0, h.config.notify.claim_lease_seconds])  # a stalled second message

    result = drain(h.app.state, smtp(h, client_tls), h.config.notify, T0, clock=lambda: next(ticks))
    assert result.sent == 2
    assert [(r.status, r.attempts) for r in h.notices()] == [("sent", 1)] * 2 + [("pending", 0)] * 2
    later = drain(h.app.state, smtp(h, client_tls), h.config.notify, T0)  # due again at once
    assert (later.sent, later.lapsed) == (2, 0)
    ids = server.mailbox.message_ids()
    assert len(ids) == len(set(ids)) == 4


def test_a_notice_that_stops_its_sender_every_time_is_given_up_after_max_attempts(
    tmp_path: Path, server: MailServer, client_tls: ssl.SSLContext, sqlite_url: str
) -> None:
    h = smtp_harness(tmp_path, server.url, db_url=sqlite_url, max_attempts=2)
    try:
        raise_reds(h, "C1")
        at: datetime = T0
        for _ in range(2):
            with pytest.raises(SystemExit):
                drain(h.app.state, KilledAt(smtp(h, client_tls), None, SystemExit), h.config.notify, at)
            at += lease(h)
        result = drain(h.app.state, smtp(h, client_tls), h.config.notify, at)
        assert (result.sent, result.failed, result.lapsed) == (0, 2, 2)
        assert all(r.status == "failed" and "given up" in r.last_error for r in h.notices())
        assert server.mailbox.messages == []
    finally:
        h.app.dispose()


# -- failed sends are logged, the recipient masked ---------------------------------------------


def test_the_failure_log_masks_the_recipient(
    h: Harness, server: MailServer, client_tls: ssl.SSLContext, caplog: pytest.LogCaptureFixture
) -> None:
    server.mailbox.refuse.add("scjg@example.gov.cn")
    raise_reds(h, "C1")
    with caplog.at_level(logging.WARNING, logger="alerts.sender"):
        result = drain(h.app.state, smtp(h, client_tls), h.config.notify, T0)
    assert (result.sent, result.failed) == (1, 1)
    [refused] = [r for r in h.notices() if r.status == "failed"]
    assert "scjg@example.gov.cn" in refused.last_error  # the row keeps the server's reply
    [record] = [r for r in caplog.records if r.name == "alerts.sender"]
    line = json.loads(JsonFormatter().format(record))
    assert line["notice"] == refused.id
    assert line["recipient"] == "s***@example.gov.cn"
    assert line["attempt"] == 1 and line["permanent"] is True
    assert "550" in line["reason"] and "s***@example.gov.cn" in line["reason"]
    text = json.dumps(line, ensure_ascii=False) + record.getMessage()
    assert "scjg@" not in text
    assert refused.subject not in text and "纪检监察室" not in text  # nothing of the message
