"""A queued notice's context rendered for one channel: a ≤70-character SMS sentence, each
robot service's markdown, or the webhook's JSON body ("sunlight.notice/1").

Data values are made harmless before a template sees them: in markdown every character the
services give a meaning to (`*_[]#>` `<` for <font>/<at> tags, …) is replaced by its
full-width twin, since none of the three services documents a backslash escape, and links are
percent-encoded so that a `)` cannot end them. Applicant data never reaches the SMS template
or the webhook body: those keys are not in their context at all.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, TemplateError, meta

from alerts.channels.address import Address
from monitor.vocabulary import CATEGORY_NAMES

SHIPPED = Path(__file__).parent / "templates"
FILES = {"sms": "sms.txt.j2", "dingtalk": "dingtalk.md.j2", "wecom": "wecom.md.j2", "feishu": "feishu.md.j2"}
SMS_LIMIT = 70  # one UCS-2 segment: a longer text is split and may arrive in pieces, or cost double
DIGEST_LINES = 10
SCHEMA = "sunlight.notice/1"

LEVEL_NAMES = {"yellow": "黄牌预警", "red": "红牌预警"}
KIND_NOTES = {
    "escalated": "（由黄牌升级为红牌）",
    "reopened": "（再次出现）",
    "reminder": "（尚未处理，再次提醒）",
    "above": "（报上级）",
    "ladder": "（逐级报送）",
}
SMS_KIND_NOTES = {
    "escalated": "（升级）",
    "reopened": "（再现）",
    "reminder": "（再提醒）",
    "above": "（报上级）",
}
PERSONAL = frozenset(
    {"applicant_name", "applicant_id", "applicant_phone", "party_label", "recipient_greeting"}
)
LINKS = ("case_link", "console_link", "short_link")
# Keys a notice may lack (a digest has no case; `short_link` and `waited` are newer): absent,
# they are empty rather than an error. A name no context has still fails (StrictUndefined).
OPTIONAL: Mapping[str, Any] = {
    "alert_id": "",
    "level": "",
    "category": "",
    "rule_id": "",
    "title": "",
    "message": "",
    "basis": "",
    "due": "",
    "case_id": "",
    "item_code": "",
    "item_name": "",
    "department": "",
    "case_link": "",
    "console_link": "",
    "short_link": "",
    "waited": None,
    "ladder_note": "",  # why a ladder rung's recipient hears of it (alerts.ladder), a sentence
    "reds": 0,  # of a digest: how many of its notices are reds
    "count": 0,
    "lines": (),
}
_MARKDOWN = str.maketrans(
    {
        "*": "＊",
        "_": "＿",
        "`": "｀",
        "[": "［",
        "]": "］",
        "#": "＃",
        ">": "＞",
        "<": "＜",
        "|": "｜",
        "~": "～",
        "\\": "＼",
        "\n": " ",
        "\r": " ",
        "\t": " ",
    }
)


@dataclass(frozen=True, slots=True)
class ChannelMessage:
    address: Address
    message_id: str  # the notice's stable Message-ID: the idempotency key
    title: str
    text: str  # the body in the channel's own format
    data: Mapping[str, Any]  # the facts, for the webhook's JSON body


class Templates:
    """The shipped templates (alerts/channels/templates/), each replaceable by a file of the
    same name in `folder`."""

    def __init__(self, folder: Path | None = None) -> None:
        if folder is not None and not folder.is_dir():
            raise ValueError(f"channels.templates: {folder} is not a folder")
        loaders = [FileSystemLoader(folder)] if folder else []
        self.folder = folder
        self.env = Environment(
            loader=ChoiceLoader([*loaders, FileSystemLoader(SHIPPED)]),
            undefined=StrictUndefined,
            autoescape=False,  # noqa: S701 - text and markdown; values are escaped in `_markdown_context`
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def render(self, context: Mapping[str, Any], address: Address, message_id: str) -> ChannelMessage:
        facts = _facts(context)
        title = _title(facts)
        if address.channel == "webhook":
            data = notice_body(facts, message_id)
            text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
            return ChannelMessage(address, message_id, title, text, data)
        if address.channel == "sms":
            text = self._sms(facts)
        elif address.channel in FILES:
            text = fit(
                self._render(FILES[address.channel], _markdown_context(facts)).strip(), address.channel
            )
        else:
            raise ValueError(
                f"no channel template for {address.channel!r} (e-mail is rendered by alerts.render)"
            )
        return ChannelMessage(address, message_id, title, text, notice_body(facts, message_id))

    def check(self) -> list[str]:
        """Every template's problems: syntax, a sample render of each kind, an SMS that cannot
        be made to fit 70 characters, an SMS template that reads personal data."""
        problems: list[str] = []
        for channel, name in FILES.items():
            try:
                source = self.env.loader.get_source(self.env, name)[0]  # type: ignore[union-attr]
                names = meta.find_undeclared_variables(self.env.parse(source))
            except TemplateError as exc:
                problems.append(f"{self._where(name)}: {_describe(exc)}")
                continue
            if channel == "sms" and (personal := sorted(names & PERSONAL)):
                problems.append(
                    f"{self._where(name)}: an SMS must not carry personal data ({', '.join(personal)})"
                )
                continue
            for sample in SAMPLES:
                try:
                    if channel == "sms":
                        shortest = self._render(name, _sms_context({**_facts(sample), "title": "…"}))
                        if len(_one_line(shortest)) > SMS_LIMIT:
                            problems.append(
                                f"{self._where(name)}: {len(_one_line(shortest))} characters even with a "
                                f"one-character title (kind {sample['kind']}); an SMS is at most {SMS_LIMIT}"
                            )
                    else:
                        self._render(name, _markdown_context(_facts(sample)))
                except TemplateError as exc:
                    problems.append(f"{self._where(name)}: sample {sample['kind']}: {_describe(exc)}")
        return problems

    def _render(self, name: str, context: Mapping[str, Any]) -> str:
        try:
            return self.env.get_template(name).render(context)
        except TemplateError as exc:
            raise ValueError(f"{self._where(name)}: {_describe(exc)}") from exc

    def _where(self, name: str) -> str:
        if self.folder is not None and (self.folder / name).is_file():
            return str(self.folder / name)
        return f"shipped template {name}"

    def _sms(self, facts: Mapping[str, Any]) -> str:
        """One line of at most 70 characters: the title gives way first, then the case number
        (its tail kept), and the link is never cut."""
        values = _sms_context(facts)
        text = _one_line(self._render(FILES["sms"], values))
        for key, keep_tail in (("title", False), ("case_id", True)):
            value = str(values.get(key, ""))
            while len(text) > SMS_LIMIT and value and value != "…":
                keep = max(len(value) - (len(text) - SMS_LIMIT) - 1, 0)
                value = ("…" + value[len(value) - keep :]) if keep_tail else (value[:keep] + "…")
                if keep == 0:
                    value = "…"
                values = {**values, key: value}
                text = _one_line(self._render(FILES["sms"], values))
        if len(text) > SMS_LIMIT:
            # A city's template too long for any title: keep the link whole, cut what is before it.
            link = str(values.get("short_link") or "")
            head = text[: -len(link)].rstrip() if link and text.endswith(link) else text
            room = SMS_LIMIT - (len(link) + 1 if link and text.endswith(link) else 0) - 1
            text = head[: max(room, 0)] + "…" + (f" {link}" if link and text.endswith(link) else "")
        return text


def feishu_card(message: ChannelMessage) -> dict[str, Any]:
    """An interactive card: the headline in a red or yellow header, the body in a markdown element."""
    colour = {"red": "red", "yellow": "yellow"}.get(str(message.data.get("level")), "blue")
    return {
        "config": {"wide_screen_mode": True},
        "header": {"title": {"tag": "plain_text", "content": message.title}, "template": colour},
        "elements": [{"tag": "markdown", "content": message.text}],
    }


def notice_body(facts: Mapping[str, Any], message_id: str) -> dict[str, Any]:
    """The webhook's JSON object (docs/notifications.md): the facts of the notice, links, and
    no applicant data."""
    body: dict[str, Any] = {
        "schema": SCHEMA,
        "message_id": message_id,
        "kind": facts["kind"],
        "level": facts["level"],
        "category": facts["category"],
        "rule_id": facts["rule_id"],
        "title": facts["title"],
        "message": facts["message"],
        "due": facts["due"],
        "case_id": facts["case_id"],
        "item_code": facts["item_code"],
        "item_name": facts["item_name"],
        "department": facts["department"],
        "alert_id": facts["alert_id"],
        "links": {
            "case": facts["case_link"],
            "console": facts["console_link"],
            "short": facts["short_link"],
        },
    }
    if facts["waited"] is not None:
        body["waited"] = facts["waited"]
    if facts["kind"] == "digest":
        body["count"] = facts["count"]
        body["lines"] = list(facts["lines"])
    return body


def _facts(context: Mapping[str, Any]) -> dict[str, Any]:
    facts = {**OPTIONAL, **context}
    facts["kind"] = str(context.get("kind") or context.get("action") or "raised")
    facts["level_name"] = LEVEL_NAMES.get(str(facts["level"]), "预警")
    facts["kind_note"] = KIND_NOTES.get(facts["kind"], "")
    facts["category_name"] = CATEGORY_NAMES.get(str(facts["category"]), str(facts["category"]))
    facts["lines"] = tuple(str(line) for line in facts["lines"] or ())
    facts["count"] = int(facts["count"] or len(facts["lines"]))
    facts["digest_lines"] = facts["lines"][:DIGEST_LINES]
    return facts


def _title(facts: Mapping[str, Any]) -> str:
    """The plain-text headline: a card's header, a notification's preview."""
    if facts["kind"] == "digest":
        reds = int(facts["reds"] or 0)
        return f"预警汇总：{facts['count']}条待处理" + (f"（红牌{reds}条）" if reds else "")
    return _one_line(f"{facts['level_name']}{facts['kind_note']}：{facts['title']}")


def _sms_context(facts: Mapping[str, Any]) -> dict[str, Any]:
    values = {k: _one_line(v) if isinstance(v, str) else v for k, v in facts.items() if k not in PERSONAL}
    values["kind_note"] = SMS_KIND_NOTES.get(str(facts["kind"]), "")
    values["short_link"] = _link(str(facts["short_link"]))
    return values


def _markdown_context(facts: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in facts.items():
        if key in LINKS:
            values[key] = _link(str(value))
        elif isinstance(value, str):
            values[key] = value.translate(_MARKDOWN)
        elif isinstance(value, tuple):
            values[key] = tuple(str(v).translate(_MARKDOWN) for v in value)
        else:
            values[key] = value
    return values


def _link(url: str) -> str:
    """An http(s) link made safe inside markdown's (…) and in an SMS; anything else is dropped."""
    if not url or urlsplit(url).scheme not in ("http", "https"):
        return ""
    return quote(url, safe=":/?#@!$&*+,;=%~-._")


