"""The channels' configuration (`channels:` in config.yaml): where each service is, how long
to wait for it, and the NAMES of the environment variables that hold its credentials (the
config file is often readable by more people than the credentials should be)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from jinja2 import Environment, TemplateSyntaxError
from pydantic import BaseModel, ConfigDict, Field, field_validator

# The gateway's idempotency key is the notice's Message-ID: a retry of a message the gateway
# took but whose reply was lost is then dropped by the gateway, not sent twice.
DEFAULT_SMS_BODY = (
    '{"mobile": {{ mobile | json }}, "text": {{ text | json }}, "outId": {{ message_id | json }}}'
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _template_syntax(value: str, where: str) -> str:
    try:
        Environment(autoescape=False).parse(value)  # noqa: S701 - not HTML
    except TemplateSyntaxError as exc:
        raise ValueError(f"{where}: template syntax error on line {exc.lineno}: {exc.message}") from None
    return value


def _http_base(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL with a host")
    if parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError(f"{value!r}: the API base is scheme, host, port and path only")
    return value.rstrip("/")


class AcceptedReply(_Strict):
    """How the gateway's JSON reply says a message was taken: `field` (a dotted path such as
    "result.code") equals `value` (compared as text)."""

    field: str = Field(default="code", min_length=1)
    value: str = "OK"


class SmsGatewayConfig(_Strict):
    # The request: `url`, `headers` and `body` are Jinja2 templates over mobile (E.164),
    # mobile_national (without +86), text, message_id and token (from `token_env`).
    url: str | None = None
    method: Literal["POST", "GET"] = "POST"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str = DEFAULT_SMS_BODY  # not sent with GET: put the values in the URL's query then
    content_type: str = "application/json"
    accepted: AcceptedReply | None = AcceptedReply()  # None: any 2xx reply is accepted
    # Reply codes that refuse this number or this text for good (Aliyun's, by default).
    permanent_codes: tuple[str, ...] = (
        "isv.MOBILE_NUMBER_ILLEGAL",
        "isv.BLACK_KEY_CONTROL_LIMIT",
        "isv.SMS_CONTENT_ILLEGAL",
    )
    # Reply codes that mean "too many, later": retried after `rate_limit_seconds`.
    rate_limit_codes: tuple[str, ...] = (
        "isv.BUSINESS_LIMIT_CONTROL",
        "isv.DAY_LIMIT_CONTROL",
        "isv.MONTH_LIMIT_CONTROL",
    )
    rate_limit_seconds: float = Field(default=60.0, gt=0)
    token_env: str = "SUNLIGHT_SMS_TOKEN"  # noqa: S105 - the variable's name, not a token
    # Aliyun's AccessKey, for `{{ aliyun_query({...}) }}` (alerts.channels.cloudsign).
    access_key_env: str = "SUNLIGHT_SMS_ACCESS_KEY_ID"
    access_secret_env: str = "SUNLIGHT_SMS_ACCESS_KEY_SECRET"  # noqa: S105 - a variable's name
    timeout_seconds: float = Field(default=10.0, gt=0)

    @field_validator("url", "body")
    @classmethod
    def _syntax(cls, value: str | None) -> str | None:
        return None if value is None else _template_syntax(value, "channels.sms")

    @field_validator("headers")
    @classmethod
    def _header_syntax(cls, value: dict[str, str]) -> dict[str, str]:
        for name, template in value.items():
            if not name or any(c in name for c in ":\r\n ") or not name.isascii():
                raise ValueError(f"channels.sms.headers: {name!r} is not a header name")
            _template_syntax(template, f"channels.sms.headers.{name}")
        return value


class RobotConfig(_Strict):
    """What every robot service has: its API host (政务钉钉/浙政钉 and private deployments use
    their own) and how long to wait for it."""

    api_base: str
    timeout_seconds: float = Field(default=10.0, gt=0)

    @field_validator("api_base")
    @classmethod
    def _base(cls, value: str) -> str:
        return _http_base(value)


class DingTalkConfig(RobotConfig):
    api_base: str = "https://oapi.dingtalk.com"
    # Work notices (dingtalk://user/ID): an internal application's credentials.
    app_key_env: str = "SUNLIGHT_DINGTALK_APP_KEY"
    app_secret_env: str = "SUNLIGHT_DINGTALK_APP_SECRET"  # noqa: S105 - a variable's name
    agent_id: int | None = None


class WeComConfig(RobotConfig):
    api_base: str = "https://qyapi.weixin.qq.com"
    corp_id_env: str = "SUNLIGHT_WECOM_CORP_ID"
    corp_secret_env: str = "SUNLIGHT_WECOM_CORP_SECRET"  # noqa: S105 - a variable's name
    agent_id: int | None = None


class FeishuConfig(RobotConfig):
    api_base: str = "https://open.feishu.cn"
    app_id_env: str = "SUNLIGHT_FEISHU_APP_ID"
    app_secret_env: str = "SUNLIGHT_FEISHU_APP_SECRET"  # noqa: S105 - a variable's name


class WebhookConfig(_Strict):
    secret_env: str = "SUNLIGHT_WEBHOOK_SECRET"  # noqa: S105 - the variable's name
    timeout_seconds: float = Field(default=10.0, gt=0)


class ChannelsConfig(_Strict):
    sms: SmsGatewayConfig = SmsGatewayConfig()
    dingtalk: DingTalkConfig = DingTalkConfig()
    wecom: WeComConfig = WeComConfig()
    feishu: FeishuConfig = FeishuConfig()
    webhook: WebhookConfig = WebhookConfig()
    templates: Path | None = None  # the city's own templates, same file names as the shipped ones
