"""Work notices to one person's user id, sent as an internal application: DingTalk
corpconversation asyncsend_v2, WeCom cgi-bin/message/send, Feishu im/v1/messages. Each needs
an access token from the service (gettoken / tenant_access_token), kept for its lifetime.

Codes beyond the group robots' (alerts/channels/robots.py), each with where its meaning was
read (the numbered sources below):

| service | code | meaning | fate | source |
| --- | --- | --- | --- | --- |
| DingTalk | 40014, 42001 | 不合法的access_token / access_token超时 | token fetched again, once | [1] |
| DingTalk | 40089 | 不合法的corpid或corpsecret (appkey/appsecret) | transient (config) | [1], [2] |
| DingTalk | 88 | 鉴权异常: the reason is in sub_code/sub_msg | transient (config) | [3] |
| DingTalk | 90018 | over 40 calls a second, one appkey, one API | transient, wait 1 s | [4] |
| DingTalk | 90006, 90005 | one API called too often (appkey / corp) | transient, wait 60 s | [1], [4] |
| DingTalk | 45009 | 接口调用超过限制 | transient, wait 60 s | [1] |
| DingTalk | 45002 | 消息内容超过限制 (message too long) | permanent | [1] |
| DingTalk | 33012 | 无效的userid | permanent | [3] |
| WeCom | 40014, 42001 | 不合法的access_token / access_token已过期 | token fetched again, once | [5] |
| WeCom | 40001, 40013, 40056 | 不合法的secret / CorpID / agentid | transient (config) | [5] |
| WeCom | 60020 | 访问ip不在白名单之中 | transient (config) | [5] |
| WeCom | 45009, 45033 | 接口调用超过限制 / 接口并发调用超过限制 | transient, retry after 60 / 5 s | [5] |
| WeCom | 40003 | 无效的UserID | permanent | [5] |
| WeCom | 81013 | UserID、部门ID、标签ID全部非法或无权限 | transient (config) | [5] |
| WeCom | 0 with "invaliduser" | sent to nobody: the user id is unknown | permanent | [6] |
| Feishu | 99991661 | Missing access token for authorization | token fetched again, once | [7] |
| Feishu | 99991663, 99991671 | Invalid access token (tenant token) | token fetched again, once | [7], [8] |
| Feishu | 10003, 10014 | invalid param (app_id) / app secret invalid | transient (config) | [8], [9] |
| Feishu | 99991400 | request trigger frequency limit (app) | transient, retry after 10 s | [8] |
| Feishu | 230020 | This operation triggers the frequency limit (chat) | transient, retry after 10 s | [10] |
| Feishu | 230013 | Bot has NO availability to this user | transient (config) | [10] |
| Feishu | 230025 | The length of the message content reaches its limit | permanent | [10] |

Fates the sources decided: WeCom 81013 also means "no permission" and Feishu 230013 is fixed in
the developer console (the app's availability scope, then a new version), so both are
configuration, not a refusal for good: a notice is not lost to a scope someone forgot.
A token still refused after the fresh one is transient. The waits are this module's choice;
only 90018's "a second" is the vendor's.

Sources:
[1] DingTalk 全局返回码 (open.dingtalk.com/document/orgapp/server-api-error-codes-1), read as
    DingTalk's own docs repository has it: ddtalk/dingTalkDoc source/includes/_server.md
    (附录一: 40014, 42001, 40089, 45002, 45009, 90005, 90006).
[2] landray ekp's DingTalk error enum, as quoted in public code: 40089 "不合法的corpid或
    corpsecret或者不合法的appkey或appsecret".
[3] DingTalk 错误码格式说明 (88 with sub_code) and the user API's table (33012 无效的userid),
    as mirrored in public copies of open.dingtalk.com's pages; not re-read on open.dingtalk.com.
[4] passwa11/ekp src/com/landray/kmss/third/ding/constant/DingErrorCodeConstant.java
    (90018 40 a second, 90006 and 90005 1500 a minute).
[5] WeCom 全局错误码 (developer.work.weixin.qq.com/document/path/90313, /90455) as quoted by
    WxJava: weixin-java-common/src/main/java/me/chanjar/weixin/common/error/WxCpErrorMsgEnum.java.
[6] WeCom 发送应用消息 (document/path/90236): invaliduser lists the ids not delivered to;
    from memory, not re-read here.
[7] Feishu 服务端错误码说明 (open.larkoffice.com/document/server-docs/api-call-guide/
    generic-error-code); the replies 99991661/99991663 as recorded by public probes of the API.
[8] apitable/apitable FeishuErrorCode.java (10003 INVALID_PARAMETER, 99991671 INVALID_TOKEN,
    99991400 REQUEST_TRIGGER_FREQUENCY_LIMIT) and FeishuExceptionConstants.java (99991663).
[9] 10014 "app secret invalid": the tenant_access_token reply as many public clients and tests
    quote it; not found on an official page here.
[10] Feishu/Lark im/v1 message error table (open.larksuite.com/document/uAjLw4CM/ukTMukTMukTM/
    reference/im-v1/message/update, the table im/v1/messages shares): 230013, 230020, 230025.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import httpx2

from alerts.channels.address import masked
from alerts.channels.config import DingTalkConfig, FeishuConfig, RobotConfig, WeComConfig
from alerts.channels.http import Code, Codes, coded_reply, request
from alerts.channels.messages import ChannelMessage, feishu_card
from monitor.errors import DeliveryError

EARLY = 300.0  # seconds before a token's stated expiry that it is fetched again

DINGTALK = Codes(
    "DingTalk",
    rate_limited={90018: 1.0, 90006: 60.0, 90005: 60.0, 45009: 60.0},
    permanent={33012: "invalid userid", 45002: "message too long"},
    configuration={
        40014: "access token invalid",
        42001: "access token expired",
        40089: "appkey or appsecret",
        88: "auth",
    },
)
WECOM = Codes(
    "WeCom",
    rate_limited={45009: 60.0, 45033: 5.0},
    permanent={40003: "invalid UserID"},
    configuration={
        81013: "no valid user, or none the app may reach",
        40014: "access_token invalid",
        42001: "access_token expired",
        40001: "corp secret invalid",
        40013: "corp id invalid",
        40056: "agentid invalid",
        60020: "IP not trusted",
    },
)
FEISHU = Codes(
    "Feishu",
    rate_limited={99991400: 10.0, 230020: 10.0},
    permanent={230025: "message too long"},
    configuration={
        230013: "bot not available to this user (the app's availability scope)",
        99991661: "token missing",
        99991663: "token invalid",
        99991671: "token invalid",
        10003: "invalid param (app_id)",
        10014: "app_secret invalid",
    },
)
STALE = {"dingtalk": frozenset({40014, 42001}), "wecom": frozenset({40014, 42001}),
         "feishu": frozenset({99991661, 99991663, 99991671})}  # fmt: skip


class App(Protocol):
    def send(self, client: httpx2.Client, message: ChannelMessage, now: float) -> DeliveryError | None: ...

    def forget(self) -> None: ...


def app_for(
    channel: str, cfg: RobotConfig, environ: Mapping[str, str], *, monotonic: Callable[[], float]
) -> App:
    if isinstance(cfg, DingTalkConfig) and channel == "dingtalk":
        creds = (cfg.app_key_env, cfg.app_secret_env)
    elif isinstance(cfg, WeComConfig) and channel == "wecom":
        creds = (cfg.corp_id_env, cfg.corp_secret_env)
    elif isinstance(cfg, FeishuConfig) and channel == "feishu":
        creds = (cfg.app_id_env, cfg.app_secret_env)
    else:
        raise ValueError(f"channel {channel!r} needs its own configuration, not {type(cfg).__name__}")
    return _App(channel, cfg, creds, (environ.get(creds[0], ""), environ.get(creds[1], "")), monotonic)


def _errcode(data: Mapping[str, Any]) -> tuple[Code | None, str]:
    code = data.get("errcode")
    return (code if isinstance(code, int) else None), str(data.get("errmsg", ""))


def _code(data: Mapping[str, Any]) -> tuple[Code | None, str]:
    code = data.get("code")
    return (code if isinstance(code, int) else None), str(data.get("msg", ""))


class _App:
    """The application of one service: its credentials, its cached token, its send call."""

    def __init__(
        self,
        channel: str,
        cfg: RobotConfig,
        names: tuple[str, str],
        creds: tuple[str, str],
        monotonic: Callable[[], float],
    ) -> None:
        self.channel = channel
        self.cfg = cfg
        self.names = names
        self.creds = creds
        self.monotonic = monotonic
        self.token: str | None = None
        self.expires = 0.0
        self.codes, self.read = {"dingtalk": (DINGTALK, _errcode), "wecom": (WECOM, _errcode),
                                 "feishu": (FEISHU, _code)}[channel]  # fmt: skip

    def forget(self) -> None:
        self.token = None

    def send(self, client: httpx2.Client, message: ChannelMessage, now: float) -> DeliveryError | None:
        where = f"{self.channel} work notice {masked(message.address)}"
        if not all(self.creds):
            missing = " and ".join(n for n, v in zip(self.names, self.creds, strict=True) if not v)
            return DeliveryError(f"{where}: {missing} not set in the environment", permanent=False)
        agent = getattr(self.cfg, "agent_id", 0)
        if agent is None:
            return DeliveryError(f"{where}: channels.{self.channel}.agent_id is not set", permanent=False)
        for attempt in (1, 2):
            token = self._token(client, where, now)
            if isinstance(token, DeliveryError):
                return token
            error, stale = self._post(client, message, token, where, now)
            if stale and attempt == 1:
                self.forget()  # revoked or expired early: one fresh token, then give up
                continue
            return error
        return None  # not reached: the second attempt returns

    def _token(self, client: httpx2.Client, where: str, now: float) -> str | DeliveryError:
        if self.token is not None and self.monotonic() < self.expires:
            return self.token
        base, (key, secret) = self.cfg.api_base, self.creds
        if self.channel == "dingtalk":
            reply = request(client, where, self.creds, "GET", f"{base}/gettoken",
                            params={"appkey": key, "appsecret": secret})  # fmt: skip
        elif self.channel == "wecom":
            reply = request(client, where, self.creds, "GET", f"{base}/cgi-bin/gettoken",
                            params={"corpid": key, "corpsecret": secret})  # fmt: skip
        else:
            url = f"{base}/open-apis/auth/v3/tenant_access_token/internal"
            reply = request(client, where, self.creds, "POST", url,
                            json={"app_id": key, "app_secret": secret})  # fmt: skip
        if isinstance(reply, DeliveryError):
            return reply
        data, error = coded_reply(reply, f"{where} (token)", now, self.codes, self.read)
        if error is not None:
            # A refused token request refuses the credentials, never this message or person.
            return DeliveryError(str(error), permanent=False, retry_after=error.retry_after)
        assert data is not None
        token = data.get("tenant_access_token" if self.channel == "feishu" else "access_token")
        lifetime = data.get("expire" if self.channel == "feishu" else "expires_in", 7200)
        if not isinstance(token, str) or not token or not isinstance(lifetime, int | float):
            return DeliveryError(f"{where}: a token reply without a token", permanent=False)
        self.token = token
        self.expires = self.monotonic() + max(float(lifetime) - EARLY, float(lifetime) / 2)
        return token

    def _post(
        self, client: httpx2.Client, message: ChannelMessage, token: str, where: str, now: float
    ) -> tuple[DeliveryError | None, bool]:
        """The message's fate, and whether the token was refused as stale."""
        base, user = self.cfg.api_base, message.address.target
        secrets = (token, user, *self.creds)
        if self.channel == "dingtalk":
            body: dict[str, Any] = {
                "agent_id": getattr(self.cfg, "agent_id", None),
                "userid_list": user,
                "msg": {"msgtype": "markdown", "markdown": {"title": message.title, "text": message.text}},
            }
            url = f"{base}/topapi/message/corpconversation/asyncsend_v2"
            reply = request(client, where, secrets, "POST", url, params={"access_token": token}, json=body)
        elif self.channel == "wecom":
            body = {
                "touser": user,
                "msgtype": "markdown",
                "agentid": getattr(self.cfg, "agent_id", None),
                "markdown": {"content": message.text},
                # WeCom drops a repeat of the same content within the interval: a retry after
                # a lost reply does not reach the person twice.
                "enable_duplicate_check": 1,
                "duplicate_check_interval": 14400,
            }
            url = f"{base}/cgi-bin/message/send"
            reply = request(client, where, secrets, "POST", url, params={"access_token": token}, json=body)
        else:
            body = {
                "receive_id": user,
                "msg_type": "interactive",
                "content": json.dumps(feishu_card(message), ensure_ascii=False),
                "uuid": message.message_id[:50],  # Feishu's idempotency key (at most 50 characters)
            }
            url = f"{base}/open-apis/im/v1/messages"
            headers = {"Authorization": f"Bearer {token}"}
            reply = request(client, where, secrets, "POST", url, params={"receive_id_type": "open_id"},
                            json=body, headers=headers)  # fmt: skip
        if isinstance(reply, DeliveryError):
            return reply, False
        data, error = coded_reply(reply, where, now, self.codes, self.read)
        if error is not None:
            code = self.read(json_or_empty(reply))[0]
            return error, code in STALE[self.channel]
        if self.channel == "wecom" and data and data.get("invaliduser"):
            return DeliveryError(f"{where}: WeCom knows no such user (invaliduser)", permanent=True), False
        return None, False


def json_or_empty(response: httpx2.Response) -> dict[str, Any]:
    try:
        data = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}
