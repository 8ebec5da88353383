"""Group robots of DingTalk, WeCom and Feishu (and, through alerts/channels/apps.py, the same
services' work notices to one person's user id).

Reply codes (errcode for DingTalk and WeCom, code for Feishu), their fates and where each
meaning was read (the numbered sources below):

| service | code | meaning | fate | source |
| --- | --- | --- | --- | --- |
| DingTalk | 0 | sent | accepted | [1] |
| DingTalk | 310000 | keywords / timestamp / sign not match / IP whitelist | transient (config, clock) | [1] |
| DingTalk | 300001 | token is not exist | transient (config) | [2] |
| DingTalk | 400101 | access_token不存在 | transient (config) | [1] |
| DingTalk | 400102, 400106 | 机器人已停用 / 机器人不存在 | transient (config) | [1] |
| DingTalk | 410100 | 发送速度太快而限流 (20 a minute, then 10 minutes off) | transient, wait 600 s | [1] |
| DingTalk | 130101 | send too fast, exceed 20 times per minute | transient, wait 600 s | [2] |
| DingTalk | 430101–430104 | 含有不安全的外链 / 不合适的文本 / 图片 / 内容 | permanent | [1] |
| DingTalk | 400105 | 不支持的消息类型 | permanent | [1] |
| DingTalk | 460101 | message too long: NOT CONFIRMED, no source found | permanent | — |
| DingTalk | -1 | 系统繁忙 | transient | [3] |
| WeCom | 0 | sent | accepted | [4] |
| WeCom | 93000 | invalid webhook url (wrong or deleted key) | transient (config) | [5] |
| WeCom | 45009 | 接口调用超过限制 (a robot: 20 a minute) | transient, retry after 60 s | [4], [6] |
| WeCom | 40008, 40058 | 不合法的msgtype参数 / 不合法的参数 | permanent | [4] |
| WeCom | 44004, 45002 | 文本消息content参数为空 / 消息内容大小超过限制 | permanent | [4] |
| WeCom | -1 | 系统繁忙 | transient | [4] |
| Feishu | 0 | success | accepted | [7] |
| Feishu | 19021 | sign match fail or timestamp is not within one hour | transient (config, or clock) | [7] |
| Feishu | 19022, 19024 | Ip Not Allowed / Key Words Not Found | transient (config) | [7] |
| Feishu | 19001 | param invalid: incoming webhook access token invalid | transient (config) | [8] |
| Feishu | 11232 | frequency limited (100 a minute, 5 a second a robot) | transient, retry after 10 s | [7] |
| Feishu | 9499 | Bad Request (body malformed, or over 20 KB) | permanent | [7] |

DingTalk 400013 (群已被解散, the robot's group is gone) is in the same table [1]; it is not in
DINGTALK below, so it takes the fate of a code no table knows, transient, which is the
robot-gone rule anyway. The waits are this module's choice except DingTalk's ten minutes.

Sources:
[1] DingTalk 自定义机器人发送群消息, its 错误码 and 安全设置错误码 tables
    (open.dingtalk.com/document/orgapp/custom-robots-send-group-messages), as quoted verbatim
    by public clients; the 20-a-minute, 10-minutes limit also in its 消息发送频率限制.
[2] The errmsg strings DingTalk returns, as public clients record them (130101 with "send too
    fast, exceed 20 times per minute"; 300001 "token is not exist", quoted from an Aliyun copy
    of the error table); not read on open.dingtalk.com.
[3] DingTalk 全局返回码: ddtalk/dingTalkDoc source/includes/_server.md (附录一).
[4] WeCom 全局错误码 (developer.work.weixin.qq.com/document/path/90313) as quoted by WxJava:
    weixin-java-common/src/main/java/me/chanjar/weixin/common/error/WxCpErrorMsgEnum.java.
[5] WeCom 93000: the reply as public clients record it; the official 群机器人配置说明
    (document/path/91770) was not re-read here.
[6] WeCom 群机器人配置说明 (document/path/91770): 20 messages a minute a robot; from memory.
[7] Feishu 自定义机器人使用指南 (open.larkoffice.com/document/ukTMukTMukTM/ucTM5YjL3ETO24yNxkjN):
    9499, 19021, 19022, 19024, 11232, the 100/min 5/s limit and the 20 KB body.
[8] Feishu 19001: the reply to a wrong or deleted hook as many public clients record it; not
    found in the guide's text read here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx2

from alerts.channels.address import masked
from alerts.channels.apps import App, app_for
from alerts.channels.config import RobotConfig
from alerts.channels.http import Code, Codes, coded_reply, request, send_each
from alerts.channels.messages import ChannelMessage, feishu_card
from alerts.notify.base import OnResult
from monitor.errors import DeliveryError

DINGTALK = Codes(
    "DingTalk",
    rate_limited={410100: 600.0, 130101: 600.0},
    permanent={
        430101: "unsafe link",
        430102: "unsuitable text",
        430103: "unsuitable image",
        430104: "unsuitable content",
        400105: "unsupported message type",
        460101: "message too long",
    },
    configuration={
        310000: "keyword, signature or IP whitelist",
        300001: "robot token does not exist",
        400101: "access_token missing",
        400102: "robot stopped",
        400106: "robot does not exist",
    },
)
WECOM = Codes(
    "WeCom",
    rate_limited={45009: 60.0},
    permanent={
        40008: "bad msgtype",
        40058: "bad parameter",
        44004: "empty content",
        45002: "content too long",
    },
    configuration={93000: "invalid webhook key"},
)
FEISHU = Codes(
    "Feishu",
    rate_limited={11232: 10.0},
    permanent={9499: "bad request"},
    configuration={
        19021: "signature or timestamp",
        19022: "IP not allowed",
        19024: "key words not found",
        19001: "webhook token invalid",
    },
)


def errcode(data: Mapping[str, Any]) -> tuple[Code | None, str]:
    code = data.get("errcode")
    return (code if isinstance(code, int) else None), str(data.get("errmsg", ""))


def feishu_code(data: Mapping[str, Any]) -> tuple[Code | None, str]:
    code = data.get("code", data.get("StatusCode"))  # StatusCode: the bot's older replies
    return (code if isinstance(code, int) else None), str(data.get("msg", data.get("StatusMessage", "")))


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's documented signature: base64 HMAC-SHA256 keyed by the secret over
    "timestamp\\nsecret", URL-encoded for the query."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote(base64.b64encode(digest).decode(), safe="")


def feishu_sign(secret: str, timestamp: int) -> str:
    """Feishu's documented signature: base64 HMAC-SHA256 keyed by "timestamp\\nsecret" over
    an empty message."""
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class RobotNotifier:
    """One service's robots and work notices; `name` is the channel (dingtalk, wecom, feishu)."""

    def __init__(
        self,
        channel: str,
        cfg: RobotConfig,
        environ: Mapping[str, str] = os.environ,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if channel not in ("dingtalk", "wecom", "feishu"):
            raise ValueError(f"no robot channel {channel!r}")
        self.name = channel
        self.cfg = cfg
        self.clock = clock
        self.app: App = app_for(channel, cfg, environ, monotonic=monotonic)

    def send_batch(
        self, messages: Sequence[ChannelMessage], on_result: OnResult | None = None
    ) -> list[DeliveryError | None]:
        return send_each(messages, on_result, self.cfg.timeout_seconds, self._send_one)

    def close(self) -> None:
        self.app.forget()

    def _send_one(self, client: httpx2.Client, message: ChannelMessage) -> DeliveryError | None:
        address = message.address
        if address.channel != self.name:
            return DeliveryError(f"{masked(address)} is not a {self.name} address", permanent=True)
        try:
            if address.user:
                return self.app.send(client, message, self.clock())
            return self._robot(client, message)
        except Exception as exc:  # noqa: BLE001 - each message needs a fate, or the batch is lost
            where = f"{self.name} {masked(address)}"
            return DeliveryError(f"{where}: unexpected {type(exc).__name__}", permanent=False)

    def _robot(self, client: httpx2.Client, message: ChannelMessage) -> DeliveryError | None:
        address = message.address
        where = f"{self.name} robot {masked(address)}"
        secrets = (address.target, address.secret or "")
        base = self.cfg.api_base
        now = self.clock()
        body: dict[str, Any]
        if self.name == "dingtalk":
            url = f"{base}/robot/send?access_token={quote(address.target, safe='')}"
            if address.secret:
                ms = int(now * 1000)
                url += f"&timestamp={ms}&sign={dingtalk_sign(address.secret, ms)}"
            body = {"msgtype": "markdown", "markdown": {"title": message.title, "text": message.text}}
            codes, read = DINGTALK, errcode
        elif self.name == "wecom":
            url = f"{base}/cgi-bin/webhook/send?key={quote(address.target, safe='')}"
            body = {"msgtype": "markdown", "markdown": {"content": message.text}}
            codes, read = WECOM, errcode
        else:
            url = f"{base}/open-apis/bot/v2/hook/{quote(address.target, safe='')}"
            body = {"msg_type": "interactive", "card": feishu_card(message)}
            if address.secret:
                seconds = int(now)
                body = {"timestamp": str(seconds), "sign": feishu_sign(address.secret, seconds), **body}
            codes, read = FEISHU, feishu_code
        response = request(client, where, secrets, "POST", url, json=body)
        if isinstance(response, DeliveryError):
            return response
        return coded_reply(response, where, now, codes, read)[1]
