"""Recipient addresses: one string in the config says where a notice goes and by which channel.

    x@y.cn | 名字 <x@y.cn> | mailto:x@y.cn         e-mail
    sms:+8613800000000                            SMS (E.164; +86 numbers are 11 digits from 1)
    dingtalk://TOKEN | dingtalk://SECRET@TOKEN    DingTalk group robot (signed with SECRET)
    dingtalk://user/USERID                        DingTalk work notice to one person
    wecom://KEY | wecom://user/USERID             WeCom group robot | application message
    feishu://TOKEN | feishu://SECRET@TOKEN        Feishu custom bot (signed with SECRET)
    feishu://user/OPEN_ID                         Feishu message from the application
    webhook+https://host[:port]/path              a signed JSON POST (webhook+http too)

Robot tokens, secrets, mobile numbers, user ids and mailboxes are personal or secret: only
`masked` forms of them go into logs, metrics and error messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from alerts.render import mask_address

CHANNELS = ("email", "sms", "dingtalk", "wecom", "feishu", "webhook")

ACCEPTED = (
    "x@y.cn, 名字 <x@y.cn>, mailto:x@y.cn, sms:+8613800000000, dingtalk://TOKEN, "
    "dingtalk://SECRET@TOKEN, dingtalk://user/USERID, wecom://KEY, wecom://user/USERID, "
    "feishu://TOKEN, feishu://SECRET@TOKEN, feishu://user/OPEN_ID, webhook+https://host/path"
)

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_MAILBOX = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
_NAMED = re.compile(r"^(?P<name>[^<>\"]*?)\s*<(?P<addr>[^<>\s]+)>$")
_E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")
_CN_MOBILE = re.compile(r"^\+861[0-9]{10}$")
# Tokens and keys are hex or UUIDs, secrets hex (DingTalk: "SEC" + hex) or alphanumeric.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# DingTalk and WeCom user ids: letters, digits, "_-@."; Feishu open ids "ou_" + hex.
_USER = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_ROBOTS = ("dingtalk", "wecom", "feishu")
_SIGNED = ("dingtalk", "feishu")  # WeCom group robots have no signing secret


@dataclass(frozen=True, slots=True)
class Address:
    channel: str  # one of CHANNELS
    target: str  # mailbox | E.164 mobile | robot token/key | user id | the webhook's http(s) URL
    raw: str  # as written in the config
    secret: str | None = None  # a robot's signing secret (dingtalk://SECRET@TOKEN, feishu://…)
    user: bool = False  # a work notice to one person's user id rather than a group robot

    def __str__(self) -> str:
        return masked(self)


def parse(value: str) -> Address:
    """The address `value` names; ValueError naming it (masked) and what is accepted."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"empty recipient; accepted: {ACCEPTED}")
    if any(ord(c) < 32 or ord(c) == 127 or c in "\u2028\u2029\u0085" for c in value):
        raise ValueError(f"recipient {_rough(value)!r} contains a control character")
    if value != value.strip():
        raise ValueError(f"recipient {_rough(value)!r} has leading or trailing whitespace")
    scheme_match = _SCHEME.match(value)
    if scheme_match is None:
        return _email(value, value)
    scheme = scheme_match.group(1).lower()
    rest = value[scheme_match.end() :]
    if any(c.isspace() for c in value):
        raise ValueError(f"recipient {_rough(value)!r} contains whitespace")
    if scheme == "mailto":
        if "?" in rest:
            raise ValueError(f"recipient {_rough(value)!r}: mailto: takes one address, no ?query")
        return _email(rest, value)
    if scheme == "sms":
        return _sms(rest, value)
    if scheme in _ROBOTS and rest.startswith("//"):
        return _robot(scheme, rest[2:], value)
    if scheme in ("webhook+http", "webhook+https") and rest.startswith("//"):
        return _webhook(value)
    raise ValueError(f"unknown recipient scheme {scheme!r} in {_rough(value)!r}; accepted: {ACCEPTED}")


