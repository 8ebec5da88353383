"""SMS through the city's gateway (or a cloud SMS service behind one): the request is the
configured template (channels.sms), so any gateway that takes JSON or a query string fits.

Template values: `mobile` (E.164, +8613800000000), `mobile_national` (13800000000 for +86,
else the E.164 digits), `text`, `message_id` (the notice's Message-ID: send it as the
gateway's idempotency key, `outId` by default) and `token` (from `token_env`).

Fates (beyond alerts/channels/http.py's rules for transport, 429, 5xx and unreadable replies):
a reply whose `accepted.field` equals `accepted.value` is accepted; a code in `permanent_codes`
refuses this number or text for good; one in `rate_limit_codes` is retried after
`rate_limit_seconds`; any other code is transient (balance, signature, template approval and
credentials are all fixed by someone, after which the same notice goes). Without `accepted`,
any 2xx is accepted, 401/403/404 are transient (configuration) and another 4xx is permanent.
The defaults are Aliyun's codes (SendSms replies, field `Code`):

| code | meaning | fate | source |
| --- | --- | --- | --- |
| OK | 请求成功 | accepted | [1] |
| isv.MOBILE_NUMBER_ILLEGAL | 非法手机号 | permanent | [2] |
| isv.BLACK_KEY_CONTROL_LIMIT | 黑名单管控 | permanent | [2] |
| isv.SMS_CONTENT_ILLEGAL | 短信内容包含禁止发送内容 | permanent | [1] |
| isv.BUSINESS_LIMIT_CONTROL | 业务限流 (per number and signature) | transient, `rate_limit_seconds` | [2] |
| isv.DAY_LIMIT_CONTROL | 触发日发送限额 (set in the console) | transient, `rate_limit_seconds` | [1] |
| isv.MONTH_LIMIT_CONTROL | 触发月发送限额 (set in the console) | transient, `rate_limit_seconds` | [1] |

isv.PARAM_LENGTH_LIMIT (参数超出长度限制, a personal account's 15-character variables [2]) is
left transient: an account someone upgrades sends the same text.

Sources: [1] 国内消息API错误码 (help.aliyun.com/document_detail/101346, read in its current
version); [2] the same table's older version as Aliyun SDK clients quote it (isv.* codes with
their 错误信息), those codes not seen in the excerpt of the current page read here.

The mobile number is personal data: errors name it masked, and a gateway's reply that quotes
it is cleaned before it is quoted in turn.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx2
from jinja2 import Environment, StrictUndefined, Template, TemplateError, meta

from alerts.channels.address import masked
from alerts.channels.cloudsign import aliyun_query, tc3_authorization
from alerts.channels.config import SmsGatewayConfig
from alerts.channels.http import json_object, request, scrub, send_each, status_error
from alerts.channels.messages import ChannelMessage
from alerts.notify.base import OnResult
from monitor.errors import ConfigError, DeliveryError


def _environment() -> Environment:
    env = Environment(undefined=StrictUndefined, autoescape=False)  # noqa: S701 - JSON and URLs, not HTML
    env.filters["json"] = lambda value: json.dumps(value, ensure_ascii=False)
    return env


class SmsNotifier:
    name = "sms"

    def __init__(
        self,
        cfg: SmsGatewayConfig,
        environ: Mapping[str, str] = os.environ,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not cfg.url:
            raise ConfigError("channels.sms.url is not set")
        self.cfg = cfg
        self.clock = clock
        env = _environment()
        sources = {"url": cfg.url, **{f"headers.{k}": v for k, v in cfg.headers.items()}}
        if cfg.method == "POST":
            sources["body"] = cfg.body
        uses_token = uses_aliyun = False
        self.templates: dict[str, Template] = {}
        for key, source in sources.items():
            try:
                names = meta.find_undeclared_variables(env.parse(source))
                uses_token |= "token" in names
                uses_aliyun |= bool(names & {"aliyun_query", "tencent_authorization"})
                self.templates[key] = env.from_string(source)
            except TemplateError as exc:
                raise ConfigError(f"channels.sms.{key}: {exc}") from None
        self.signers: dict[str, Any] = {}
        self._keys: tuple[str, str] = ("", "")
        if uses_aliyun:  # a cloud API that signs its requests (alerts.channels.cloudsign)
            key_id, secret = environ.get(cfg.access_key_env, ""), environ.get(cfg.access_secret_env, "")
            if not key_id or not secret:
                raise ConfigError(
                    f"channels.sms: the request is signed (aliyun_query, tencent_authorization) but "
                    f"{cfg.access_key_env} or {cfg.access_secret_env} is not set"
                )
            self.signers["aliyun_query"] = aliyun_query(key_id, secret, clock)
            self._keys = (key_id, secret)
        self._signing_secrets: tuple[str, ...] = tuple(k for k in self._keys if k)
        self.token = environ.get(cfg.token_env, "")
        if uses_token and not self.token:
            raise ConfigError(
                f"channels.sms: the request uses {{{{ token }}}} but {cfg.token_env} is not set"
            )

    def send_batch(
        self, messages: Sequence[ChannelMessage], on_result: OnResult | None = None
    ) -> list[DeliveryError | None]:
        return send_each(messages, on_result, self.cfg.timeout_seconds, self._send_one)

    def close(self) -> None:
        """Nothing is held between batches."""

    def _send_one(self, client: httpx2.Client, message: ChannelMessage) -> DeliveryError | None:
        address = message.address
        where = f"SMS gateway, {masked(address)}"
        if address.channel != "sms":
            return DeliveryError(f"{masked(address)} is not an SMS number", permanent=True)
        mobile = address.target
        national = mobile[3:] if mobile.startswith("+86") else mobile[1:]
        values = {
            "mobile": mobile,
            "mobile_national": national,
            "text": message.text,
            "message_id": message.message_id,
            "token": self.token,
            **self.signers,
        }
        secrets = (mobile, national, self.token, *self._signing_secrets)
        try:
            url = self.templates["url"].render(values)
            text = self.templates["body"].render(values) if "body" in self.templates else ""
            stamp = int(self.clock())
            host = urlsplit(url).hostname or ""

            def tencent_authorization() -> str:  # signs the body as it is sent, at `timestamp`
                return tc3_authorization(*self._keys, host, stamp, text, self.cfg.content_type)

            signing = {**values, "timestamp": stamp, "tencent_authorization": tencent_authorization}
            headers = {
                k[len("headers.") :]: t.render(signing)
                for k, t in self.templates.items()
                if k.startswith("headers.")
            }
            body = text.encode() if "body" in self.templates else None
        except TemplateError as exc:
            return DeliveryError(
                f"{where}: the request template failed: {scrub(str(exc), secrets)}", permanent=False
            )
        if urlsplit(url).scheme not in ("http", "https"):
            return DeliveryError(
                f"{where}: channels.sms.url does not render to an http(s) URL", permanent=False
            )
        if body is not None:
            headers.setdefault("Content-Type", self.cfg.content_type)
        response = request(client, where, secrets, self.cfg.method, url, content=body, headers=headers)
        if isinstance(response, DeliveryError):
            return response
        return self._fate(response, where, secrets)

    def _fate(self, response: httpx2.Response, where: str, secrets: tuple[str, ...]) -> DeliveryError | None:
        if (error := status_error(response, where, self.clock())) is not None:
            return error
        status = response.status_code
        accepted = self.cfg.accepted
        if accepted is None:
            if response.is_success:
                return None
            permanent = 400 <= status < 500 and status not in (401, 403, 404)
            return DeliveryError(f"{where}: HTTP {status}", permanent=permanent)
        data = json_object(response, where)
        if isinstance(data, DeliveryError):
            return data
        code = _at(data, accepted.field)
        if code is not None and str(code) == accepted.value:
            return None
        text = scrub(_reply_message(data), secrets)[:200]
        detail = f"{where}: HTTP {status}, {accepted.field}={code!s} {text}".rstrip()
        if code is None:
            return DeliveryError(f"{where}: HTTP {status}, a reply without {accepted.field}", permanent=False)
        if str(code) in self.cfg.permanent_codes:
            return DeliveryError(f"{detail} (refused for good)", permanent=True)
        if str(code) in self.cfg.rate_limit_codes:
            return DeliveryError(
                f"{detail} (rate limited)", permanent=False, retry_after=self.cfg.rate_limit_seconds
            )
        return DeliveryError(detail, permanent=False)


def _at(data: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path; a number steps into a list (`Response.SendStatusSet.0.Code`)."""
    value: Any = data
    for part in path.split("."):
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, Mapping) and part in value:
            value = value[part]
        else:
            return None
    return value


def _reply_message(data: Mapping[str, Any]) -> str:
    for key in ("message", "Message", "msg", "errmsg"):
        if isinstance(data.get(key), str):
            return str(data[key])
    return ""
