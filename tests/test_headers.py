"""Nothing from the source becomes a header: hostile values tried on the bytes themselves.

The fields of a case that reach a header are its department and its number (both in the
Subject, and through it in reminders and notices to the office above); the rest of a header
is configuration (From, To, the routes in Message-ID) or code (Date, X-Sunlight-*). Each
hostile value goes in as a platform's view would hold it (the importer refuses them, so
`model_copy` puts them past its checks), through a real pass, then out through a real
in-process SMTP server (aiosmtpd) and the .eml folder; the bytes are parsed back.
"""

from __future__ import annotations

import base64
import re
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import trustme

from alerts.notify.base import build_message
from alerts.notify.eml import EmlNotifier
from alerts.notify.headers import CONTROL, clean, message_ids, parse_address
from alerts.notify.smtp import SmtpNotifier
from alerts.outbox import insert_notice
from alerts.sender import drain
from monitor.source.importer import import_records
from monitor.source.records import CaseRecord, EventRecord, ItemRecord
from tests.conftest import Harness, case, event, item
from tests.test_smtp import PASSWORD, PASSWORD_ENV, SENT_HEADERS, T0, USER, USER_ENV, MailServer, smtp_harness

EVIL = "evil@attacker.example"
CONFIGURED = {"jjjc@example.gov.cn", "dept@example.gov.cn", "scjg@example.gov.cn"}
SENDER = "sunlight@localhost"


def _b(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


PAYLOADS = {
    "cr": f"\rBcc: {EVIL}",
    "lf": f"\nBcc: {EVIL}",
    "crlf": f"\r\nBcc: {EVIL}\r\nX-Injected: yes",
    "q-word": f"=?utf-8?q?x=0D=0ABcc:_{EVIL}?=",
    "b-word": f"=?utf-8?b?{_b('x' + chr(13) + chr(10) + 'Bcc: ' + EVIL)}?=",
    "upper-lower": f"=?UTF-8?Q?x=0d=0aCc:_{EVIL}?=",
    "split": f"=?utf-8?q?x=0D?= =?utf-8?q?=0ABcc:_{EVIL}?=",
    "latin1-word": f"=?iso-8859-1?q?=0D=0ABcc:_{EVIL}?=",
    "u2028": f"\u2028Bcc: {EVIL}",
    "u2029": f"\u2029Bcc: {EVIL}",
    "u0085": f"\x85Bcc: {EVIL}",
    "nul": f"\x00Bcc: {EVIL}",
    "tab": f"\tBcc: {EVIL}",
    "esc": f"\x1b[2J\x07Bcc: {EVIL}",
    "long": "局" * 10_000,
}
# What each database can hold: PostgreSQL has no NUL in text, and a platform's view there or
# on MariaDB cannot hand over more than the columns hold (case 64, department 128).
CANNOT_HOLD = {"postgres": {"nul", "long"}, "mariadb": {"long"}}


# -- the server --------------------------------------------------------------------------------


Tls = tuple[ssl.SSLContext, ssl.SSLContext]  # the server's side, the client's side


@pytest.fixture(scope="module")
def tls() -> Tls:
    ca = trustme.CA()
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_side)
    client_side = ssl.create_default_context()
    ca.configure_trust(client_side)
    return server_side, client_side


@pytest.fixture
def server(tls: Tls, monkeypatch: pytest.MonkeyPatch) -> Iterator[MailServer]:
    monkeypatch.setenv(USER_ENV, USER)
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    s = MailServer(tls[0])
    s.start()
    yield s
    s.stop()


# -- what safe bytes look like -----------------------------------------------------------------


def assert_one_line_headers(raw: bytes, *, shown: str | None = None) -> EmailMessage:
    """The header block of `raw` holds exactly the headers we set, each one logical line of at
    most 78 characters ending in CR LF; `shown` is text the decoded Subject must contain."""
    block = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\r" not in block.replace(b"\r\n", b"") and b"\n" not in block.replace(b"\r\n", b"")
    lines = block.split(b"\r\n")
    assert all(len(line) <= 78 for line in lines), max(len(line) for line in lines)
    # A line that starts with white space continues the header above it, never starts one.
    starts = [line.split(b":", 1)[0].lower().decode() for line in lines if line[:1] not in b" \t"]
    assert sorted(starts) == sorted(SENT_HEADERS)
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    assert {k.lower() for k in msg} == SENT_HEADERS and len(msg.keys()) == len(SENT_HEADERS)
    assert not msg.defects
    for name in msg:
        value = str(msg[name])
        assert not CONTROL.search(value), (name, value)  # one logical line, once decoded
    assert "bcc" not in {k.lower() for k in msg} and "cc" not in {k.lower() for k in msg}
    if shown is not None:
        assert shown in str(msg["Subject"])
    return msg


