"""Group robots of DingTalk, WeCom and Feishu (and, through alerts/channels/apps.py, the same
services' work notices to one person's user id).

Reply codes (errcode for DingTalk and WeCom, code for Feishu) and their fates:

| service | code | meaning | fate |
| --- | --- | --- | --- |
| DingTalk | 0 | sent | accepted |
| DingTalk | 310000 | keyword missing / sign not match / IP not in whitelist | transient (config) |
| DingTalk | 300001 | token is not exist | transient (config) |
| DingTalk | 400101, 400102, 400106 | no access_token / robot stopped / no robot | transient (config) |
| DingTalk | 410100, 130101 | too fast (20 a minute, then blocked 10 minutes) | transient, wait 600 s |
| DingTalk | 430101–430104 | unsafe link / text / image / content | permanent |
| DingTalk | 400105, 460101 | unsupported msgtype / message too long | permanent |
| DingTalk | -1 | system busy | transient |
| WeCom | 0 | sent | accepted |
| WeCom | 93000 | invalid webhook url (wrong or deleted key) | transient (config) |
| WeCom | 45009 | api freq out of limit | transient, retry after 60 s |
| WeCom | 40008, 40058, 44004, 45002 | bad msgtype / parameter, empty or too long content | permanent |
| WeCom | -1 | system busy | transient |
| Feishu | 0 | sent | accepted |
| Feishu | 19021 | sign match fail or timestamp not within one hour | transient (config, or clock) |
| Feishu | 19022, 19024 | IP not allowed / key words not found | transient (config) |
| Feishu | 19001 | incoming webhook token invalid | transient (config) |
| Feishu | 11232 | frequency limited (100 a minute, 5 a second) | transient, retry after 10 s |
| Feishu | 9499 | bad request (body malformed or over 20 KB) | permanent |

Sources: DingTalk 自定义机器人接入 and its error-code page (open.dingtalk.com/document/orgapp/
custom-robot-access; 310000 and the 20-a-minute limit also in developer.aliyun.com/ask/585233
and juejin.cn/post/7129698690297495583); WeCom 全局错误码 (developer.work.weixin.qq.com/
document/path/90455 for -1, 40008, 40014, 45009, …) and 群机器人配置说明 (document/path/91770,
93000); Feishu 自定义机器人使用指南 (open.feishu.cn/document/ukTMukTMukTM/ucTM5YjL3ETO24yNxkjN:
9499, 19021, 19022, 19024, the 100/min 5/s limit and 11232; 19001 from its FAQ). The DingTalk
430xxx/400xxx/460101 codes are from the robot error-code page as remembered, not re-read here.
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
