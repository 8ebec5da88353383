"""Recipient addresses: each scheme parsed, everything else refused with a reason, and
every form masked for logs."""

from __future__ import annotations

import re

import pytest

from alerts.channels.address import CHANNELS, Address, is_address, masked, parse


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("zhang@example.gov.cn", Address("email", "zhang@example.gov.cn", "zhang@example.gov.cn")),
        (
            "张三 <zhang@example.gov.cn>",
            Address("email", "zhang@example.gov.cn", "张三 <zhang@example.gov.cn>"),
        ),
        (
            "mailto:zhang@example.gov.cn",
            Address("email", "zhang@example.gov.cn", "mailto:zhang@example.gov.cn"),
        ),
        ("sms:+8613800000000", Address("sms", "+8613800000000", "sms:+8613800000000")),
        ("sms:+85291234567", Address("sms", "+85291234567", "sms:+85291234567")),
        ("dingtalk://ab12cd34", Address("dingtalk", "ab12cd34", "dingtalk://ab12cd34")),
        (
            "dingtalk://SECxyz@ab12cd34",
            Address("dingtalk", "ab12cd34", "dingtalk://SECxyz@ab12cd34", secret="SECxyz"),
        ),
        (
            "dingtalk://user/manager4520",
            Address("dingtalk", "manager4520", "dingtalk://user/manager4520", user=True),
        ),
        ("wecom://693a91f6-7xxx", Address("wecom", "693a91f6-7xxx", "wecom://693a91f6-7xxx")),
        ("wecom://user/ZhangSan", Address("wecom", "ZhangSan", "wecom://user/ZhangSan", user=True)),
        ("feishu://0f1e2d3c", Address("feishu", "0f1e2d3c", "feishu://0f1e2d3c")),
        (
            "feishu://s3cr3t@0f1e2d3c",
            Address("feishu", "0f1e2d3c", "feishu://s3cr3t@0f1e2d3c", secret="s3cr3t"),
        ),
        ("feishu://user/ou_7d8a6e6df7621556ce0d21922b676706", None),
        ("webhook+https://oa.example.gov.cn/hooks/sunlight", None),
        ("webhook+http://127.0.0.1:8080/in", None),
    ],
)
def test_each_scheme_parses(raw: str, expected: Address | None) -> None:
    address = parse(raw)
    assert address.channel in CHANNELS
    assert address.raw == raw
    assert is_address(raw)
    if expected is not None:
        assert address == expected


def test_webhook_target_is_the_url_without_prefix() -> None:
    assert parse("webhook+https://oa.example.gov.cn/h?x=1").target == "https://oa.example.gov.cn/h?x=1"
    assert parse("webhook+http://127.0.0.1:8080/in").target == "http://127.0.0.1:8080/in"
    feishu_user = parse("feishu://user/ou_7d8a")
    assert (feishu_user.channel, feishu_user.target, feishu_user.user) == ("feishu", "ou_7d8a", True)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("slack://T000/B000/XXX", "unknown recipient scheme 'slack'"),
        ("xmpp://jc@example.gov.cn", "unknown recipient scheme 'xmpp'"),
        ("telegram:123", "unknown recipient scheme 'telegram'"),
        ("", "empty recipient"),
        ("sms:13800000000", "E.164"),
        ("sms:+86138000000", "11 digits"),
        ("sms:+8623800000000", "11 digits"),
        ("sms:+123", "E.164"),
        ("sms:+8613800000000\n", "control character"),
        (" zhang@example.gov.cn", "whitespace"),
        ("zhang@", "not an e-mail address"),
        ("mailto:zhang@example.gov.cn?subject=x", "no ?query"),
        ("dingtalk://", "letters, digits"),
        ("dingtalk://to/ken", "letters, digits"),
        ("dingtalk://user/", "user id"),
        ("wecom://sec@key", "take no secret"),
        ("feishu://tok en", "whitespace"),
        ("webhook+https://user:pw@oa.example.gov.cn/h", "no user:password"),
        ("webhook+https:///path", "needs a host"),
        ("webhook+https://h:99999/x", "port"),
        ("webhook+ftp://h/x", "unknown recipient scheme 'webhook+ftp'"),
    ],
)
def test_bad_addresses_are_refused_with_a_reason(raw: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        parse(raw)
    assert not is_address(raw)


def test_unknown_scheme_lists_what_is_accepted() -> None:
    with pytest.raises(ValueError) as caught:
        parse("slack://T000/B000/XXX")
    text = str(caught.value)
    assert "sms:+8613800000000" in text and "webhook+https://host/path" in text
    assert "XXX" not in text  # the value itself is masked


def test_errors_do_not_repeat_the_number_or_token() -> None:
    for raw, secret in [("sms:+86238000012345", "238000012345"), ("dingtalk://to/kensecret", "kensecret")]:
        with pytest.raises(ValueError) as caught:
            parse(raw)
        assert secret not in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("sms:+8613800000000", "sms:+86138****0000"),
        ("dingtalk://ab12cd34ef", "dingtalk://ab12…"),
        ("dingtalk://SECret@ab12cd34ef", "dingtalk://ab12…"),
        ("dingtalk://user/manager4520", "dingtalk://user/ma…"),
        ("wecom://693a91f6-7xxx", "wecom://693a…"),
        ("feishu://s3cr3t@0f1e2d3c", "feishu://0f1e…"),
        ("webhook+https://oa.example.gov.cn/hooks/key123", "webhook+https://oa.example.gov.cn/…"),
        ("zhang@example.gov.cn", "z***@example.gov.cn"),
        ("张三 <zhang@example.gov.cn>", "z***@example.gov.cn"),
    ],
)
def test_masked(raw: str, shown: str) -> None:
    assert masked(raw) == shown
    assert masked(parse(raw)) == shown
    assert str(parse(raw)) == shown


def test_masked_unparseable_values_hide_their_body() -> None:
    assert masked("slack://T000/B000/XXX") == "slack://…"
    assert "00000" not in masked("sms:+8613800000")