def _one_line(value: str) -> str:
    return " ".join(value.split())


# What each service takes in one message, in UTF-8 bytes: WeCom's markdown `content` 4096;
# DingTalk's and Feishu's bodies about 20,000, less what the JSON around the text takes.
MAX_BYTES = {"wecom": 4096, "dingtalk": 18000, "feishu": 18000}
CUT = "\n\n……（内容过长，已截断；完整内容请在电子监察平台查看）"


def fit(text: str, channel: str) -> str:
    """`text` within the service's size, cut at a line and said to be cut, its last line kept
    when it holds the links (the cards end with them): a message the service would refuse
    for its size is a notice lost."""
    limit = MAX_BYTES.get(channel)
    if limit is None or len(text.encode()) <= limit:
        return text
    lines = text.split("\n")
    tail = lines.pop() if "](" in lines[-1] else ""
    ending = CUT + ("\n\n" + tail if tail else "")
    room = limit - len(ending.encode())
    kept: list[str] = []
    used = 0
    for line in lines:
        size = len(line.encode()) + 1
        if used + size > room:
            break
        kept.append(line)
        used += size
    if not kept:  # one line longer than the limit: cut inside it, on a character
        kept = [text.encode()[:room].decode(errors="ignore")]
    return "\n".join(kept) + ending


def _describe(exc: TemplateError) -> str:
    line = getattr(exc, "lineno", None)
    return f"line {line}: {exc.message}" if line else str(exc.message)


_SAMPLE: dict[str, Any] = {
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
    "alert_id": 1,
    "case_link": "https://zwfw.example.gov.cn/cases/XK-2026-000123",
    "console_link": "https://jc.example.gov.cn/cases/XK-2026-000123",
    "short_link": "https://jc.gov.cn/s/123",
    "waited": 9,
}
SAMPLES: tuple[Mapping[str, Any], ...] = (
    {**_SAMPLE, "kind": "raised", "level": "yellow"},
    {**_SAMPLE, "kind": "escalated"},
    {**_SAMPLE, "kind": "reminder"},
    {**_SAMPLE, "kind": "ladder"},
    {
        **{k: v for k, v in _SAMPLE.items() if k not in ("case_id", "title", "message")},
        "kind": "digest",
        "count": 12,
        "lines": [f"红牌 XK-2026-{i:06d} 超过承诺时限未作出决定" for i in range(12)],
    },
)
