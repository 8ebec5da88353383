"""A notice as the bytes of one e-mail message, built directly.

`email.message.EmailMessage` and its policy machinery cost about 2.5 ms a notice (parsing
every header it is handed, then folding and generating it again), as much as the SMTP
exchange. A notice always has the same shape — nine headers, a multipart/alternative of one
plain text and one HTML part — so the bytes are written here: every header still comes from
`alerts.notify.headers` (validated, cleaned, folded by `SafeHeader.fold`), and each part is
encoded as the email package's content manager would encode it (7bit or 8bit when every line
fits in 78 octets, else quoted-printable or base64, whichever the same sniff finds shorter),
so a reader parses the same headers and the same text out of them as before.

The boundary is derived from the Message-ID, so the bytes of a notice are the same every
time it is built (a re-sent notice, a rewritten .eml file, are identical); it is changed in
the rare case that a body holds it.
"""

from __future__ import annotations

import binascii
import hashlib
from dataclasses import dataclass
from email import policy as email_policy
from email import quoprimime
from email.utils import format_datetime
from typing import Any

from alerts.notify import headers

_WIRE = email_policy.SMTP  # CR LF, lines of at most 78 characters: what crosses SMTP
_MAX_LINE = 78
_B64_CHUNK = _MAX_LINE // 4 * 3  # octets a base64 line of at most 76 characters holds
CRLF = b"\r\n"
_HIGH = bytes(range(128, 256))


@dataclass(frozen=True, slots=True)
class Mail:
    """One message ready for the wire: its envelope (the validated From and To, never read
    back from other headers) and its bytes (CR LF line ends, folded headers)."""

    message_id: str
    sender: str  # MAIL FROM
    recipients: tuple[str, ...]  # RCPT TO
    data: bytes

    @property
    def eight_bit(self) -> bool:
        """Whether a part is sent 8bit (UTF-8 text as it is): the server must offer 8BITMIME."""
        return not self.data.isascii()


def build(row: Any, sender: str) -> Mail:
    """The message of a notice row (ValueError for a bad address or Message-ID)."""
    mail_from = headers.addresses("From", sender)
    to = headers.addresses("To", row.recipient)
    mid = headers.message_ids("Message-ID", row.message_id)
    text = _encode(row.body_text)
    html = _encode(row.body_html)
    boundary = _boundary(row.message_id, text[1], html[1])
    head = "".join(
        h.fold(policy=_WIRE)
        for h in (
            mail_from,
            to,
            headers.text("Subject", row.subject),
            mid,
            headers.text("Date", format_datetime(row.created_at)),
            headers.text("X-Sunlight-Alert", row.alert_id),
            headers.text("X-Sunlight-Kind", row.kind),
        )
    )
    delimiter = b"--" + boundary.encode("ascii")
    data = b"".join(
        (
            head.encode("ascii"),
            b"MIME-Version: 1.0\r\n",
            b'Content-Type: multipart/alternative;\r\n boundary="' + boundary.encode("ascii") + b'"\r\n',
            CRLF,
            _part(delimiter, "text/plain", *text),
            _part(delimiter, "text/html", *html),
            delimiter + b"--" + CRLF,
        )
    )
    recipients = tuple(a.addr_spec for a in to.addresses)
    return Mail(row.message_id, mail_from.addresses[0].addr_spec, recipients, data)


def _part(delimiter: bytes, subtype: str, cte: str, body: bytes) -> bytes:
    return b"".join(
        (
            delimiter + CRLF,
            b"Content-Type: " + subtype.encode("ascii") + b'; charset="utf-8"' + CRLF,
            b"Content-Transfer-Encoding: " + cte.encode("ascii") + CRLF,
            CRLF,
            body,
            CRLF,  # the line break before the next delimiter belongs to the delimiter
        )
    )


def _encode(text: str) -> tuple[str, bytes]:
    """The transfer encoding and the encoded body (CR LF) of one text part.

    The decisions of `email.contentmanager` for `set_content(text)` under the default policy:
    the text's lines end in one line break each (a last one added), 7bit when that is ASCII
    and every line fits, 8bit when only the ASCII fails, else whichever of quoted-printable
    and base64 is shorter on the first ten lines."""
    lines = text.encode("utf-8").splitlines()
    if max((len(line) for line in lines), default=0) <= _MAX_LINE:
        body = CRLF.join(lines) + CRLF
        return ("7bit" if body.isascii() else "8bit"), body
    sniff = b"\n".join(lines[:10]) + b"\n"
    sniff_b64 = len(binascii.b2a_base64(sniff))
    # Quoted-printable writes each octet above 127 as three characters: when that alone is
    # longer than base64 (Chinese text), the comparison is decided without encoding it.
    high = len(sniff) - len(sniff.translate(None, _HIGH))
    sniff_qp = (
        ""
        if len(sniff) + 2 * high > sniff_b64
        else quoprimime.body_encode(sniff.decode("latin-1"), _MAX_LINE)
    )
    if not sniff_qp or len(sniff_qp) > sniff_b64:
        whole = b"\n".join(lines) + b"\n"
        encoded = b"".join(
            binascii.b2a_base64(whole[i : i + _B64_CHUNK]) for i in range(0, len(whole), _B64_CHUNK)
        )
        return "base64", encoded.replace(b"\n", CRLF)
    qp = sniff_qp if len(lines) <= 10 else None
    if qp is None:
        qp = quoprimime.body_encode((b"\n".join(lines) + b"\n").decode("latin-1"), _MAX_LINE)
    return "quoted-printable", qp.encode("ascii").replace(b"\n", CRLF)  # ends in a line break


def _boundary(message_id: str, *bodies: bytes) -> str:
    """A boundary no line of the bodies starts with, the same for every build of a notice."""
    for n in range(100):
        candidate = "=_sunlight_" + hashlib.sha256(f"{message_id}/{n}".encode()).hexdigest()[:24]
        mark = b"--" + candidate.encode("ascii")
        if not any(mark in body for body in bodies):
            return candidate
    raise ValueError(f"{message_id}: no MIME boundary outside the bodies")  # 100 sha-256 collisions