def is_address(value: str) -> bool:
    try:
        parse(value)
    except ValueError:
        return False
    return True


def masked(value: Address | str) -> str:
    """A form for logs, metrics and errors: enough to tell recipients apart, not to reach them."""
    if isinstance(value, str):
        try:
            address = parse(value)
        except ValueError:
            return _rough(value)
    else:
        address = value
    target = address.target
    match address.channel:
        case "email":
            return mask_address(target)
        case "sms":
            digits = target[1:]
            if len(digits) >= 10:
                return f"sms:+{digits[:5]}****{digits[-4:]}"
            return f"sms:+{digits[:2]}****{digits[-2:]}"
        case "webhook":
            parts = urlsplit(target)
            return f"webhook+{parts.scheme}://{parts.netloc}/…"
        case _ if address.user:
            return f"{address.channel}://user/{target[:2]}…"
        case _:
            return f"{address.channel}://{target[:4]}…"


def _email(text: str, raw: str) -> Address:
    named = _NAMED.match(text)
    mailbox = named.group("addr") if named else text
    if not _MAILBOX.match(mailbox):
        raise ValueError(f"recipient {_rough(raw)!r} is not an e-mail address; accepted: {ACCEPTED}")
    return Address("email", mailbox, raw)


def _sms(number: str, raw: str) -> Address:
    if not _E164.match(number):
        raise ValueError(
            f"recipient {_rough(raw)!r}: an SMS number is E.164, '+' and 8 to 15 digits (sms:+8613800000000)"
        )
    if number.startswith("+86") and not _CN_MOBILE.match(number):
        raise ValueError(f"recipient {_rough(raw)!r}: a +86 mobile number is 11 digits starting with 1")
    return Address("sms", number, raw)


def _robot(channel: str, rest: str, raw: str) -> Address:
    if rest.startswith("user/"):
        user_id = rest[len("user/") :]
        if not _USER.match(user_id):
            raise ValueError(f"recipient {_rough(raw)!r}: a user id is 1 to 64 letters, digits or '_-@.'")
        return Address(channel, user_id, raw, user=True)
    secret, at, token = rest.rpartition("@")
    if at and channel not in _SIGNED:
        raise ValueError(f"recipient {_rough(raw)!r}: {channel} robots take no secret; use {channel}://KEY")
    if not _TOKEN.match(token) or (at and not _TOKEN.match(secret)):
        raise ValueError(
            f"recipient {_rough(raw)!r}: a robot token and secret are letters, digits, '_' or '-' "
            f"({channel}://TOKEN" + (f" or {channel}://SECRET@TOKEN)" if channel in _SIGNED else ")")
        )
    return Address(channel, token, raw, secret=secret or None)


def _webhook(raw: str) -> Address:
    url = raw[len("webhook+") :]
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise ValueError(f"recipient {_rough(raw)!r}: the port is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise ValueError(f"recipient {_rough(raw)!r}: a webhook URL needs a host")
    if "@" in parts.netloc:
        # Credentials in the URL would be written wherever the address is: the request is
        # signed with webhook.secret_env instead.
        raise ValueError(f"recipient {_rough(raw)!r}: no user:password in a webhook URL")
    if parts.fragment:
        raise ValueError(f"recipient {_rough(raw)!r}: a webhook URL has no #fragment")
    return Address("webhook", url, raw)


def _rough(value: str) -> str:
    """A value that did not parse, masked without knowing its kind: the scheme and a hint."""
    scheme = _SCHEME.match(value)
    if scheme and value[scheme.end() :].startswith("//"):
        return f"{value[: scheme.end() + 2]}…"
    if scheme:
        return f"{value[: scheme.end()]}{value[scheme.end() : scheme.end() + 4]}…"
    if "@" in value:
        return mask_address(value.strip("<> "))
    return f"{value[:2]}…" if len(value) > 2 else "…"
