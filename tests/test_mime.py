"""The bytes `alerts.notify.mime` builds are the message the email package built before.

The reference is the builder the sender used until the bytes were written directly: an
`EmailMessage` holding the same `SafeHeader`s, `set_content` and `add_alternative`, flattened
with the SMTP policy. Both are parsed back with `email.message_from_bytes(policy=default)` and
must give the same headers (values as decoded), the same parts and the same text; the bytes
themselves are the same but for the boundary (and the `MIME-Version` line the email package
also writes into the HTML part, which means nothing there).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import format_datetime
from io import BytesIO
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.notify import headers
from alerts.notify.mime import Mail, build
from alerts.notify.smtp import seven_bit

SENDER = "阳光监察 <sunlight@localhost>"


def reference(row: Any, sender: str) -> bytes:
    """The message as `EmailMessage` built it."""
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
    out = BytesIO()
    BytesGenerator(out, policy=policy.SMTP).flatten(msg)
    return out.getvalue()


def notice(**values: Any) -> SimpleNamespace:
    base: dict[str, Any] = {
        "recipient": "jjjc@example.gov.cn",
        "subject": "【阳光监察·红牌】市市场监督管理局｜承诺时限内未办结｜办件 XK-2026-0001",
        "message_id": "<sunlight.17.2.discipline_office.0123456789@sunlight.local>",
        "created_at": datetime(2026, 11, 23, 2, 0, 5, tzinfo=UTC),
        "alert_id": 17,
        "kind": "escalated",
        "body_text": "纪检监察室（效能监察科）：\n\n办件 XK-2026-0001 已超过承诺办理时限。\n",
        "body_html": (
            "<p>纪检监察室（效能监察科）：</p>\n<p>办件 <b>XK-2026-0001</b> 已超过承诺办理时限。</p>\n"
        ),
    }
    return SimpleNamespace(**{**base, **values})


NOTICES = {
    "chinese": notice(),
    "long chinese subject": notice(subject="【阳光监察】" + "市市场监督管理局行政许可科" * 20),
    "long ascii subject": notice(subject="x" * 300),
    "an encoded word in the subject": notice(subject="=?utf-8?q?x=0D=0ABcc:_evil@x.cn?= 办件"),
    "long ascii lines": notice(body_text="x" * 100 + "\ny\n", body_html="<p>" + "y" * 200 + "</p>"),
    "long ascii, many lines": notice(body_text=("z" * 90 + "\n") * 12),
    "long chinese lines": notice(body_text="办理过程" * 40 + "\n" * 20, body_html="<td>受理</td>" * 50),
    "empty bodies": notice(body_text="", body_html=""),
    "odd line ends": notice(body_text="一\r\n二\r三\n\n", body_html="a\rb"),
    "no final line break": notice(body_text="末行没有换行"),
    "a body holding a boundary": notice(body_text="--=_sunlight_\n--===============1==\n"),
    "no alert": notice(alert_id=None, kind="operations"),
    "odd addresses": notice(recipient="first.last+tag@sub-domain.example.gov.cn"),
    "ascii only": notice(subject="plain", body_text="plain text\n", body_html="<p>plain</p>"),
}
SENDERS = [
    SENDER,
    "sunlight@localhost",
    "Sunlight Monitor <no-reply@example.gov.cn>",
    "阳光监察" * 30 + " <a@b.cn>",
]


def parsed(raw: bytes) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:
    """The headers (the boundary left out) and each part's type, charset and text."""
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage) and not msg.defects
    top = [
        (
            name.lower(),
            re.sub(r";\s*boundary=\S+", "", str(value)) if name.lower() == "content-type" else str(value),
        )
        for name, value in msg.items()
    ]
    parts = []
    for part in msg.iter_parts():
        assert isinstance(part, EmailMessage) and not part.defects
        parts.append((part.get_content_type(), str(part.get_content_charset()), str(part.get_content())))
    return top, parts


def same_but_boundary(old: bytes, new: bytes) -> bool:
    boundary = re.search(rb'boundary="([^"]+)"', old)
    ours = re.search(rb'boundary="([^"]+)"', new)
    assert boundary is not None and ours is not None
    old = old.replace(boundary.group(1), ours.group(1))
    old = re.sub(rb"(Content-Transfer-Encoding: [^\r]+\r\n)MIME-Version: 1\.0\r\n", rb"\1", old)
    return old == new


@pytest.mark.parametrize("sender", SENDERS)
@pytest.mark.parametrize("name", sorted(NOTICES))
def test_the_built_bytes_parse_to_the_same_message_as_the_email_package_built(name: str, sender: str) -> None:
    row = NOTICES[name]
    old, new = reference(row, sender), build(row, sender).data
    assert parsed(new) == parsed(old)
    assert same_but_boundary(old, new)


@settings(max_examples=150, deadline=None)
@given(
    subject=st.text(max_size=200),
    text=st.text(alphabet=st.characters(codec="utf-8"), max_size=600),
    html=st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
)
def test_any_text_parses_to_the_same_message_as_the_email_package_built(
    subject: str, text: str, html: str
) -> None:
    row = notice(subject=subject, body_text=text, body_html=html)
    old, new = reference(row, SENDER), build(row, SENDER).data
    assert parsed(new) == parsed(old)
    assert same_but_boundary(old, new)


def test_the_envelope_is_the_validated_from_and_to_and_the_bytes_are_stable() -> None:
    mail = build(notice(), SENDER)
    assert isinstance(mail, Mail)
    assert (mail.sender, mail.recipients) == ("sunlight@localhost", ("jjjc@example.gov.cn",))
    assert mail.message_id == notice().message_id
    assert build(notice(), SENDER).data == mail.data  # a re-sent notice is the same message
    assert mail.data.count(b"\n") == mail.data.count(b"\r\n")


def test_the_boundary_is_not_a_line_of_either_body() -> None:
    first = build(notice(), SENDER)
    boundary = re.search(rb'boundary="([^"]+)"', first.data)
    assert boundary is not None
    trap = notice(body_text="--" + boundary.group(1).decode() + "--\n")
    again = build(trap, SENDER)
    other = re.search(rb'boundary="([^"]+)"', again.data)
    assert other is not None and other.group(1) != boundary.group(1)
    assert parsed(again.data)[1][0][2].splitlines() == trap.body_text.splitlines()  # the text is intact


def test_a_server_without_8bitmime_gets_the_same_message_in_7bit() -> None:
    mail = build(notice(), SENDER)
    assert mail.eight_bit
    converted = seven_bit(mail.data)
    assert converted.isascii()
    assert parsed(converted) == parsed(mail.data)
    assert not build(NOTICES["ascii only"], "sunlight@localhost").eight_bit
