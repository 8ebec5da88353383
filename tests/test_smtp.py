"""Notices over a real SMTP server in-process (aiosmtpd): STARTTLS and AUTH required, a
throwaway certificate authority (trustme), alerts raised by real passes.

The server runs in aiosmtpd's thread on a free port; time is passed as `now` to `drain`, so
backoff is exercised without sleeping. Every message the server accepted is kept, so each
test can say how many times a notice reached it.
"""

from __future__ import annotations

import asyncio
import random
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from sqlalchemy import select

from alerts.notify.base import OnResult, build_message
from alerts.notify.mime import Mail
from alerts.notify.smtp import SmtpNotifier
from alerts.sender import backoff, drain, stats
from monitor.config import NotifyConfig, load_config
from monitor.errors import ConfigError, DeliveryError
from monitor.state.schema import notice_attempts
from tests.conftest import Harness, bj, case, event, item, write_config

USER_ENV = "SUNLIGHT_TEST_SMTP_USER"
PASSWORD_ENV = "SUNLIGHT_TEST_SMTP_PASSWORD"
USER = "sunlight"
PASSWORD = "s3cret-密码"  # non-ASCII: AUTH must encode it, not choke on it
T0 = bj("2026-11-23 10:00")  # the pass that raises the reds
SENT_HEADERS = {
    "from",
    "to",
    "subject",
    "message-id",
    "date",
    "x-sunlight-alert",
    "x-sunlight-kind",
    "mime-version",
    "content-type",
}


# -- the server ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    tls: bool
    authenticated: bool

    @property
    def message(self) -> EmailMessage:
        msg = message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        return msg


