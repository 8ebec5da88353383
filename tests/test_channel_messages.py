"""Rendering for the channels: the SMS sentence fits 70 characters and carries no personal
data, markdown values cannot format themselves, the webhook body follows its schema, a
digest lists ten lines and the count, and a city's templates override the shipped ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from alerts.channels.address import parse
from alerts.channels.messages import SCHEMA, SMS_LIMIT, Templates

CONTEXT: dict[str, Any] = {
    "action": "raised",
    "alert_id": 7,
    "level": "red",
    "category": "time_limit",
    "rule_id": "licensing.decide_in_time",
    "title": "超过承诺时限未作出决定",
    "message": "承诺时限7个工作日，已用9个工作日",
    "basis": "《中华人民共和国行政许可法》第四十二条",
    "due": "2026年3月2日",
    "case_id": "XK-2026-000123",
    "item_code": "330100-XK-001",
    "item_name": "食品经营许可",
    "department": "市市场监督管理局",
    "party_label": "申请人",
    "applicant_name": "王**",
    "applicant_id": "110101********1234",
    "applicant_phone": "139****8000",
    "case_link": "https://zwfw.example.gov.cn/cases/XK-2026-000123",
    "console_link": "https://jc.example.gov.cn/cases/XK-2026-000123",
    "short_link": "https://jc.gov.cn/s/123",
    "timeline": "…",
    "evidence": None,
}
SMS = parse("sms:+8613800000000")


def render(address: str, **changes: Any) -> Any:
    return Templates().render({**CONTEXT, **changes}, parse(address), "<n7.a1@sunlight>")


def test_sms_is_one_sentence_with_level_case_title_due_and_link() -> None:
    text = Templates().render(CONTEXT, SMS, "<m>").text
    assert (
        text == "红牌预警：XK-2026-000123「超过承诺时限未作出决定」，期限2026年3月2日 https://jc.gov.cn/s/123"
    )
    assert len(text) <= SMS_LIMIT and "\n" not in text


def test_sms_long_title_is_shortened_and_the_link_kept_whole() -> None:
    text = render(
        "sms:+8613800000000",
        title="申请材料齐全符合法定形式但超过法定期限与承诺期限仍未作出准予许可或不予许可的书面决定",
    ).text
    assert len(text) == SMS_LIMIT
    assert "…」" in text and text.endswith(" https://jc.gov.cn/s/123")
    assert "XK-2026-000123" in text


def test_sms_long_title_and_long_case_number_still_fit() -> None:
    long_case = "ZJ-HZ-XC-SCJGJ-XK-2026-03-0000001234567"
    text = render(
        "sms:+8613800000000", title="超过承诺时限未作出决定" * 3, case_id=long_case, action="escalated"
    ).text
    assert len(text) <= SMS_LIMIT
    assert text.endswith("https://jc.gov.cn/s/123")
    assert "1234567" in text  # the case number's tail, which tells cases apart, survives
    assert text.startswith("红牌预警（升级）：")


def test_sms_without_due_or_link() -> None:
    text = render("sms:+8613800000000", due="", short_link="").text
    assert text == "红牌预警：XK-2026-000123「超过承诺时限未作出决定」"


def test_sms_carries_no_personal_data() -> None:
    text = Templates().render(CONTEXT, SMS, "<m>").text
    for value in ("王", "1234", "8000", "申请人", "13800000000"):
        assert value not in text


def test_sms_template_reading_personal_data_fails_and_is_reported(tmp_path: Path) -> None:
    (tmp_path / "sms.txt.j2").write_text("{{ level_name }} {{ case_id }} {{ applicant_phone }}")
    templates = Templates(tmp_path)
    with pytest.raises(ValueError, match="applicant_phone"):
        templates.render(CONTEXT, SMS, "<m>")
    problems = templates.check()
    assert any("personal data (applicant_phone)" in p and str(tmp_path) in p for p in problems)


def test_check_passes_for_the_shipped_templates() -> None:
    assert Templates().check() == []


def test_check_reports_syntax_and_an_sms_that_cannot_fit(tmp_path: Path) -> None:
    (tmp_path / "dingtalk.md.j2").write_text("{% if kind %}unclosed")
    (tmp_path / "sms.txt.j2").write_text("阳光监察电子监察系统提醒您：" * 6 + "{{ title }}")
    problems = Templates(tmp_path).check()
    assert any("dingtalk.md.j2" in p and "line 1" in p for p in problems)
    assert any("sms.txt.j2" in p and "at most 70" in p for p in problems)


def test_sms_over_long_template_is_still_cut_to_70_with_the_link(tmp_path: Path) -> None:
    (tmp_path / "sms.txt.j2").write_text("阳光监察电子监察系统提醒您：" * 6 + "{{ title }} {{ short_link }}")
    text = Templates(tmp_path).render(CONTEXT, SMS, "<m>").text
    assert len(text) == SMS_LIMIT and text.endswith(" https://jc.gov.cn/s/123")


def test_override_folder_replaces_only_its_own_files(tmp_path: Path) -> None:
    (tmp_path / "wecom.md.j2").write_text("本市：{{ case_id }}")
    templates = Templates(tmp_path)
    assert templates.render(CONTEXT, parse("wecom://k"), "<m>").text == "本市：XK-2026-000123"
    assert "承办单位" in templates.render(CONTEXT, parse("dingtalk://t"), "<m>").text


def test_missing_override_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a folder"):
        Templates(tmp_path / "nope")


@pytest.mark.parametrize("address", ["dingtalk://t", "wecom://k", "feishu://t"])
def test_markdown_card_has_the_facts_and_links(address: str) -> None:
    message = render(address, waited=9)
    for fact in (
        "市市场监督管理局",
        "食品经营许可",
        "330100-XK-001",
        "XK-2026-000123",
        "承诺时限7个工作日",
        "2026年3月2日",
    ):
        assert fact in message.text
    # Said as how long it has gone unacknowledged (what `waited` counts), never as time worked.
    assert "已9个工作日" in message.text.replace("**", "") and "未确认处理" in message.text
    assert "(https://zwfw.example.gov.cn/cases/XK-2026-000123)" in message.text
    assert "(https://jc.example.gov.cn/cases/XK-2026-000123)" in message.text
    assert message.title == "红牌预警：超过承诺时限未作出决定"
    assert "王**" not in message.text and "139" not in message.text


def test_wecom_red_is_in_warning_colour_and_yellow_is_not() -> None:
    assert '<font color="warning">红牌预警</font>' in render("wecom://k").text
    assert '<font color="warning">黄牌预警' not in render("wecom://k", level="yellow").text


@pytest.mark.parametrize("address", ["dingtalk://t", "wecom://k", "feishu://t"])
def test_markdown_characters_in_data_cannot_format_or_open_tags(address: str) -> None:
    hostile = '**粗** [点我](https://evil.example/) <font color="info">绿</font> # 标题\n> 引用 `x` _y_'
    text = render(address, title=hostile, message=hostile, department=hostile, case_id="A_1_B*").text
    assert "](https://evil" not in text  # no link of its own
    for bad in ("**粗**", "[点我]", '<font color="info">', "\n> 引用", "`x`", "_y_", "A_1_B*"):
        assert bad not in text
    assert "＊＊粗＊＊" in text and "A＿1＿B＊" in text


def test_links_cannot_break_out_of_markdown() -> None:
    text = render(
        "dingtalk://t", case_link="https://h/cases/a) [x](https://evil", console_link="javascript:alert(1)"
    ).text
    assert "(https://h/cases/a%29%20%5Bx%5D%28https://evil)" in text
    assert "javascript" not in text


@pytest.mark.parametrize(
    ("kind", "note"),
    [
        ("escalated", "由黄牌升级为红牌"),
        ("reopened", "再次出现"),
        ("reminder", "再次提醒"),
        ("above", "报上级"),
        ("ladder", "逐级报送"),
    ],
)
def test_kinds_are_told(kind: str, note: str) -> None:
    assert note in render("dingtalk://t", kind=kind).title
    assert note in render("wecom://k", kind=kind).text


DIGEST = {
    "kind": "digest",
    "department": "市市场监督管理局",
    "count": 23,
    "lines": [f"红牌 XK-{i:04d} 超过承诺时限" for i in range(23)],
    "console_link": "https://jc.example.gov.cn/alerts",
    "short_link": "https://jc.gov.cn/s/9",
}


@pytest.mark.parametrize("address", ["dingtalk://t", "wecom://k", "feishu://t"])
def test_digest_lists_ten_lines_and_the_count(address: str) -> None:
    message = Templates().render(DIGEST, parse(address), "<d>")
    assert "XK-0009" in message.text and "XK-0010" not in message.text
    assert "等23条" in message.text
    assert message.title == "预警汇总：23条待处理"


def test_digest_sms_and_webhook() -> None:
    sms = Templates().render(DIGEST, SMS, "<d>").text
    assert sms == "阳光监察：市市场监督管理局有23条预警待处理，详见 https://jc.gov.cn/s/9"
    body = Templates().render(DIGEST, parse("webhook+https://h/x"), "<d>").data
    assert body["kind"] == "digest" and body["count"] == 23 and len(body["lines"]) == 23


def test_webhook_body_follows_the_schema_without_personal_data() -> None:
    message = render("webhook+https://oa.example.gov.cn/h", waited=4)
    body = json.loads(message.text)
    assert body == message.data
    assert set(body) == {
        "schema", "message_id", "kind", "level", "category", "rule_id", "title", "message", "due",
        "case_id", "item_code", "item_name", "department", "alert_id", "links", "waited",
    }  # fmt: skip
    assert body["schema"] == SCHEMA and body["message_id"] == "<n7.a1@sunlight>"
    assert body["kind"] == "raised" and body["level"] == "red" and body["alert_id"] == 7
    assert body["links"] == {
        "case": "https://zwfw.example.gov.cn/cases/XK-2026-000123",
        "console": "https://jc.example.gov.cn/cases/XK-2026-000123",
        "short": "https://jc.gov.cn/s/123",
    }
    assert "王**" not in message.text and "110101" not in message.text and "139****" not in message.text
    assert message.text.isascii() is False and ", " not in message.text  # UTF-8, compact


def test_email_is_not_rendered_here() -> None:
    with pytest.raises(ValueError, match=r"alerts\.render"):
        render("zhang@example.gov.cn")


@pytest.mark.parametrize(
    ("address", "limit"), [("wecom://k", 4096), ("dingtalk://t", 18000), ("feishu://t", 18000)]
)
def test_a_card_too_long_for_its_service_is_cut_at_a_line_and_says_so(address: str, limit: int) -> None:
    long = "；".join(f"第{i}项情况说明：承诺时限已过，尚未作出决定" for i in range(2000))
    message = render(address, message=long)
    assert len(message.text.encode()) <= limit
    assert "（内容过长，已截断；完整内容请在电子监察平台查看）" in message.text
    assert "XK-2026-000123" in message.text  # the facts before the long part are kept
    assert "https://jc.example.gov.cn/cases/XK-2026-000123" in message.text  # and the links after it
    short = render(address)
    assert "截断" not in short.text
