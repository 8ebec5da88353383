"""Every header of a notice, built here so that nothing from the source can become a header.

The email package cannot be trusted with text from the source. Given a string, it decodes any
RFC 2047 encoded word in it (`=?utf-8?q?x=0D=0ABcc:_y?=` becomes a CR LF and a `Bcc:` line)
and, when folding, writes an ASCII `=?...?=` out as it is, for the receiver to decode. Even
`headerregistry.Address` folds such a display name into a header line of its own.

So a header is a `SafeHeader`: its value is cleaned of control characters, and it folds
itself. Anything that is not a short run of printable ASCII without `=?` goes out as UTF-8
encoded words made here, so a literal `=?` from the source is itself encoded and decodes
back to text, never to a line. Addresses are parsed and validated (`parse_address`) and
written as `<addr-spec>` after an encoded display name. `alerts.notify.mime` writes each
header as `fold(policy=SMTP)` gives it, so every line ends in CR LF and stays within 78
characters; the email package, handed such an object, stores it as it is (it has a `name`)
and calls the same `fold`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import policy as email_policy
from email.base64mime import header_encode
from email.errors import HeaderParseError, MessageDefect
from email.headerregistry import Address
from email.policy import Policy
from functools import lru_cache
from typing import Literal

# C0 (NUL, TAB, CR, LF, ESC...), DEL, C1 (U+0085 NEL among them), the line and paragraph
# separators, and lone surrogates (undecodable bytes kept by surrogateescape). Every
# character `str.splitlines` breaks at is in this set.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]+")
_PLAIN = re.compile(r"[\x20-\x7e]*")  # printable ASCII: may go out unencoded
_PLAIN_NAME = re.compile(r"[A-Za-z0-9 ]+")  # a display name that needs neither quotes nor encoding
_MSG_ID = re.compile(r"<[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+>")
_HEADER_NAME = re.compile(r"[!-9;-~]+")  # RFC 5322 ftext
_WORD_OVERHEAD = len("=?utf-8?b??=")
_MAX_WORD = 75  # RFC 2047: an encoded word is at most 75 characters
_NO_LIMIT = 998  # RFC 5322's hard limit, for a policy without max_line_length


def clean(text: object) -> str:
    """One line of header text: each run of control characters becomes one space."""
    return CONTROL.sub(" ", str(text)).strip()


def parse_address(text: str, where: str = "") -> Address:
    """One mailbox (`a@b.cn` or `名称 <a@b.cn>`), validated; a ValueError says why, after
    `where` (the header or the config key) when given."""
    try:
        return _parse_address(text)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}" if where else str(exc)) from exc


@lru_cache(maxsize=4096)
def _parse_address(text: str) -> Address:
    # Cached: the email package's address parser costs about a millisecond, and a batch's
    # notices have one sender and a handful of recipients. An Address is immutable; a text
    # that is refused raises again each time (exceptions are not cached).
    if CONTROL.search(text):
        raise ValueError(f"{text!r} holds a control character or line break")
    if "=?" in text:
        raise ValueError(f"{text!r} holds an encoded word (=?...?=)")
    try:
        header = email_policy.default.header_factory("to", text)
    except (HeaderParseError, IndexError, ValueError) as exc:  # the parser's own slips ("a@")
        raise ValueError(f"{text!r} is not an e-mail address") from exc
    defects: list[MessageDefect] = list(getattr(header, "defects", ()))
    addresses: tuple[Address, ...] = tuple(getattr(header, "addresses", ()))
    if defects or len(addresses) != 1 or len(getattr(header, "groups", ())) != 1:
        detail = f" ({defects[0]})" if defects else ""
        raise ValueError(f"{text!r} is not one e-mail address{detail}")
    parsed: Address = addresses[0]
    spec = parsed.addr_spec
    if not parsed.username or not parsed.domain or not spec.isascii() or " " in spec:
        raise ValueError(f"{text!r} is not an ASCII address of the form name@domain")
    try:
        # Re-parsed alone, as the SMTP envelope will carry it: no comment, no route, no rest.
        return Address(display_name=parsed.display_name, addr_spec=spec)
    except (HeaderParseError, MessageDefect, IndexError) as exc:
        raise ValueError(f"{text!r} is not a valid address ({exc})") from exc


def _words(text: str, first: int, rest: int) -> list[str]:
    """`text` as UTF-8 base64 encoded words, the first at most `first` characters long and
    the others at most `rest`; a character is never split between two words."""
    words: list[str] = []
    chunk = b""
    budget = first
    for char in text:
        data = char.encode("utf-8")
        if chunk and _WORD_OVERHEAD + 4 * ((len(chunk) + len(data) + 2) // 3) > budget:
            words.append(header_encode(chunk, "utf-8"))
            chunk, budget = b"", rest
        chunk += data
    if chunk:
        words.append(header_encode(chunk, "utf-8"))
    return words


@dataclass(frozen=True, slots=True)
class SafeHeader:
    """A header that folds itself; `value` is what a reader sees once it is decoded."""

    name: str
    value: str
    kind: Literal["text", "address", "id"] = "text"
    addresses: tuple[Address, ...] = ()

    def __str__(self) -> str:
        return self.value

    def fold(self, *, policy: Policy) -> str:
        limit = min(policy.max_line_length or _NO_LIMIT, _NO_LIMIT)
        first = limit - len(self.name) - 2  # after "Name: "
        rest = min(limit - 1, _MAX_WORD)  # after the space that starts a continuation line
        tokens: list[str] = []
        if self.kind == "id":
            tokens = self.value.split(" ")
        elif self.kind == "address":
            for i, address in enumerate(self.addresses):
                name = address.display_name
                if name and _PLAIN_NAME.fullmatch(name):
                    tokens += name.split()
                elif name:
                    tokens += _words(name, min(first, _MAX_WORD), rest)
                spec = f"<{address.addr_spec}>" if name else address.addr_spec
                tokens.append(spec + ("," if i < len(self.addresses) - 1 else ""))
        elif _PLAIN.fullmatch(self.value) and "=?" not in self.value and len(self.value) <= first:
            tokens = [self.value] if self.value else []
        else:
            tokens = _words(self.value, min(first, _MAX_WORD), rest)
        lines = [f"{self.name}:"]
        for n, token in enumerate(tokens):
            # The first token always goes after the name (it was sized for that place).
            if n == 0 or len(lines[-1]) + 1 + len(token) <= limit:
                lines[-1] += " " + token
            else:
                lines.append(" " + token)
        return policy.linesep.join(lines) + policy.linesep


def _name(name: str) -> str:
    if not _HEADER_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a header name")
    return name


def text(name: str, value: object) -> SafeHeader:
    """An unstructured header (Subject, X-*): any text, cleaned, encoded when it must be."""
    return SafeHeader(_name(name), clean(value))


def addresses(name: str, *values: str | Address) -> SafeHeader:
    """From, To, Cc...: each value parsed and validated (ValueError naming the header)."""
    # An Address object is parsed again from its text: its display name is unchecked.
    parsed = tuple(parse_address(str(v), name) for v in values)
    if not parsed:
        raise ValueError(f"{name}: no address")
    shown = ", ".join(str(a) for a in parsed)
    return SafeHeader(_name(name), shown, "address", parsed)


def message_ids(name: str, *values: str) -> SafeHeader:
    """Message-ID, In-Reply-To, References: `<left@right>` in ASCII, or ValueError."""
    for value in values:
        if not _MSG_ID.fullmatch(value) or "=?" in value or len(value) > _NO_LIMIT - 80:
            raise ValueError(f"{name}: {value!r} is not a message id of the form <left@right>")
    if not values:
        raise ValueError(f"{name}: no message id")
    return SafeHeader(_name(name), " ".join(values), "id")
