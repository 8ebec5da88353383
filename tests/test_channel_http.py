"""The HTTP channels against an in-process server speaking each service's documented request
and reply: request shapes and signatures, fates (outage, 429, 5xx, malformed reply, each
documented code), on_result order, idempotency keys, and work-notice tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from alerts.channels import notifier_for
from alerts.channels.address import parse
from alerts.channels.config import (
    ChannelsConfig,
    DingTalkConfig,
    FeishuConfig,
    SmsGatewayConfig,
    WebhookConfig,
    WeComConfig,
)
from alerts.channels.messages import ChannelMessage, Templates
from alerts.channels.robots import RobotNotifier
from alerts.channels.sms import SmsNotifier
from alerts.channels.webhook import WebhookNotifier, verify
from monitor.errors import ConfigError, DeliveryError
from tests.channel_servers import ChannelServer, channel_server
from tests.test_channel_messages import CONTEXT

NOW = 1_772_000_000.25  # the clock the notifiers are given
SECRET = "whsec-test-0123456789"


@pytest.fixture
def server() -> Iterator[ChannelServer]:
    with channel_server() as s:
        yield s


def message(address: str, n: int = 1, **changes: Any) -> ChannelMessage:
    return Templates().render({**CONTEXT, **changes}, parse(address), f"<n{n}.a7@sunlight>")


def robot(channel: str, server: ChannelServer, environ: dict[str, str] | None = None) -> RobotNotifier:
    cfg: Any = {"dingtalk": DingTalkConfig, "wecom": WeComConfig, "feishu": FeishuConfig}[channel]
    extra = {"agent_id": 42} if channel != "feishu" else {}
    return RobotNotifier(channel, cfg(api_base=server.base, **extra), environ or {}, clock=lambda: NOW)


def sms(server: ChannelServer, **changes: Any) -> SmsNotifier:
    cfg = SmsGatewayConfig(
        url=f"{server.base}/sms", headers={"Authorization": "Bearer {{ token }}"}, **changes
    )
    return SmsNotifier(cfg, {"SUNLIGHT_SMS_TOKEN": "tok-sms"}, clock=lambda: NOW)


# -- request shapes and signatures --------------------------------------------------------
def test_dingtalk_robot_request_and_signature(server: ChannelServer) -> None:
    msg = message("dingtalk://SECabc123@tok0dd")
    assert robot("dingtalk", server).send_batch([msg]) == [None]
    (req,) = server.on("/robot/send")
    ms = int(NOW * 1000)
    expected = base64.b64encode(hmac.new(b"SECabc123", f"{ms}\nSECabc123".encode(), hashlib.sha256).digest())
    assert req.method == "POST"
    assert req.query == {"access_token": "tok0dd", "timestamp": str(ms), "sign": expected.decode()}
    assert req.json == {"msgtype": "markdown", "markdown": {"title": msg.title, "text": msg.text}}
    assert req.headers["content-type"].startswith("application/json")


def test_dingtalk_sign_is_urlencoded_in_the_query(server: ChannelServer) -> None:
    robot("dingtalk", server).send_batch([message("dingtalk://SECabc123@tok0dd")])
    raw_query = server.on("/robot/send")[0]
    ms = int(NOW * 1000)
    sign = base64.b64encode(
        hmac.new(b"SECabc123", f"{ms}\nSECabc123".encode(), hashlib.sha256).digest()
    ).decode()
    assert quote(sign, safe="") != sign or "+" not in sign  # parse_qsl decoded it back to base64
    assert raw_query.query["sign"] == sign


def test_wecom_robot_request(server: ChannelServer) -> None:
    msg = message("wecom://693a91f6-key")
    assert robot("wecom", server).send_batch([msg]) == [None]
    (req,) = server.on("/cgi-bin/webhook/send")
    assert req.query == {"key": "693a91f6-key"}
    assert req.json == {"msgtype": "markdown", "markdown": {"content": msg.text}}


def test_feishu_bot_request_card_and_signature(server: ChannelServer) -> None:
    msg = message("feishu://s3cr3t@hooktoken")
    assert robot("feishu", server).send_batch([msg]) == [None]
    (req,) = server.on("/open-apis/bot/v2/hook/hooktoken")
    ts = int(NOW)
    expected = base64.b64encode(hmac.new(f"{ts}\ns3cr3t".encode(), b"", hashlib.sha256).digest()).decode()
    assert req.json["timestamp"] == str(ts) and req.json["sign"] == expected
    assert req.json["msg_type"] == "interactive"
    card = req.json["card"]
    assert card["header"] == {"title": {"tag": "plain_text", "content": msg.title}, "template": "red"}
    assert card["elements"] == [{"tag": "markdown", "content": msg.text}]


def test_unsigned_robots_send_no_signature(server: ChannelServer) -> None:
    robot("dingtalk", server).send_batch([message("dingtalk://tok0dd")])
    robot("feishu", server).send_batch([message("feishu://hooktoken")])
    assert server.on("/robot/send")[0].query == {"access_token": "tok0dd"}
    assert "sign" not in server.on("/open-apis/bot/v2/hook/")[0].json


def test_sms_request_from_the_template(server: ChannelServer) -> None:
    msg = message("sms:+8613800000000")
    assert sms(server).send_batch([msg]) == [None]
    (req,) = server.on("/sms")
    assert req.headers["authorization"] == "Bearer tok-sms"
    assert req.headers["content-type"] == "application/json"
    assert req.json == {"mobile": "+8613800000000", "text": msg.text, "outId": "<n1.a7@sunlight>"}


def test_sms_get_with_query_template(server: ChannelServer) -> None:
    query = "m={{ mobile_national }}&c={{ text | urlencode }}&outId={{ message_id | urlencode }}"
    url = f"{server.base}/sms?{query}"
    notifier = SmsNotifier(SmsGatewayConfig(url=url, method="GET", accepted=None), {})
    msg = message("sms:+8613800000000")
    assert notifier.send_batch([msg]) == [None]
    (req,) = server.on("/sms")
    assert req.method == "GET" and req.body == b""
    assert req.query == {"m": "13800000000", "c": msg.text, "outId": "<n1.a7@sunlight>"}
    assert len(server.delivered) == 1


def test_webhook_request_headers_and_signature(server: ChannelServer) -> None:
    notifier = WebhookNotifier(WebhookConfig(), {"SUNLIGHT_WEBHOOK_SECRET": SECRET}, clock=lambda: NOW)
    msg = message(f"webhook+{server.base}/hook/in")
    assert notifier.send_batch([msg]) == [None]
    (req,) = server.on("/hook")
    assert req.body == msg.text.encode() and req.json == msg.data
    assert req.headers["content-type"] == "application/json"
    assert req.headers["x-sunlight-delivery"] == "<n1.a7@sunlight>"
    ts = req.headers["x-sunlight-timestamp"]
    assert ts == str(int(NOW))
    independent = (
        "sha256=" + hmac.new(SECRET.encode(), ts.encode() + b"." + req.body, hashlib.sha256).hexdigest()
    )
    assert req.headers["x-sunlight-signature"] == independent
    assert verify(SECRET.encode(), ts, req.body, independent, now=NOW + 10)
    assert not verify(SECRET.encode(), ts, req.body + b" ", independent, now=NOW)  # body changed
    assert not verify(b"other", ts, req.body, independent, now=NOW)  # wrong secret
    assert not verify(SECRET.encode(), ts, req.body, independent, now=NOW + 301)  # replayed late
    assert not verify(SECRET.encode(), "soon", req.body, independent, now=NOW)


def test_webhook_needs_its_secret() -> None:
    with pytest.raises(ConfigError, match="SUNLIGHT_WEBHOOK_SECRET"):
        WebhookNotifier(WebhookConfig(), {})
    with pytest.raises(ConfigError, match="SUNLIGHT_WEBHOOK_SECRET"):
        notifier_for("webhook", ChannelsConfig(), {})


def test_sms_needs_its_url_and_its_token() -> None:
    with pytest.raises(ConfigError, match=r"channels\.sms\.url"):
        notifier_for("sms", ChannelsConfig(), {})
    cfg = SmsGatewayConfig(url="http://127.0.0.1:9/sms", headers={"Authorization": "Bearer {{ token }}"})
    with pytest.raises(ConfigError, match="SUNLIGHT_SMS_TOKEN"):
        SmsNotifier(cfg, {})


def test_notifier_for_each_channel(server: ChannelServer) -> None:
    cfg = ChannelsConfig(sms=SmsGatewayConfig(url=f"{server.base}/sms"))
    env = {"SUNLIGHT_WEBHOOK_SECRET": SECRET}
    for channel in ("sms", "dingtalk", "wecom", "feishu", "webhook"):
        assert notifier_for(channel, cfg, env).name == channel
    for channel, reason in (("email", "alerts.notify"), ("slack", "unknown channel")):
        with pytest.raises(ValueError, match=reason):
            notifier_for(channel, cfg, env)


# -- fates ----------------------------------------------------------------------------------
def fate(notifier: Any, msg: ChannelMessage) -> DeliveryError:
    (error,) = notifier.send_batch([msg])
    assert isinstance(error, DeliveryError)
    return error


@pytest.mark.parametrize(
    "address",
    [
        "dingtalk://tok0ddabcdef",
        "wecom://key1abcdef",
        "feishu://hook1abcdef",
        "sms:+8613800000000",
        "webhook",
    ],
)
def test_outage_429_5xx_and_malformed_are_transient(server: ChannelServer, address: str) -> None:
    if address == "webhook":
        notifier: Any = WebhookNotifier(
            WebhookConfig(), {"SUNLIGHT_WEBHOOK_SECRET": SECRET}, clock=lambda: NOW
        )
        address = f"webhook+{server.base}/hook"
    elif address.startswith("sms"):
        notifier = sms(server)
    else:
        notifier = robot(address.split(":")[0], server)
    msg = message(address)
    server.rate_limit(retry_after="7")
    error = fate(notifier, msg)
    assert not error.permanent and error.retry_after == 7.0 and "429" in str(error)
    server.fail(status=503)
    assert not fate(notifier, msg).permanent
    if not address.startswith("webhook"):  # a webhook's body is not read: any 2xx is accepted
        server.malformed()
        error = fate(notifier, msg)
        assert not error.permanent and "not JSON" in str(error)
    server.stop()
    error = fate(notifier, msg)
    assert not error.permanent and error.retry_after is None
    for secret in ("tok0ddabcdef", "key1abcdef", "hook1abcdef", "13800000000", "tok-sms"):
        assert secret not in str(error)


def test_retry_after_as_http_date(server: ChannelServer) -> None:
    server.rate_limit(retry_after="Wed, 25 Feb 2026 06:14:20 GMT")
    error = fate(robot("wecom", server), message("wecom://key1"))
    assert error.retry_after == pytest.approx(1_772_000_060.0 - NOW)


CODES = [
    ("dingtalk://tok", {"errcode": 310000, "errmsg": "sign not match"}, False, None),
    ("dingtalk://tok", {"errcode": 310000, "errmsg": "keywords not in content"}, False, None),
    ("dingtalk://tok", {"errcode": 300001, "errmsg": "token is not exist"}, False, None),
    ("dingtalk://tok", {"errcode": 410100, "errmsg": "send too fast"}, False, 600.0),
    ("dingtalk://tok", {"errcode": 130101, "errmsg": "send too fast"}, False, 600.0),
    ("dingtalk://tok", {"errcode": 430102, "errmsg": "含有不合适的文本"}, True, None),
    ("dingtalk://tok", {"errcode": 460101, "errmsg": "message too long"}, True, None),
    ("dingtalk://tok", {"errcode": -1, "errmsg": "系统繁忙"}, False, None),
    ("wecom://key", {"errcode": 93000, "errmsg": "invalid webhook url"}, False, None),
    ("wecom://key", {"errcode": 45009, "errmsg": "api freq out of limit"}, False, 60.0),
    ("wecom://key", {"errcode": 40058, "errmsg": "invalid parameter"}, True, None),
    ("wecom://key", {"errcode": 45002, "errmsg": "content size out of limit"}, True, None),
    ("feishu://hook", {"code": 19021, "msg": "sign match fail"}, False, None),
    ("feishu://hook", {"code": 19022, "msg": "Ip Not Allowed"}, False, None),
    ("feishu://hook", {"code": 19024, "msg": "Key Words Not Found"}, False, None),
    ("feishu://hook", {"code": 11232, "msg": "frequency limited"}, False, 10.0),
    ("feishu://hook", {"code": 9499, "msg": "Bad Request"}, True, None),
    ("feishu://hook", {"code": 123456, "msg": "a code nobody documented"}, False, None),
]


@pytest.mark.parametrize(("address", "reply", "permanent", "wait"), CODES)
def test_documented_robot_codes(server: ChannelServer, address: str, reply: dict[str, Any], permanent: bool,
                                wait: float | None) -> None:  # fmt: skip
    server.error(reply)
    error = fate(robot(address.split(":")[0], server), message(address))
    assert (error.permanent, error.retry_after) == (permanent, wait)
    assert str(reply.get("errcode", reply.get("code"))) in str(error)


@pytest.mark.parametrize(
    ("code", "permanent", "wait"),
    [("isv.MOBILE_NUMBER_ILLEGAL", True, None), ("isv.SMS_CONTENT_ILLEGAL", True, None),
     ("isv.BUSINESS_LIMIT_CONTROL", False, 60.0), ("isv.MONTH_LIMIT_CONTROL", False, 60.0),
     ("isv.AMOUNT_NOT_ENOUGH", False, None), ("isv.PARAM_LENGTH_LIMIT", False, None)],
)  # fmt: skip
def test_sms_reply_codes(server: ChannelServer, code: str, permanent: bool, wait: float | None) -> None:
    server.error({"code": code, "message": "号码 13800000000 不可用"})
    error = fate(sms(server), message("sms:+8613800000000"))
    assert (error.permanent, error.retry_after) == (permanent, wait)
    assert code in str(error)
    assert "13800000000" not in str(error) and "sms:+86138****0000" in str(error)


def test_sms_accepted_field_path_and_any_2xx(server: ChannelServer) -> None:
    server.error({"result": {"status": "0"}})
    nested = sms(server, accepted={"field": "result.status", "value": "0"})
    assert nested.send_batch([message("sms:+8613800000000")]) == [None]
    server.malformed()
    plain = sms(server, accepted=None)
    assert plain.send_batch([message("sms:+8613800000000")]) == [None]
    server.error({"any": "thing"}, status=400)
    assert fate(plain, message("sms:+8613800000000")).permanent
    server.error({"any": "thing"}, status=403)
    assert not fate(plain, message("sms:+8613800000000")).permanent


def test_webhook_4xx_is_permanent_but_408_and_429_are_not(server: ChannelServer) -> None:
    notifier = WebhookNotifier(WebhookConfig(), {"SUNLIGHT_WEBHOOK_SECRET": SECRET}, clock=lambda: NOW)
    msg = message(f"webhook+{server.base}/hook")
    server.error({"error": "unknown schema"}, status=422)
    assert fate(notifier, msg).permanent
    server.error({}, status=408)
    assert not fate(notifier, msg).permanent
    server.error({}, status=302)
    assert not fate(notifier, msg).permanent


# -- batches, order and idempotency ---------------------------------------------------------
def test_on_result_is_called_after_each_message_in_order(server: ChannelServer) -> None:
    seen: list[tuple[int, bool | None, int]] = []
    msgs = [message("sms:+8613800000000", n) for n in range(3)]
    server.error({"code": "isv.MOBILE_NUMBER_ILLEGAL"}, path="/sms").then()

    def on_result(index: int, error: DeliveryError | None) -> None:
        seen.append((index, None if error is None else error.permanent, len(server.requests)))

    fates = sms(server).send_batch(msgs, on_result)
    assert [f is None for f in fates] == [False, True, True]
    assert seen == [(0, True, 1), (1, None, 2), (2, None, 3)]  # each told before the next is sent


def test_on_result_may_stop_the_batch(server: ChannelServer) -> None:
    def stop(index: int, error: DeliveryError | None) -> None:
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        robot("wecom", server).send_batch([message("wecom://k", 1), message("wecom://k", 2)], stop)
    assert len(server.requests) == 1


def test_a_retried_sms_is_one_delivery(server: ChannelServer) -> None:
    notifier = sms(server)
    msg = message("sms:+8613800000000")
    server.fail(path="/sms")
    assert notifier.send_batch([msg]) != [None]
    assert notifier.send_batch([msg]) == [None]
    assert notifier.send_batch([msg]) == [None]  # the reply was lost, say: sent once more
    assert (
        len(server.on("/sms")) == 3
        and server.accepted == 2
        and list(server.delivered) == ["<n1.a7@sunlight>"]
    )


def test_a_retried_webhook_carries_the_same_delivery_id(server: ChannelServer) -> None:
    notifier = WebhookNotifier(WebhookConfig(), {"SUNLIGHT_WEBHOOK_SECRET": SECRET}, clock=lambda: NOW)
    msgs = [message(f"webhook+{server.base}/hook", n) for n in (1, 2, 1)]
    assert notifier.send_batch(msgs) == [None, None, None]
    assert server.accepted == 3 and len(server.delivered) == 2


def test_the_receiver_snippet_in_the_docs_verifies_a_real_request(server: ChannelServer) -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "notifications.md").read_text()
    snippet = doc.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(snippet, namespace)
    notifier = WebhookNotifier(WebhookConfig(), {"SUNLIGHT_WEBHOOK_SECRET": SECRET})  # the real clock
    assert notifier.send_batch([message(f"webhook+{server.base}/hook")]) == [None]
    (req,) = server.on("/hook")
    headers = {
        "X-Sunlight-Timestamp": req.headers["x-sunlight-timestamp"],
        "X-Sunlight-Signature": req.headers["x-sunlight-signature"],
    }
    assert namespace["verified"](SECRET.encode(), headers, req.body)
    assert not namespace["verified"](SECRET.encode(), headers, req.body.replace(b"red", b"yellow"))


def test_sms_to_aliyun_signs_its_query_as_the_api_checks_it(server: ChannelServer) -> None:
    """Aliyun's SendSms: the template asks for `aliyun_query`, the notifier signs the query
    (HMAC-SHA1 over GET&%2F& and the sorted, encoded parameters) with the AccessKey from the
    environment; recomputed here from what the server received."""
    from urllib.parse import quote

    from tests.channel_servers import Reply

    url = (
        f"{server.base}/sms?{{{{ aliyun_query({{'PhoneNumbers': mobile_national, 'SignName': '阳光监察',"
        " 'TemplateCode': 'SMS_100001', 'TemplateParam': {'content': text} | json, 'OutId': message_id}) }}"
    )
    cfg = SmsGatewayConfig(url=url, method="GET", accepted={"field": "Code", "value": "OK"})
    env = {"SUNLIGHT_SMS_ACCESS_KEY_ID": "LTAI-test", "SUNLIGHT_SMS_ACCESS_KEY_SECRET": "secret-test"}
    notifier = SmsNotifier(cfg, env, clock=lambda: NOW)
    server.then(Reply(200, {"Code": "OK", "Message": "OK", "BizId": "1"}, path="/sms"))
    msg = message("sms:+8613800000001")
    assert notifier.send_batch([msg]) == [None]
    (req,) = server.on("/sms")
    q = dict(req.query)
    assert q["PhoneNumbers"] == "13800000001" and q["AccessKeyId"] == "LTAI-test"
    assert q["Action"] == "SendSms" and q["Version"] == "2017-05-25" and q["SignatureMethod"] == "HMAC-SHA1"
    assert q["Timestamp"] == "2026-02-25T06:13:20Z" and json.loads(q["TemplateParam"]) == {
        "content": msg.text
    }
    assert q["OutId"] == msg.message_id
    signature = q.pop("Signature")

    def enc(value: str) -> str:
        return quote(value, safe="~")

    canonical = "&".join(f"{enc(k)}={enc(v)}" for k, v in sorted(q.items()))
    expected = base64.b64encode(
        hmac.new(b"secret-test&", f"GET&%2F&{enc(canonical)}".encode(), hashlib.sha1).digest()
    ).decode()
    assert signature == expected
    with pytest.raises(ConfigError, match="SUNLIGHT_SMS_ACCESS_KEY_ID or SUNLIGHT_SMS_ACCESS_KEY_SECRET"):
        SmsNotifier(cfg, {}, clock=lambda: NOW)


def test_sms_to_tencent_cloud_carries_a_tc3_signature_of_the_body_as_sent(server: ChannelServer) -> None:
    """Tencent Cloud SMS (API 3.0): the Authorization header is TC3-HMAC-SHA256 over the
    canonical request (content-type, host, the body's SHA-256) with the key derived from the
    date, the service and tc3_request; recomputed here from what the server received."""
    from tests.channel_servers import Reply

    content_type = "application/json; charset=utf-8"
    cfg = SmsGatewayConfig(
        url=f"{server.base}/sms",
        content_type=content_type,
        headers={
            "X-TC-Action": "SendSms",
            "X-TC-Version": "2021-01-11",
            "X-TC-Timestamp": "{{ timestamp }}",
            "Authorization": "{{ tencent_authorization() }}",
        },
        body='{"PhoneNumberSet": [{{ mobile | json }}], "SmsSdkAppId": "1400000000", "SignName": "阳光监察",'
        ' "TemplateId": "100001", "TemplateParamSet": [{{ text | json }}],'
        ' "SessionContext": {{ message_id | json }}}',
        accepted={"field": "Response.SendStatusSet.0.Code", "value": "Ok"},
    )
    env = {"SUNLIGHT_SMS_ACCESS_KEY_ID": "AKID-test", "SUNLIGHT_SMS_ACCESS_KEY_SECRET": "key-test"}
    notifier = SmsNotifier(cfg, env, clock=lambda: NOW)
    server.then(Reply(200, {"Response": {"SendStatusSet": [{"Code": "Ok"}], "RequestId": "r"}}, path="/sms"))
    msg = message("sms:+8613800000001")
    assert notifier.send_batch([msg]) == [None]
    (req,) = server.on("/sms")
    assert req.json["PhoneNumberSet"] == ["+8613800000001"] and req.json["TemplateParamSet"] == [msg.text]
    stamp = req.headers["x-tc-timestamp"]
    assert stamp == str(int(NOW))
    host = f"127.0.0.1:{server.port}".split(":")[0]  # the URL's host, as the notifier signs it
    day = "2026-02-25"
    canonical = (
        f"POST\n/\n\ncontent-type:{content_type}\nhost:{host}\n\ncontent-type;host\n"
        + hashlib.sha256(req.body).hexdigest()
    )
    scope = f"{day}/127/tc3_request"
    to_sign = f"TC3-HMAC-SHA256\n{stamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"

    def mac(key: bytes, text: str) -> bytes:
        return hmac.new(key, text.encode(), hashlib.sha256).digest()

    signing = mac(mac(mac(b"TC3key-test", day), "127"), "tc3_request")
    expected = hmac.new(signing, to_sign.encode(), hashlib.sha256).hexdigest()
    assert req.headers["authorization"] == (
        f"TC3-HMAC-SHA256 Credential=AKID-test/{scope}, SignedHeaders=content-type;host, Signature={expected}"
    )
    server.then(
        Reply(200, {"Response": {"SendStatusSet": [{"Code": "LimitExceeded.PhoneNumberDailyLimit"}]}})
    )
    assert notifier.send_batch([msg])[0] is not None  # refused: not "Ok"