@dataclass
class Mailbox:
    """The aiosmtpd handler and authenticator: keeps what it accepted, refuses on demand."""

    messages: list[Received] = field(default_factory=list)
    logins: list[tuple[str, bool, bool]] = field(default_factory=list)  # mechanism, ok, over TLS
    refuse: set[str] = field(default_factory=set)  # recipients answered 550
    drop_at_message: int | None = None  # abort the connection at the DATA of this message (0-based)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == USER.encode()
            and auth_data.password == PASSWORD.encode()
        )
        with self.lock:
            self.logins.append((mechanism, ok, session.ssl is not None))
        return AuthResult(success=ok, handled=False)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        with self.lock:
            if self.drop_at_message is not None and len(self.messages) == self.drop_at_message:
                self.drop_at_message = None
                assert isinstance(server.transport, asyncio.Transport)
                server.transport.abort()  # as a crashing server or a cut line would
                return "421 never seen by the client"
            raw = envelope.original_content or b""
            self.messages.append(
                Received(
                    str(envelope.mail_from),
                    tuple(envelope.rcpt_tos),
                    raw,
                    session.ssl is not None,
                    bool(session.authenticated),
                )
            )
        return "250 2.0.0 accepted"

    def message_ids(self) -> list[str]:
        return [str(r.message["Message-ID"]) for r in self.messages]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MailServer:
    """aiosmtpd on a fixed port that can be stopped and started again (the same mailbox)."""

    def __init__(self, server_tls: ssl.SSLContext, *, exclude: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.mailbox = Mailbox()
        self.server_tls = server_tls
        self.exclude = exclude
        self.controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp+starttls://127.0.0.1:{self.port}"

    def start(self, *, tls: bool = True) -> None:
        assert self.controller is None
        self.controller = Controller(
            self.mailbox,
            hostname="127.0.0.1",
            port=self.port,
            ready_timeout=10,
            tls_context=self.server_tls if tls else None,
            require_starttls=tls,
            authenticator=self.mailbox,
            # Without TLS the server does not ask for AUTH (aiosmtpd warns otherwise): the
            # client must stop at the missing STARTTLS before any of that matters.
            auth_required=tls,
            auth_require_tls=tls,
            auth_exclude_mechanism=list(self.exclude),
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def server(server_tls: ssl.SSLContext) -> Iterator[MailServer]:
    """Not started: each test says when the server is up."""
    s = MailServer(server_tls)
    yield s
    s.stop()


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(USER_ENV, USER)
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


# -- helpers ---------------------------------------------------------------------------------


def smtp_harness(tmp_path: Path, url: str, *, db_url: str | None = None, **notify: Any) -> Harness:
    """A harness whose config sends through `url` with the test credentials."""
    smtp = {
        "url": url,
        "username_env": USER_ENV,
        "password_env": PASSWORD_ENV,
        "timeout_seconds": 30,
    }  # generous: a loaded CI machine is slow, not broken
    smtp.update(notify.pop("smtp", {}))
    db = db_url or f"sqlite:///{tmp_path / 'sunlight.db'}"
    path = write_config(tmp_path, db, notify={"smtp": smtp, **notify})
    return Harness(load_config(path, environ={}))


def raise_reds(h: Harness, *case_ids: str, department: str = "市市场监督管理局") -> None:
    """Licensing cases accepted 2026-11-03 and undecided on 11-23: a red each, two notices."""
    records: list[dict[str, Any]] = [item()]
    for cid in case_ids:
        records += [case(cid, department=department), event(cid, "accepted", "2026-11-03 09:00")]
    h.load(*records)
    h.poll(T0)


def attempts_of(h: Harness) -> list[Any]:
    with h.app.state.connect() as conn:
        return list(conn.execute(select(notice_attempts).order_by(notice_attempts.c.id)))


def notifier(h: Harness, tls: ssl.SSLContext) -> SmtpNotifier:
    return SmtpNotifier(h.config.notify.smtp, tls_context=tls)


@pytest.fixture
def h(tmp_path: Path, server: MailServer) -> Iterator[Harness]:
    harness = smtp_harness(tmp_path, server.url)
    yield harness
    harness.app.dispose()


# -- a notice per transition, once ------------------------------------------------------------


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
def test_a_notice_per_transition_accepted_once_across_passes_and_a_restart(
    tmp_path: Path, server_tls: ssl.SSLContext, client_tls: ssl.SSLContext, mechanism: str
) -> None:
    other = "PLAIN" if mechanism == "LOGIN" else "LOGIN"
    server = MailServer(server_tls, exclude=(other,))
    server.start()
    h = smtp_harness(tmp_path, server.url)
    try:
        # C1: red at once (2 notices). C2: yellow (1 notice) then red (2 more).
        raise_reds(h, "C1")
        h.load(case("C2"), event("C2", "accepted", "2026-11-16 09:00"))
        h.poll(bj("2026-11-20 08:00"))
        first = drain(h.app.state, notifier(h, client_tls), h.config.notify, bj("2026-11-23 10:01"))
        assert (first.sent, first.failed, first.retrying) == (3, 0, 0)
        h.poll(bj("2026-11-24 00:00"))  # C2 escalates
        second = drain(h.app.state, notifier(h, client_tls), h.config.notify, bj("2026-11-24 00:01"))
        assert (second.sent, second.failed, second.retrying) == (2, 0, 0)

        for minute in range(2, 5):  # passes and drains that find nothing new
            h.poll(bj(f"2026-11-24 00:0{minute}"))
            again = drain(
                h.app.state, notifier(h, client_tls), h.config.notify, bj(f"2026-11-24 00:0{minute}")
            )
            assert not again.worked
        restarted = Harness(h.config)  # a restart: a new app and pipeline over the same database
        try:
            restarted.poll(bj("2026-11-24 00:10"))
            after = drain(
                restarted.app.state, notifier(restarted, client_tls), h.config.notify, bj("2026-11-24 00:10")
            )
            assert not after.worked
        finally:
            restarted.app.dispose()

        rows = h.notices()
        assert [r.kind for r in rows] == ["raised", "raised", "raised", "escalated", "escalated"]
        assert all(r.status == "sent" and r.attempts == 1 for r in rows)
        got = server.mailbox.messages
        assert len(got) == 5  # each notice accepted exactly once
        assert sorted(server.mailbox.message_ids()) == sorted(r.message_id for r in rows)
        assert len(set(server.mailbox.message_ids())) == 5  # unique
        for r in rows:
            [msg] = [m for m in got if m.message["Message-ID"] == r.message_id]
            assert msg.rcpt_tos == (r.recipient,)
            assert msg.tls and msg.authenticated
            assert str(msg.message["Subject"]) == r.subject  # Chinese subject survives encoding
        # One connection per batch: one login per drain that had something to send.
        assert server.mailbox.logins == [(mechanism, True, True)] * 2
        assert stats(h.app.state).sent == 5
    finally:
        h.app.dispose()
        server.stop()


def test_case_fields_cannot_inject_headers_or_recipients(
    h: Harness, server: MailServer, client_tls: ssl.SSLContext
) -> None:
    server.start()
    evil_department = "市市场监督管理局\r\nBcc: leak@evil.example\r\nX-Injected: dept"
    evil_case = "C1\r\nX-Injected: case\n\nbody"
    # The importer refuses such values now; a platform's own views may still hold them.
    from monitor.source.importer import import_records
    from monitor.source.records import CaseRecord, EventRecord, ItemRecord

    raw = [
        ItemRecord.model_validate(item()).model_copy(update={"department": evil_department}),
        CaseRecord.model_validate(case("C1")).model_copy(
            update={"case_id": evil_case, "department": evil_department}
        ),
        EventRecord.model_validate(event("C1", "accepted", "2026-11-03 09:00")).model_copy(
            update={"case_id": evil_case}
        ),
    ]
    report = import_records(h.app.source, [(f"raw:{i}", r) for i, r in enumerate(raw)], T0)
    assert not report.errors
    h.poll(T0)
    result = drain(h.app.state, notifier(h, client_tls), h.config.notify, T0)
    assert result.sent == 2
    for got in server.mailbox.messages:
        # The unknown department falls back to the route's default recipients: no one else.
        assert got.rcpt_tos[0] in ("jjjc@example.gov.cn", "dept@example.gov.cn")
        assert len(got.rcpt_tos) == 1
        msg = got.message
        assert {k.lower() for k in msg} == SENT_HEADERS
        assert not msg.defects
        header_lines = got.raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
        # A folded line starts with white space: a continuation, never a header of its own.
        starts = {line.split(b":", 1)[0].lower().decode() for line in header_lines if line[:1] not in b" \t"}
        assert starts == SENT_HEADERS
        assert "X-Injected: case" in str(msg["Subject"])  # kept, but on the one Subject line


def test_a_crash_after_acceptance_resends_with_the_same_message_id(
    h: Harness, server: MailServer, client_tls: ssl.SSLContext
) -> None:
    """The server accepted, then we died before recording it: once the claim's lease lapses
    the retry carries the same Message-ID, which is what lets the receiving system drop the
    duplicate."""
    server.start()
    raise_reds(h, "C1")

    class CrashAfterSending:
        name = "smtp"

        def __init__(self, inner: SmtpNotifier) -> None:
            self.inner = inner

        def send_batch(
            self, messages: list[Mail], on_result: OnResult | None = None
        ) -> list[DeliveryError | None]:
            self.inner.send_batch(messages)  # the records never happen
            raise RuntimeError("killed before the record")

    with pytest.raises(RuntimeError):
        drain(h.app.state, CrashAfterSending(notifier(h, client_tls)), h.config.notify, T0)
    assert all(n.status == "sending" and n.attempts == 1 for n in h.notices())
    lease = timedelta(seconds=h.config.notify.claim_lease_seconds)
    # Within the lease nobody takes them again; once it has lapsed, the next drain does.
    assert not drain(h.app.state, notifier(h, client_tls), h.config.notify, T0 + lease / 2).worked
    again = drain(h.app.state, notifier(h, client_tls), h.config.notify, T0 + lease)
    assert (again.sent, again.lapsed) == (2, 2)
    ids = server.mailbox.message_ids()
    assert len(ids) == 4 and len(set(ids)) == 2
    assert sorted(set(ids)) == sorted(n.message_id for n in h.notices())
    assert all(n.status == "sent" and n.attempts == 2 for n in h.notices())


# -- the server down, then back ---------------------------------------------------------------


def test_server_down_then_back_loses_nothing(
    h: Harness, server: MailServer, client_tls: ssl.SSLContext
) -> None:
    raise_reds(h, "C1", "C2")  # 4 notices; the port is closed
    cfg = h.config.notify
    rng = random.Random(5)
    at = T0
    due_at: list[datetime] = []
    for attempt in range(1, 4):  # an hour and more of outage: 30 s, 60 s, 120 s ... backoff
        result = drain(h.app.state, notifier(h, client_tls), cfg, at, rng=rng)
        assert (result.sent, result.failed, result.retrying) == (0, 0, 4)
        rows = h.notices()
        assert all(r.status == "pending" and r.attempts == attempt for r in rows)
        assert all("127.0.0.1" in r.last_error and "connect" in r.last_error.lower() for r in rows)
        ceiling = min(cfg.retry_max_seconds, cfg.retry_base_seconds * 2 ** (attempt - 1))
        for r in rows:  # full jitter on the upper half of the capped exponential
            assert at + timedelta(seconds=ceiling / 2) <= r.next_attempt_at <= at + timedelta(seconds=ceiling)
        # Not due yet: a drain just before the earliest next attempt does nothing.
        earliest = min(r.next_attempt_at for r in rows)
        assert not drain(h.app.state, notifier(h, client_tls), cfg, earliest - timedelta(seconds=1)).worked
        at = max(r.next_attempt_at for r in rows)
        due_at.append(at)
    assert len(attempts_of(h)) == 12
    assert all(not a.ok and not a.permanent and a.error for a in attempts_of(h))

    server.start()
    at += timedelta(hours=1)
    result = drain(h.app.state, notifier(h, client_tls), cfg, at, rng=rng)
    assert (result.sent, result.failed, result.retrying) == (4, 0, 0)
    rows = h.notices()
    assert all(r.status == "sent" and r.attempts == 4 and r.last_error is None for r in rows)
    assert all(r.sent_at == at for r in rows)
    assert sorted(server.mailbox.message_ids()) == sorted(r.message_id for r in rows)
    ok = [a for a in attempts_of(h) if a.ok]
    assert sorted(a.notice_id for a in ok) == sorted(r.id for r in rows)
    assert stats(h.app.state).pending == 0


def test_backoff_is_capped_and_jittered() -> None:
    cfg = NotifyConfig(retry_base_seconds=30, retry_max_seconds=3600)
    rng = random.Random(1)
    for attempt, ceiling in [(1, 30), (2, 60), (3, 120), (8, 3600), (30, 3600)]:
        waits = {backoff(attempt, cfg, rng).total_seconds() for _ in range(50)}
        assert all(ceiling / 2 <= w <= ceiling for w in waits)
        assert len(waits) > 1  # jittered, so a herd of retries spreads out


# -- permanent and transient failures ----------------------------------------------------------


def test_a_permanent_rejection_is_failed_not_retried_and_the_rest_are_sent(
    h: Harness, server: MailServer, client_tls: ssl.SSLContext
) -> None:
    server.mailbox.refuse.add("scjg@example.gov.cn")
    server.start()
    raise_reds(h, "C1", "C2")
    result = drain(h.app.state, notifier(h, client_tls), h.config.notify, T0)
    assert (result.sent, result.failed, result.retrying) == (2, 2, 0)
    by_recipient: dict[str, list[Any]] = {}
    for n in h.notices():
        by_recipient.setdefault(n.recipient, []).append(n)
    assert all(n.status == "failed" and "550" in n.last_error for n in by_recipient["scjg@example.gov.cn"])
    assert all(n.status == "sent" for n in by_recipient["jjjc@example.gov.cn"])
    failed_ids = {n.id for n in by_recipient["scjg@example.gov.cn"]}
    assert all(a.permanent and not a.ok for a in attempts_of(h) if a.notice_id in failed_ids)
    # Never again, however long we wait.
    assert not drain(h.app.state, notifier(h, client_tls), h.config.notify, T0 + timedelta(days=30)).worked
    assert [m.rcpt_tos for m in server.mailbox.messages] == [("jjjc@example.gov.cn",)] * 2
    assert stats(h.app.state).failed == 2


def test_a_failed_login_is_transient_and_sends_once_fixed(
    h: Harness, server: MailServer, client_tls: ssl.SSLContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Credentials are configuration, not a property of the notice: a wrong password must not
    fail every queued notice for good. It is retried (bounded by max_attempts)."""
    server.start()
    raise_reds(h, "C1")
    monkeypatch.setenv(PASSWORD_ENV, "wrong")
    result = drain(h.app.state, notifier(h, client_tls), h.config.notify, T0)
    assert (result.sent, result.failed, result.retrying) == (0, 0, 2)
    assert all("535" in n.last_error for n in h.notices())
    assert all(not a.permanent for a in attempts_of(h))
    assert server.mailbox.logins and not any(ok for _, ok, _ in server.mailbox.logins)

    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    result = drain(h.app.state, notifier(h, client_tls), h.config.notify, T0 + timedelta(hours=1))
    assert result.sent == 2 and len(server.mailbox.messages) == 2


def test_a_missing_password_is_a_configuration_error_naming_the_variable(
    h: Harness, client_tls: ssl.SSLContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Half the credentials is a mistake to report when the daemon starts, not a login to try."""
    monkeypatch.delenv(PASSWORD_ENV)
    with pytest.raises(ConfigError, match=f"{USER_ENV} is set but {PASSWORD_ENV} is not"):
        notifier(h, client_tls)


def test_without_login_the_servers_530_is_not_taken_as_a_permanent_rejection(
    h: Harness, server: MailServer, client_tls: ssl.SSLContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No credentials at all: the server answers MAIL with 530 (authentication required).
    That 5xx is about our session, not the notice, so the notices must stay queued."""
    server.start()
    raise_reds(h, "C1")
    monkeypatch.delenv(USER_ENV)
    monkeypatch.delenv(PASSWORD_ENV)
    result = drain(h.app.state, notifier(h, client_tls), h.config.notify, T0)
    assert (result.sent, result.failed, result.retrying) == (0, 0, 2)
    assert all("530" in n.last_error for n in h.notices())


def test_max_attempts_exhausted_marks_failed(
    tmp_path: Path, server: MailServer, client_tls: ssl.SSLContext
) -> None:
    h = smtp_harness(tmp_path, server.url, max_attempts=3)
    try:
        raise_reds(h, "C1")
        at = T0
        outcomes = []
        for _ in range(3):
            r = drain(h.app.state, notifier(h, client_tls), h.config.notify, at)
            outcomes.append((r.sent, r.failed, r.retrying))
            at += timedelta(days=1)
        assert outcomes == [(0, 0, 2), (0, 0, 2), (0, 2, 0)]
        rows = h.notices()
        assert all(n.status == "failed" and n.attempts == 3 and n.last_error for n in rows)
        assert all(not a.permanent for a in attempts_of(h))  # each failure was transient
        server.start()
        assert not drain(h.app.state, notifier(h, client_tls), h.config.notify, at).worked
        assert server.mailbox.messages == []
    finally:
        h.app.dispose()


def test_a_connection_dropped_mid_batch_marks_the_rest_transient(
    h: Harness, server: MailServer, client_tls: ssl.SSLContext
) -> None:
    server.mailbox.drop_at_message = 1  # the first is accepted, the line dies on the second
    server.start()
    raise_reds(h, "C1", "C2")
    result = drain(h.app.state, notifier(h, client_tls), h.config.notify, T0)
    assert (result.sent, result.failed, result.retrying) == (1, 0, 3)
    rows = h.notices()
    assert [r.status for r in rows] == ["sent", "pending", "pending", "pending"]
    assert "accepted" not in rows[1].last_error  # the one the line died under
    assert all(r.last_error.endswith(f"({rows[1].last_error})") for r in rows[2:])  # the rest, why
    assert all(not a.permanent for a in attempts_of(h))
    later = drain(h.app.state, notifier(h, client_tls), h.config.notify, T0 + timedelta(hours=1))
    assert (later.sent, later.failed, later.retrying) == (3, 0, 0)
    assert sorted(server.mailbox.message_ids()) == sorted(r.message_id for r in h.notices())


def test_a_notice_that_cannot_become_a_message_fails_alone(
    h: Harness, server: MailServer, client_tls: ssl.SSLContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Raising would roll the batch back and leave the bad row first in the queue for ever."""
    server.start()
    raise_reds(h, "C1")

    def build(row: Any, sender: str) -> Mail:
        if row.recipient == "scjg@example.gov.cn":
            raise ValueError("unrepresentable")
        return build_message(row, sender)

    monkeypatch.setattr("alerts.sender.build_message", build)
    result = drain(h.app.state, notifier(h, client_tls), h.config.notify, T0)
    assert (result.sent, result.failed, result.retrying) == (1, 1, 0)
    [bad] = [n for n in h.notices() if n.status == "failed"]
    assert bad.recipient == "scjg@example.gov.cn" and "unrepresentable" in bad.last_error
    assert [m.rcpt_tos for m in server.mailbox.messages] == [("jjjc@example.gov.cn",)]


# -- TLS and timeouts ----------------------------------------------------------------------


def test_starttls_is_required_never_a_silent_plaintext_fallback(
    h: Harness, server: MailServer, client_tls: ssl.SSLContext
) -> None:
    server.start(tls=False)  # a server (or a man in the middle) that offers no STARTTLS
    raise_reds(h, "C1")
    result = drain(h.app.state, notifier(h, client_tls), h.config.notify, T0)
    assert (result.sent, result.retrying) == (0, 2)
    assert all("starttls" in n.last_error.lower() for n in h.notices())
    assert server.mailbox.logins == [] and server.mailbox.messages == []


def test_an_untrusted_certificate_is_refused(h: Harness, server: MailServer) -> None:
    server.start()
    raise_reds(h, "C1")
    stranger = ssl.create_default_context()
    trustme.CA().configure_trust(stranger)  # trusts some other authority only
    result = drain(h.app.state, SmtpNotifier(h.config.notify.smtp, tls_context=stranger), h.config.notify, T0)
    assert (result.sent, result.retrying) == (0, 2)
    assert all("certificate" in n.last_error.lower() for n in h.notices())
    assert server.mailbox.logins == [] and server.mailbox.messages == []


def test_a_server_that_never_answers_times_out_as_transient(
    tmp_path: Path, client_tls: ssl.SSLContext
) -> None:
    # A listening socket nobody accepts on: the kernel completes the TCP handshake and then
    # no greeting ever comes. The configured timeout bounds the wait.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        h = smtp_harness(tmp_path, f"smtp+starttls://127.0.0.1:{port}", smtp={"timeout_seconds": 0.3})
        try:
            raise_reds(h, "C1")
            result = drain(h.app.state, notifier(h, client_tls), h.config.notify, T0)
            assert (result.sent, result.failed, result.retrying) == (0, 0, 2)
            assert all("timed out" in n.last_error.lower() for n in h.notices())
        finally:
            h.app.dispose()


# -- configuration -------------------------------------------------------------------------


def test_credentials_come_from_the_named_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = NotifyConfig.model_validate(
        {"smtp": {"url": "smtps://mail.example:465", "username_env": "A_USER", "password_env": "A_PASS"}}
    ).smtp
    monkeypatch.setenv("A_USER", "u")
    monkeypatch.setenv("A_PASS", "p")
    n = SmtpNotifier(cfg)
    assert (n.host, n.port, n.use_tls, n.start_tls) == ("mail.example", 465, True, False)
    assert (n.username, n.password) == ("u", "p")


def test_credentials_are_never_sent_in_clear(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = NotifyConfig.model_validate(
        {"smtp": {"url": "smtp://mail.example:25", "username_env": "A_USER", "password_env": "A_PASS"}}
    ).smtp
    monkeypatch.setenv("A_USER", "u")
    monkeypatch.setenv("A_PASS", "p")
    with pytest.raises(ConfigError, match="smtp\\+starttls"):
        SmtpNotifier(cfg)
    monkeypatch.delenv("A_USER")
    monkeypatch.delenv("A_PASS")
    assert SmtpNotifier(cfg).start_tls is False  # a local relay without login: plain is allowed


# -- PostgreSQL and MariaDB: concurrent senders ------------------------------------------------


@pytest.mark.parametrize("any_db_url", ["postgres", "mariadb"], indirect=True)
def test_a_second_sender_skips_the_rows_the_first_is_sending(any_db_url: str, tmp_path: Path) -> None:
    """While one drain sends the notices it claimed (committed, leased), another drain finds
    nothing to send instead of waiting or sending them too."""
    h = smtp_harness(tmp_path, "smtp+starttls://127.0.0.1:1", db_url=any_db_url)
    try:
        raise_reds(h, "C1")
        entered, release = threading.Event(), threading.Event()
        seen: list[int] = []

        class Slow:
            name = "slow"

            def send_batch(
                self, messages: list[Mail], on_result: OnResult | None = None
            ) -> list[DeliveryError | None]:
                seen.append(len(messages))
                entered.set()
                assert release.wait(10)
                return [None] * len(messages)

        class Second:
            name = "second"

            def send_batch(
                self, messages: list[Mail], on_result: OnResult | None = None
            ) -> list[DeliveryError | None]:
                seen.append(-len(messages))
                return [None] * len(messages)

        results: dict[str, Any] = {}

        def run(key: str, n: Any) -> None:
            results[key] = drain(h.app.state, n, h.config.notify, T0)

        first = threading.Thread(target=run, args=("first", Slow()))
        first.start()
        assert entered.wait(10)
        # In a thread too, so that a regression to a plain FOR UPDATE (which waits for the
        # first sender's rows) fails here instead of hanging the suite.
        second = threading.Thread(target=run, args=("second", Second()))
        second.start()
        second.join(10)
        blocked = second.is_alive()
        release.set()
        first.join(10)
        second.join(10)
        assert not blocked, "the second sender waited for the rows instead of skipping them"
        assert not results["second"].worked
        assert seen == [2]
        assert results["first"].sent == 2
        assert all(n.status == "sent" for n in h.notices())
    finally:
        h.app.dispose()


# -- each message's fate, told as soon as the server answers -----------------------------------


def _messages(*recipients: str) -> list[Mail]:
    return [
        build_message(
            SimpleNamespace(
                recipient=rcpt,
                subject=f"通知 {i}",
                message_id=f"<m{i}@sunlight.local>",
                created_at=T0,
                alert_id=None,
                kind="report",
                body_text="正文",
                body_html="<p>正文</p>",
            ),
            "sunlight@example.gov.cn",
        )
        for i, rcpt in enumerate(recipients)
    ]


def test_the_smtp_notifier_tells_each_fate_right_after_its_message(
    h: Harness, server: MailServer, client_tls: ssl.SSLContext
) -> None:
    """The sender records a delivery before the next message goes out only if the notifier
    says so at once: at each call the server holds exactly the messages accepted so far."""
    server.mailbox.refuse.add("bad@example.gov.cn")
    server.start()
    heard: list[tuple[int, bool, int]] = []

    def on_result(i: int, error: DeliveryError | None) -> None:
        heard.append((i, error is None, len(server.mailbox.messages)))

    messages = _messages("a@example.gov.cn", "bad@example.gov.cn", "c@example.gov.cn")
    out = notifier(h, client_tls).send_batch(messages, on_result)
    assert heard == [(0, True, 1), (1, False, 1), (2, True, 2)]
    assert [e is None for e in out] == [True, False, True]


def test_the_smtp_notifier_tells_every_fate_when_it_cannot_connect(
    h: Harness, client_tls: ssl.SSLContext
) -> None:
    heard: list[tuple[int, bool]] = []
    out = notifier(h, client_tls).send_batch(
        _messages("a@example.gov.cn", "b@example.gov.cn"), lambda i, e: heard.append((i, e is None))
    )
    assert heard == [(0, False), (1, False)]  # the port is closed: both retried later
    assert all(e is not None and not e.permanent for e in out)


def test_the_eml_notifier_tells_each_fate_once_the_file_is_in_place(tmp_path: Path) -> None:
    from alerts.notify.eml import EmlNotifier

    folder = tmp_path / "outbox"
    heard: list[tuple[int, int]] = []
    EmlNotifier(folder).send_batch(
        _messages("a@example.gov.cn", "b@example.gov.cn"),
        lambda i, e: heard.append((i, len(list(folder.glob("*.eml"))))),
    )
    assert heard == [(0, 1), (1, 2)]


def test_the_daemon_waits_for_an_smtp_outage_while_evaluation_goes_on(
    h: Harness, server: MailServer, client_tls: ssl.SSLContext
) -> None:
    """The notices stay queued (not even attempted), the passes go on, /readyz and the gauge
    name the server; once it answers the queue is sent."""
    from monitor.daemon.run import Daemon

    raise_reds(h, "C1")  # two notices; the port is closed
    daemon = Daemon(h.app, clock=lambda: T0)
    daemon.pipeline, daemon.notifier, daemon.started = h.pipeline, notifier(h, client_tls), True
    metrics = h.app.metrics

    def up() -> float | None:
        return metrics.registry.get_sample_value("sunlight_dependency_up", {"dependency": "smtp"})

    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        assert len(waits) < 10, "still waiting for a server that is back"
        assert up() == 0 and attempts_of(h) == []
        readiness = daemon.ready()
        assert (
            not readiness.ok
            and f"smtp: unreachable, waiting for it: the SMTP server 127.0.0.1:{server.port}"
            in (readiness.body())
        )
        if len(waits) == 1:  # evaluation does not wait for the mail server
            h.load(case("C2"), event("C2", "accepted", "2026-11-03 09:00"))
            assert daemon.run_pass() is True
        if len(waits) == 2:
            server.start()

    daemon.deps.sleep = sleep
    daemon.send_job()
    assert waits == [1.0, 2.0] and up() == 1 and daemon.ready().ok
    assert [n.status for n in h.notices()] == ["sent"] * 4  # C1's two, and C2's raised meanwhile
    assert len(server.mailbox.messages) == 4


# -- run --once: the whole queue, one batch of built messages at a time ------------------------


class Batches:
    """The real SMTP notifier, noting how many built messages each batch held."""

    def __init__(self, inner: SmtpNotifier) -> None:
        self.inner, self.sizes = inner, list[int]()
        self.name = inner.name

    def send_batch(
        self, messages: list[Mail], on_result: OnResult | None = None
    ) -> list[DeliveryError | None]:
        self.sizes.append(len(messages))
        return self.inner.send_batch(messages, on_result)


def test_run_once_sends_the_whole_queue_one_batch_at_a_time(
    h: Harness, server: MailServer, client_tls: ssl.SSLContext
) -> None:
    from alerts.dispatch import deliver_all
    from monitor.calendar import WorkCalendar

    raise_reds(h, *(f"C{i}" for i in range(13)))  # 26 notices
    server.start()
    batches = Batches(notifier(h, client_tls))
    cal = WorkCalendar.default()
    result = deliver_all(h.app.state, batches, h.config.notify, cal, T0, h.config.tz, batch=10)
    assert result.sent == 26 and batches.sizes == [10, 10, 6]
    assert len(set(server.mailbox.message_ids())) == 26


def test_run_once_stops_at_a_server_that_is_down_after_one_batch(
    h: Harness, server: MailServer, client_tls: ssl.SSLContext
) -> None:
    """A batch that can only retry ends the run: the other batches would wait on the same
    server, each paying its connection timeout."""
    from alerts.dispatch import deliver_all
    from monitor.calendar import WorkCalendar

    raise_reds(h, *(f"C{i}" for i in range(13)))
    batches = Batches(notifier(h, client_tls))  # the server is not started: the port is closed
    cal = WorkCalendar.default()
    result = deliver_all(h.app.state, batches, h.config.notify, cal, T0, h.config.tz, batch=10)
    assert (result.sent, result.retrying) == (0, 10) and batches.sizes == [10]
    assert sum(n.status == "pending" for n in h.notices()) == 26