# -- through a pass, SMTP and the .eml folder ----------------------------------------------


def load_hostile(h: Harness, field: str, value: str) -> None:
    """A red case whose `field` holds `value`, as a platform's view might hold it."""
    department = "市市场监督管理局" + value if field == "department" else "市市场监督管理局"
    case_id = "C1" + value if field == "case_id" else "C1"
    raw = [
        ItemRecord.model_validate(item()).model_copy(update={"department": department}),
        CaseRecord.model_validate(case("C1")).model_copy(
            update={"case_id": case_id, "department": department}
        ),
        EventRecord.model_validate(event("C1", "accepted", "2026-11-03 09:00")).model_copy(
            update={"case_id": case_id}
        ),
    ]
    report = import_records(h.app.source, [(f"raw:{i}", r) for i, r in enumerate(raw)], T0)
    assert not report.errors, report.errors
    h.poll(T0)


# Every field and payload on every backend, but for the values a backend's columns cannot
# hold at all (PostgreSQL stores no NUL; the 10,000 characters exceed the server columns):
# those reach the headers through SQLite here and through the builders' own tests above.
HOSTILE = [
    (backend, field, payload)
    for backend in ("sqlite", "postgres", "mariadb")
    for field in ("department", "case_id")
    for payload in sorted(PAYLOADS)
    if payload not in CANNOT_HOLD.get(backend, set())
]


@pytest.mark.parametrize(("any_db_url", "field", "payload"), HOSTILE, indirect=["any_db_url"])
def test_a_hostile_source_field_stays_inside_the_subject_over_smtp_and_in_eml(
    field: str,
    payload: str,
    any_db_url: str,
    tmp_path: Path,
    server: MailServer,
    tls: Tls,
) -> None:
    value = "号" * 10_000 if payload == "long" and field == "case_id" else PAYLOADS[payload]
    h = smtp_harness(tmp_path, server.url, db_url=any_db_url)
    try:
        load_hostile(h, field, value)
        rows = h.notices()
        assert len(rows) == 2  # the red goes to the office and to the department
        messages = [build_message(r, h.config.notify.smtp.sender) for r in rows]
        folder = tmp_path / "eml"
        assert EmlNotifier(folder).send_batch(messages) == [None, None]
        assert SmtpNotifier(h.config.notify.smtp, tls_context=tls[1]).send_batch(messages) == [None, None]
    finally:
        h.app.dispose()
    shown = clean(value)[:200]
    received = server.mailbox.messages
    assert len(received) == 2
    for row, got in zip(rows, received, strict=True):
        # The envelope is exactly the configured recipient: nobody added by any header.
        assert got.rcpt_tos == (row.recipient,) and row.recipient in CONFIGURED
        assert got.mail_from == SENDER
        msg = assert_one_line_headers(got.raw, shown=shown)
        assert str(msg["To"]) == row.recipient
        # The .eml file holds the very bytes the server received.
        eml = (folder / (re.sub(r"[^A-Za-z0-9_.-]", "_", row.message_id.strip("<>")) + ".eml")).read_bytes()
        assert eml == got.raw
        assert_one_line_headers(eml, shown=shown)


def test_a_notice_with_a_hostile_recipient_fails_alone_and_reaches_nobody(
    tmp_path: Path, server: MailServer, tls: Tls
) -> None:
    """A recipient is configuration, but a row could hold anything: it is refused before
    anything is sent, for good, and the rest of the batch goes out."""
    h = smtp_harness(tmp_path, server.url)
    try:
        load_hostile(h, "department", "")
        with h.app.state.begin() as conn:
            insert_notice(
                conn,
                alert_id=None,
                kind="operations",
                route="operators",
                recipient=f"ops@example.gov.cn\r\nBcc: {EVIL}",
                subject="x",
                body_text="x",
                body_html="x",
                message_id="<sunlight.ops.x@sunlight.local>",
                status="pending",
                created_at=T0,
                next_attempt_at=T0,
            )
        result = drain(
            h.app.state, SmtpNotifier(h.config.notify.smtp, tls_context=tls[1]), h.config.notify, T0
        )
        assert (result.sent, result.failed, result.retrying) == (2, 1, 0)
        [bad] = [n for n in h.notices() if n.status == "failed"]
        assert "To:" in bad.last_error and "control character" in bad.last_error
    finally:
        h.app.dispose()
    assert {m.rcpt_tos for m in server.mailbox.messages} == {
        ("jjjc@example.gov.cn",),
        ("scjg@example.gov.cn",),
    }


