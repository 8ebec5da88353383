"""The URLs of the configuration, checked when it loads: what the daemon would refuse later
(or try in vain for ever) is refused here, by `sunlight check` and at every start."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlalchemy import make_url
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

DIALECTS = ("sqlite", "postgresql", "mysql", "mariadb")
SMTP_SCHEMES = {"smtp": 25, "smtps": 465, "smtp+starttls": 587}


def redact(url: str) -> str:
    """The URL as it may be shown: the password, if any, replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        # Not even a URL (`smtp//user:secret@host`): whatever stands before an @ may be one.
        return re.sub(r"(^|//)([^/@:]*):[^/@]*@", r"\1\2:***@", url)


def database_url(value: str) -> str:
    """A SQLAlchemy URL of a dialect Sunlight supports, whose dialect SQLAlchemy can load."""
    try:
        url: URL = make_url(value)
    except ArgumentError:
        raise ValueError(
            f"{redact(value)!r} is not a database URL; expected e.g. sqlite:///data/sunlight.db "
            "or postgresql+psycopg://user@host/db"
        ) from None
    backend = url.get_backend_name()
    if backend not in DIALECTS:
        raise ValueError(f"{redact(value)!r}: unknown database {backend!r}; use one of {', '.join(DIALECTS)}")
    try:
        url.get_dialect()
    except NoSuchModuleError:
        raise ValueError(
            f"{redact(value)!r}: unknown driver {url.get_driver_name()!r} for {backend}"
        ) from None
    if backend == "sqlite" and url.host:
        raise ValueError(f"{redact(value)!r}: a SQLite URL has no host; write sqlite:///path/to/file.db")
    return value


def smtp_url(value: str) -> str:
    """smtp://, smtps:// or smtp+starttls://, with a host and a port in range."""
    parts = urlsplit(value)
    if parts.scheme not in SMTP_SCHEMES:
        raise ValueError(
            f"{redact(value)!r}: must start with smtp://, smtps:// or smtp+starttls:// "
            "(e.g. smtp+starttls://mail.example.gov.cn:587)"
        )
    if not parts.hostname:
        raise ValueError(f"{redact(value)!r}: no host")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{redact(value)!r}: the port must be a number from 1 to 65535") from None
    if port == 0:
        raise ValueError(f"{redact(value)!r}: the port must be a number from 1 to 65535")
    return value


def web_url(value: str) -> str:
    """An http(s) address with a host (the links in notices)."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r}: must be an http:// or https:// address with a host")
    return value
