"""Notices over SMTP with aiosmtplib: TLS or STARTTLS, credentials from the environment,
one connection per batch, each message's fate told as soon as the server answers, and
permanent failures told apart from transient ones.

The URL's scheme says how the connection is protected, and nothing is left to negotiation:
`smtps://` is TLS from the first byte, `smtp+starttls://` must upgrade with STARTTLS (a
server, or a man in the middle, that does not offer it gets nothing, not a plaintext
fallback), and `smtp://` is plaintext for a local relay, which may therefore not log in.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
from collections.abc import Sequence
from email import message_from_bytes
from email import policy as email_policy
from email.generator import BytesGenerator
from io import BytesIO
from urllib.parse import unquote, urlsplit

import aiosmtplib

from alerts.notify.base import OnResult
from alerts.notify.mime import Mail
from monitor.config import SmtpConfig
from monitor.errors import ConfigError, DeliveryError, UnreachableError

PROBE_TIMEOUT = 5.0  # seconds for each step of a probe: it asks only whether the server answers

# 5xx replies that are about our session, not about the message or its recipient: 530
# authentication (or STARTTLS) required, 534 mechanism too weak, 535 credentials invalid,
# 538 encryption required. Fixing the configuration makes the same notice deliverable, so
# these must be retried rather than fail every queued notice for good.
SESSION_CODES = frozenset({530, 534, 535, 538})


class SmtpNotifier:
    name = "smtp"

    def __init__(self, cfg: SmtpConfig, *, tls_context: ssl.SSLContext | None = None) -> None:
        if not cfg.url:
            raise ConfigError("notify.smtp.url is not set")
        parts = urlsplit(cfg.url)
        if parts.scheme not in ("smtp", "smtps", "smtp+starttls"):
            raise ConfigError(
                f"notify.smtp.url: unknown scheme {parts.scheme!r}; use smtp, smtps or smtp+starttls"
            )
        self.host = parts.hostname or "localhost"
        self.port = parts.port or {"smtp": 25, "smtps": 465, "smtp+starttls": 587}[parts.scheme]
        self.use_tls = parts.scheme == "smtps"
        self.start_tls = parts.scheme == "smtp+starttls"
        # The environment is the intended place for credentials (the config file is often
        # readable by more people); user info in the URL is accepted for SUNLIGHT_SMTP_URL.
        self.username = unquote(parts.username) if parts.username else os.environ.get(cfg.username_env)
        self.password = unquote(parts.password) if parts.password else os.environ.get(cfg.password_env)
        self.username = self.username or None
        self.password = self.password or None
        if self.username and not self.password:
            raise ConfigError(f"notify.smtp: {cfg.username_env} is set but {cfg.password_env} is not")
        if self.password and not self.username:
            raise ConfigError(f"notify.smtp: {cfg.password_env} is set but {cfg.username_env} is not")
        if self.username and not (self.use_tls or self.start_tls):
            raise ConfigError(
                "notify.smtp: a password would cross the network in clear over smtp://; "
                "use smtp+starttls:// (port 587) or smtps:// (port 465)"
            )
        self.timeout = cfg.timeout_seconds
        self.tls_context = tls_context

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def send_batch(
        self, messages: Sequence[Mail], on_result: OnResult | None = None
    ) -> list[DeliveryError | None]:
        if not messages:
            return []
        return asyncio.run(self._send_all(messages, _Fates(on_result)))

    def probe(self, timeout: float = PROBE_TIMEOUT) -> None:
        """Connect (TLS or STARTTLS as the scheme says), EHLO and QUIT; raise UnreachableError
        when the server does not answer so. Nothing is sent and nobody logs in."""
        asyncio.run(self._probe(timeout))

    async def _probe(self, timeout: float) -> None:
        client = self._client(timeout)
        try:
            try:
                await client.connect()
                await client.ehlo()
            except (aiosmtplib.SMTPException, OSError) as exc:
                raise UnreachableError(
                    "smtp", f"the SMTP server {self.where} (`notify.smtp.url`) does not answer: {exc}"
                ) from exc
        finally:
            await self._close(client)

    def _client(self, timeout: float | None = None) -> aiosmtplib.SMTP:
        return aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            use_tls=self.use_tls,
            # aiosmtplib >= 2: None means "upgrade if offered", which would silently send in
            # clear to a server that hides STARTTLS. True requires it; False never tries.
            start_tls=self.start_tls,
            timeout=timeout or self.timeout,  # each of connect, TLS handshake and every command
            tls_context=self.tls_context,
        )

    async def _send_all(self, messages: Sequence[Mail], fates: _Fates) -> list[DeliveryError | None]:
        client = self._client()
        try:
            try:
                await client.connect()  # with STARTTLS when the scheme says so
            except (aiosmtplib.SMTPException, OSError) as exc:
                return fates.rest(messages, DeliveryError(f"SMTP {self.where}: {exc}", permanent=False))
            if self.username and self.password:
                try:
                    await client.login(self.username, self.password)
                except aiosmtplib.SMTPResponseException as exc:
                    # Transient: see SESSION_CODES. max_attempts still bounds the retries.
                    error = f"SMTP {self.where}: login refused: {exc.code} {exc.message}"
                    return fates.rest(messages, DeliveryError(error, permanent=False))
                except (aiosmtplib.SMTPException, OSError) as exc:
                    error = f"SMTP {self.where}: login failed: {exc}"
                    return fates.rest(messages, DeliveryError(error, permanent=False))
            for msg in messages:
                if not client.is_connected:
                    # The line died under an earlier message: the rest were not tried, and
                    # a retry with backoff is all that can be done for them.
                    cause = fates.out[-1] if fates.out else None
                    error = f"SMTP {self.where}: not sent, the connection was lost" + (
                        f" ({cause})" if cause else ""
                    )
                    return fates.rest(messages, DeliveryError(error, permanent=False))
                fates.add(await self._send_one(client, msg))
            return fates.out
        finally:
            await self._close(client)

    async def _close(self, client: aiosmtplib.SMTP) -> None:
        """QUIT politely; whatever happens, release the socket (a login failure or a lost
        line must not leave the transport open)."""
        transport = client.transport
        if client.is_connected:
            # The messages' fates are already known: a failed QUIT changes none of them.
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await client.quit()
        client.close()
        if transport is not None:
            await _released(transport, grace=min(self.timeout, 2.0))

    async def _send_one(self, client: aiosmtplib.SMTP, msg: Mail) -> DeliveryError | None:
        try:
            # The envelope is the validated From and To (`Mail`), never read back from
            # headers (Cc, Bcc, Resent-*); the bytes go out as built.
            data, options = msg.data, []
            if msg.eight_bit:
                if client.supports_extension("8BITMIME"):
                    options = ["BODY=8BITMIME"]
                else:
                    data = seven_bit(data)
            await client.sendmail(msg.sender, list(msg.recipients), data, mail_options=options)
            return None  # accepted for at least one recipient (a notice has exactly one)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
            return DeliveryError(f"recipient refused: {detail}", permanent=all(_permanent(c) for c in codes))
        except aiosmtplib.SMTPSenderRefused as exc:
            # MAIL FROM is the configured sender, the same for every notice: a refusal is a
            # configuration problem, retried (bounded by max_attempts) rather than final.
            return DeliveryError(f"sender {exc.sender} refused: {exc.code} {exc.message}", permanent=False)
        except aiosmtplib.SMTPResponseException as exc:
            return DeliveryError(f"SMTP {exc.code}: {exc.message}", permanent=_permanent(exc.code))
        except (aiosmtplib.SMTPException, OSError) as exc:  # timeouts and lost lines among them
            return DeliveryError(f"SMTP {self.where}: {exc}", permanent=False)
        except ValueError as exc:
            # An address aiosmtplib cannot put on the wire: no retry can change the row.
            return DeliveryError(f"cannot send: {exc}", permanent=True)
        except Exception as exc:  # noqa: BLE001 - each message needs a fate, or drain rolls back after sending
            error = f"SMTP {self.where}: unexpected {type(exc).__name__}: {exc}"
            return DeliveryError(error, permanent=False)


class _Fates:
    """The fates of a batch so far, each told to `on_result` the moment it is known."""

    def __init__(self, on_result: OnResult | None) -> None:
        self.out: list[DeliveryError | None] = []
        self.on_result = on_result

    def add(self, error: DeliveryError | None) -> None:
        self.out.append(error)
        if self.on_result is not None:
            self.on_result(len(self.out) - 1, error)

    def rest(self, messages: Sequence[Mail], error: DeliveryError) -> list[DeliveryError | None]:
        """The same fate for every message not yet tried."""
        while len(self.out) < len(messages):
            self.add(error)
        return self.out


async def _released(transport: asyncio.BaseTransport, *, grace: float) -> None:
    """Wait until the socket under `transport` is really closed.

    asyncio closes a socket on a later turn of the loop, and over TLS only after the peer
    answers close_notify. `send_batch` ends its loop with `asyncio.run` right after, which
    would strand a socket still closing (leaked until garbage collection, and a
    ResourceWarning). A peer that does not answer within `grace` gets the connection aborted:
    QUIT has been answered or the line is dead, so nothing is lost by cutting it.
    """
    sock = transport.get_extra_info("socket")
    if sock is None:
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    while sock.fileno() != -1 and loop.time() < deadline:
        await asyncio.sleep(0.01)
    if sock.fileno() != -1 and isinstance(transport, asyncio.Transport):
        transport.abort()
        for _ in range(3):  # abort closes the socket in a callback on the next turn
            if sock.fileno() == -1:
                break
            await asyncio.sleep(0)


def seven_bit(data: bytes) -> bytes:
    """The message with its 8bit parts re-encoded (base64), for a server without 8BITMIME:
    the email package's own conversion, rare enough that its cost does not matter."""
    msg = message_from_bytes(data, policy=email_policy.SMTP)
    out = BytesIO()
    BytesGenerator(out, policy=email_policy.SMTP.clone(cte_type="7bit")).flatten(msg)
    return out.getvalue()


def _permanent(code: int) -> bool:
    return 500 <= code < 600 and code not in SESSION_CODES
