"""Notice content from Jinja2 templates: strict, autoescaped, personal data masked."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from alerts.notify.headers import clean
from monitor.vocabulary import CATEGORY_NAMES

TEMPLATES = Path(__file__).parent / "templates"

LEVEL_NAMES = {"yellow": "黄牌预警", "red": "红牌"}
TEMPLATE_NAMES = frozenset(
    {"notice", "supervision_issued", "supervision_replied", "supervision_ruled", "supervision_overdue"}
)


def mask_id(value: str | None) -> str:
    """身份证 110101199001011234 -> 110101********1234."""
    if not value:
        return "—"
    if len(value) <= 10:
        return value[:2] + "*" * max(len(value) - 4, 1) + value[-2:]
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str | None) -> str:
    """Phone 13812348000 -> 138****8000."""
    if not value:
        return "—"
    digits = re.sub(r"\D", "", value)
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_name(value: str | None) -> str:
    """张三丰 -> 张**; an organisation's name (longer than four characters) is public."""
    if not value:
        return "—"
    if len(value) > 4:
        return value
    return value[0] + "*" * (len(value) - 1)


ADDRESS = re.compile(r"[^\s<>()\[\],;:\"']+@[^\s<>()\[\],;:\"']+")


def mask_address(value: str) -> str:
    """j.wang@example.gov.cn -> j***@example.gov.cn: enough to tell routes apart in a log."""
    local, at, domain = value.rpartition("@")
    if not at:
        return "*" * min(len(value), 3) or "—"
    return f"{local[:1]}***@{domain}"


def mask_addresses(text: str) -> str:
    """Every address in `text` (an SMTP server's reply quotes the recipient) masked."""
    return ADDRESS.sub(lambda m: mask_address(m.group(0)), text)


def one_line(value: str) -> str:
    """One line of text for a subject: no control character, line or paragraph separator."""
    return clean(value)


def case_link(template: str, case_id: str) -> str:
    """`notify.case_url` for one case; the id is percent-encoded whole, so a `/`, `?` or `#`
    in it stays part of the id instead of changing the path, query or fragment."""
    return template.format(case_id=quote(case_id, safe=""))


def console_link(base_url: str, case_id: str) -> str:
    """The case's page in the console (`web.base_url`): a plain address, no credential in
    it; the console asks for a sign-in and then opens the page."""
    return f"{base_url.rstrip('/')}/cases/{quote(case_id, safe='')}"


@cache
def _env(autoescape: bool) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        # Subject and plain text are not HTML: escaping would show &lt; to the reader.
        autoescape=select_autoescape(["html.j2"]) if autoescape else False,  # noqa: S701
        keep_trailing_newline=True,
        # The templates ship with the package: no need to look at the files at every notice
        # (a first start renders tens of thousands).
        auto_reload=False,
    )
    env.filters.update(mask_id=mask_id, mask_phone=mask_phone, mask_name=mask_name)
    return env


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str


def render_notice(context: dict[str, Any]) -> Rendered:
    """Subject, plain text and HTML of one notice; a missing variable is an error."""
    ctx = dict(context)
    ctx.setdefault("level_name", LEVEL_NAMES.get(str(ctx.get("level")), str(ctx.get("level"))))
    ctx.setdefault("category_name", CATEGORY_NAMES.get(str(ctx.get("category")), str(ctx.get("category"))))
    ctx.setdefault("console_link", "")  # notices queued before the console have none
    # A 督办's notices (alerts.supervision.notices) name their own templates.
    name = str(ctx.get("template", "notice"))
    if name not in TEMPLATE_NAMES:
        raise ValueError(f"notice template {name!r} is not one of {sorted(TEMPLATE_NAMES)}")
    subject = one_line(_env(False).get_template(f"{name}_subject.txt.j2").render(ctx))[:500]
    ctx["subject"] = subject
    text = _env(False).get_template(f"{name}.txt.j2").render(ctx)
    html = _env(True).get_template(f"{name}.html.j2").render(ctx)
    return Rendered(subject, text, html)


class WithContent:
    """A notice row with its subject and bodies: as stored, or rendered from its context
    (a notice a pass queued, not yet sent); every other column is the row's."""

    __slots__ = ("_row", "body_html", "body_text", "rendered_now", "subject")

    def __init__(self, row: Any) -> None:
        self._row = row
        context: str | None = getattr(row, "context", None)
        self.rendered_now = context is not None and not row.body_text
        if context is not None and self.rendered_now:
            content = render_notice(json.loads(context))
            self.subject, self.body_text, self.body_html = content.subject, content.text, content.html
        else:
            self.subject, self.body_text, self.body_html = row.subject, row.body_text, row.body_html

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, name)


def with_content(row: Any) -> WithContent:
    """`row` with what it says; renders a notice queued by a pass (raises as rendering does:
    the caller sets that notice aside)."""
    return row if isinstance(row, WithContent) else WithContent(row)


def render_digest(context: dict[str, Any]) -> Rendered:
    """One digest of several notices for one recipient."""
    subject = one_line(_env(False).get_template("digest_subject.txt.j2").render(context))[:500]
    ctx = {**context, "subject": subject}
    return Rendered(
        subject,
        _env(False).get_template("digest.txt.j2").render(ctx),
        _env(True).get_template("digest.html.j2").render(ctx),
    )


def render_report(context: dict[str, Any]) -> Rendered:
    """The monthly performance table as a mail: subject and HTML (text is built by the caller)."""
    subject = one_line(_env(False).get_template("report_subject.txt.j2").render(context))[:500]
    html = _env(True).get_template("report.html.j2").render({**context, "subject": subject})
    return Rendered(subject, "", html)
