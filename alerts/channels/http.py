"""What the HTTP channels share: one client a batch, each fate told as soon as it is known,
and the one reading of a reply that decides between "retry" and "never".

The rules (the per-service code tables are in alerts/channels/robots.py and apps.py):

| what happened | fate |
| --- | --- |
| connection refused/reset, timeout, TLS failure | transient |
| HTTP 5xx, 408 | transient |
| HTTP 429 | transient, `retry_after` from Retry-After |
| a reply body that cannot be parsed | transient (the service may have been mid-update) |
| a documented rate-limit code | transient, `retry_after` the documented wait |
| credentials, token, signature, IP whitelist, | transient: fixing the configuration makes the |
| keyword or robot-gone codes | same notice deliverable (cf. SESSION_CODES, alerts/notify/smtp.py) |
| recipient or content refused for good | permanent |
| a code no table knows | transient (max_attempts bounds it; a notice is not lost to a new code) |
"""

from __future__ import annotations

import email.utils
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx2

from alerts.channels.messages import ChannelMessage
from alerts.notify.base import OnResult
from monitor.errors import DeliveryError

Code = int | str


def new_client(timeout: float) -> httpx2.Client:
    """One client for a batch, so a batch's messages share a connection. Redirects are not
    followed: a robot or gateway that moved is a configuration to fix, and following one would
    carry the token to wherever it points."""
    return httpx2.Client(timeout=httpx2.Timeout(timeout), follow_redirects=False)


class Fates:
    """The fates of a batch so far, each told to `on_result` the moment it is known (it may
    raise to stop the batch)."""

    def __init__(self, on_result: OnResult | None) -> None:
        self.out: list[DeliveryError | None] = []
        self.on_result = on_result

    def add(self, error: DeliveryError | None) -> None:
        self.out.append(error)
        if self.on_result is not None:
            self.on_result(len(self.out) - 1, error)


def send_each(
    messages: Sequence[ChannelMessage],
    on_result: OnResult | None,
    timeout: float,
    send_one: Callable[[httpx2.Client, ChannelMessage], DeliveryError | None],
) -> list[DeliveryError | None]:
    """Every notifier's batch: one client (its connections reused), each message's fate
    told the moment it is known."""
    fates = Fates(on_result)
    if not messages:
        return fates.out
    with new_client(timeout) as client:
        for message in messages:
            fates.add(send_one(client, message))
    return fates.out


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """`text` (an exception, a reply) with every secret in it replaced, longest first."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def request(
    client: httpx2.Client, where: str, secrets: tuple[str, ...], method: str, url: str, **kwargs: Any
) -> httpx2.Response | DeliveryError:
    """The response, or a transient error for a failure of the transport (the URL and the
    secrets in it never reach the error text)."""
    try:
        return client.request(method, url, **kwargs)
    except httpx2.TimeoutException as exc:
        return DeliveryError(f"{where}: timed out ({type(exc).__name__})", permanent=False)
    except (httpx2.TransportError, OSError) as exc:
        detail = scrub(str(exc), secrets)[:200] or type(exc).__name__
        return DeliveryError(f"{where}: {detail}", permanent=False)


def status_error(response: httpx2.Response, where: str, now: float) -> DeliveryError | None:
    """The error for a status that says "later" whatever the body says (429, 408, 5xx)."""
    status = response.status_code
    if status == 429:
        wait = retry_after(response.headers.get("Retry-After"), now)
        return DeliveryError(f"{where}: HTTP 429 too many requests", permanent=False, retry_after=wait)
    if status == 408 or status >= 500:
        wait = retry_after(response.headers.get("Retry-After"), now)
        return DeliveryError(f"{where}: HTTP {status}", permanent=False, retry_after=wait)
    return None


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - now, 0.0)


def json_object(response: httpx2.Response, where: str) -> dict[str, Any] | DeliveryError:
    try:
        data = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return DeliveryError(
            f"{where}: HTTP {response.status_code}, a reply that is not JSON", permanent=False
        )
    if not isinstance(data, dict):
        return DeliveryError(
            f"{where}: HTTP {response.status_code}, a reply that is not a JSON object", permanent=False
        )
    return data


@dataclass(frozen=True, slots=True)
class Codes:
    """One service's reply codes: which mean accepted, later, or never."""

    service: str
    ok: frozenset[Code] = frozenset({0})
    rate_limited: Mapping[Code, float] = field(default_factory=dict)  # code -> seconds to wait
    permanent: Mapping[Code, str] = field(default_factory=dict)  # code -> what it means
    configuration: Mapping[Code, str] = field(default_factory=dict)  # transient: fix the config

    def fate(self, code: Code, message: str, where: str) -> DeliveryError | None:
        if code in self.ok:
            return None
        detail = f"{where}: {self.service} code {code} {message}".rstrip()
        if code in self.rate_limited:
            return DeliveryError(
                f"{detail} (rate limited)", permanent=False, retry_after=self.rate_limited[code]
            )
        if code in self.permanent:
            return DeliveryError(f"{detail} ({self.permanent[code]})", permanent=True)
        if code in self.configuration:
            return DeliveryError(
                f"{detail} ({self.configuration[code]}; check the configuration)", permanent=False
            )
        return DeliveryError(detail, permanent=False)


def coded_reply(
    response: httpx2.Response,
    where: str,
    now: float,
    codes: Codes,
    read: Callable[[dict[str, Any]], tuple[Code | None, str]],
) -> tuple[dict[str, Any] | None, DeliveryError | None]:
    """A robot or application API's reply: (the JSON object, None) when accepted, else the
    error. `read` takes the service's code and message out of the object."""
    if (error := status_error(response, where, now)) is not None:
        return None, error
    data = json_object(response, where)
    if isinstance(data, DeliveryError):
        return None, data
    code, message = read(data)
    if code is None:
        if response.is_success:
            return None, DeliveryError(f"{where}: a reply without a result code", permanent=False)
        # A 4xx with no code of the service: a wrong api_base or path, which configuration fixes.
        return None, DeliveryError(f"{where}: HTTP {response.status_code}", permanent=False)
    error = codes.fate(code, message[:200], where)
    return (data, None) if error is None else (None, error)
