"""Work notices to one person's user id (DingTalk, WeCom, Feishu applications) against the
in-process stand-in: the token fetched once and refreshed once when stale, each service's
request shape, and the fates of refused credentials and unknown users."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.channel_servers import ChannelServer, channel_server
from tests.test_channel_http import fate, message, robot


@pytest.fixture
def server() -> Iterator[ChannelServer]:
    with channel_server() as s:
        yield s


APP_ENV = {
    "SUNLIGHT_DINGTALK_APP_KEY": "dk-key", "SUNLIGHT_DINGTALK_APP_SECRET": "dk-secret",
    "SUNLIGHT_WECOM_CORP_ID": "ww-corp", "SUNLIGHT_WECOM_CORP_SECRET": "ww-secret",
    "SUNLIGHT_FEISHU_APP_ID": "cli_a", "SUNLIGHT_FEISHU_APP_SECRET": "fs-secret",
}  # fmt: skip


def test_dingtalk_work_notice_fetches_the_token_once(server: ChannelServer) -> None:
    notifier = robot("dingtalk", server, APP_ENV)
    msgs = [message("dingtalk://user/manager4520", n) for n in (1, 2)]
    assert notifier.send_batch(msgs) == [None, None]
    (token,) = server.on("/gettoken")
    assert token.query == {"appkey": "dk-key", "appsecret": "dk-secret"}
    sends = server.on("/topapi/message/corpconversation/asyncsend_v2")
    assert [s.query for s in sends] == [{"access_token": "dt-token-1"}] * 2
    assert sends[0].json == {
        "agent_id": 42, "userid_list": "manager4520",
        "msg": {"msgtype": "markdown", "markdown": {"title": msgs[0].title, "text": msgs[0].text}},
    }  # fmt: skip


def test_wecom_app_message_refreshes_a_stale_token_once(server: ChannelServer) -> None:
    notifier = robot("wecom", server, APP_ENV)
    server.error({"errcode": 42001, "errmsg": "access_token expired"}, path="/cgi-bin/message/send")
    assert notifier.send_batch([message("wecom://user/ZhangSan")]) == [None]
    assert len(server.on("/cgi-bin/gettoken")) == 2
    send = server.on("/cgi-bin/message/send")[-1].json
    assert send["touser"] == "ZhangSan" and send["agentid"] == 42 and send["enable_duplicate_check"] == 1
    server.error({"errcode": 0, "errmsg": "ok", "invaliduser": "ZhangSan"}, path="/cgi-bin/message/send")
    error = fate(notifier, message("wecom://user/ZhangSan"))
    assert error.permanent and "ZhangSan" not in str(error)


def test_feishu_app_message_with_tenant_token(server: ChannelServer) -> None:
    notifier = robot("feishu", server, APP_ENV)
    msg = message("feishu://user/ou_7d8a6e")
    assert notifier.send_batch([msg]) == [None]
    assert server.on("/open-apis/auth/v3/tenant_access_token/internal")[0].json == {
        "app_id": "cli_a",
        "app_secret": "fs-secret",
    }
    (send,) = server.on("/open-apis/im/v1/messages")
    assert send.query == {"receive_id_type": "open_id"} and send.headers["authorization"] == "Bearer t-1"
    assert send.json["receive_id"] == "ou_7d8a6e" and send.json["uuid"] == "<n1.a7@sunlight>"
    assert json.loads(send.json["content"])["header"]["template"] == "red"
    # The documented fix is the app's availability scope in the console: configuration.
    server.error({"code": 230013, "msg": "Bot has NO availability to this user."}, status=400)
    error = fate(notifier, msg)
    assert not error.permanent and "check the configuration" in str(error)


def test_work_notice_without_credentials_or_with_refused_ones_is_transient(server: ChannelServer) -> None:
    error = fate(robot("dingtalk", server, {}), message("dingtalk://user/u1"))
    assert not error.permanent and "SUNLIGHT_DINGTALK_APP_KEY" in str(error)
    server.error({"errcode": 40089, "errmsg": "不合法的corpid或corpsecret"}, path="/gettoken")
    error = fate(robot("dingtalk", server, APP_ENV), message("dingtalk://user/u1"))
    assert not error.permanent and "dk-secret" not in str(error)
    server.error({"errcode": 33012, "errmsg": "无效的USERID"}, path="/topapi")
    assert fate(robot("dingtalk", server, APP_ENV), message("dingtalk://user/u1")).permanent


APP_CODES = [
    ("dingtalk", "/topapi", {"errcode": 45009, "errmsg": "接口调用超过限制"}, 200, False, 60.0),
    ("dingtalk", "/topapi", {"errcode": 45002, "errmsg": "消息内容超过限制"}, 200, True, None),
    ("wecom", "/cgi-bin/message/send", {"errcode": 81013, "errmsg": "user & party & tag all invalid"},
     200, False, None),
    ("feishu", "/open-apis/im/v1/messages", {"code": 230025, "msg": "The length of the message content "
     "reaches its limit."}, 400, True, None),
    ("feishu", "/open-apis/im/v1/messages", {"code": 230020, "msg": "This operation triggers the "
     "frequency limit."}, 400, False, 10.0),
]  # fmt: skip


@pytest.mark.parametrize(("channel", "path", "reply", "status", "permanent", "wait"), APP_CODES)
def test_documented_work_notice_codes(server: ChannelServer, channel: str, path: str,
                                      reply: dict[str, object], status: int, permanent: bool,
                                      wait: float | None) -> None:  # fmt: skip
    server.error(reply, status=status, path=path)
    error = fate(robot(channel, server, APP_ENV), message(f"{channel}://user/u1"))
    assert (error.permanent, error.retry_after) == (permanent, wait)
    assert str(reply.get("errcode", reply.get("code"))) in str(error)