# -- each header builder alone ------------------------------------------------------------------


def row(**values: Any) -> SimpleNamespace:
    base: dict[str, Any] = {
        "recipient": "jjjc@example.gov.cn",
        "subject": "【阳光监察·红牌】市市场监督管理局｜超期｜办件 C1",
        "message_id": "<sunlight.1.1.department.abc@sunlight.local>",
        "created_at": datetime(2026, 11, 23, 2, tzinfo=UTC),
        "alert_id": 1,
        "kind": "raised",
        "body_text": "正文",
        "body_html": "<p>正文</p>",
    }
    return SimpleNamespace(**{**base, **values})


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
@pytest.mark.parametrize("field", ["subject", "kind"])
def test_every_text_header_is_one_encoded_line_whatever_it_holds(field: str, payload: str) -> None:
    value = "【阳光监察】" + PAYLOADS[payload] + "｜办件"
    raw = build_message(row(**{field: value}), "阳光监察 <sunlight@localhost>").data
    msg = assert_one_line_headers(raw)
    header = "Subject" if field == "subject" else "X-Sunlight-Kind"
    assert str(msg[header]) == clean(value)  # the text survives, only control characters go


@pytest.mark.parametrize("payload", sorted(set(PAYLOADS) - {"long"}))
@pytest.mark.parametrize("field", ["sender", "recipient"])
def test_a_hostile_address_is_refused_naming_the_header(field: str, payload: str) -> None:
    address = "ops@example.gov.cn" + PAYLOADS[payload]
    where = "From" if field == "sender" else "To"
    with pytest.raises(ValueError, match=f"^{where}: "):
        if field == "sender":
            build_message(row(), address)
        else:
            build_message(row(recipient=address), SENDER)


@pytest.mark.parametrize(
    "text",
    ["", "nobody", "a@b.cn, c@d.cn", "@b.cn", "a@", "张三@例子.中国", '"a b"@b.cn', "a <b@c.cn", "a@b..cn"],
)
def test_what_is_not_one_ascii_mailbox_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"^key: "):
        parse_address(text, "key")


def test_a_display_name_with_an_encoded_word_is_refused_and_a_chinese_one_encoded() -> None:
    with pytest.raises(ValueError, match="encoded word"):
        parse_address(f"=?utf-8?q?x=0D=0ABcc:_{EVIL}?= <a@b.cn>", "notify.smtp.sender")
    raw = build_message(row(), "阳光监察" * 30 + " <sunlight@localhost>").data
    msg = assert_one_line_headers(raw)
    # RFC 2047 drops the white space between encoded words; Python's parser of a display
    # name keeps it, so the name is compared without it.
    assert msg["From"].addresses[0].addr_spec == SENDER
    assert msg["From"].addresses[0].display_name.replace(" ", "") == "阳光监察" * 30


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
def test_a_hostile_message_id_is_refused(payload: str) -> None:
    with pytest.raises(ValueError, match=r"^Message-ID: "):
        message_ids("Message-ID", "<sunlight.1" + PAYLOADS[payload] + "@sunlight.local>")


def test_the_eml_file_and_the_wire_use_crlf_only() -> None:
    raw = build_message(row(body_text="一\n二\n", subject="x" * 10_000), SENDER).data
    assert raw.count(b"\n") == raw.count(b"\r\n")
    assert_one_line_headers(raw)


def test_an_address_object_is_validated_like_text() -> None:
    from email.headerregistry import Address

    from alerts.notify.headers import addresses

    with pytest.raises(ValueError, match=r"^To: .*control character"):
        addresses("To", Address("名\u2028称", "a", "b.cn"))
    assert str(addresses("To", Address("名称", "a", "b.cn"))) == "名称 <a@b.cn>"
