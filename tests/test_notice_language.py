"""The notices of the demo data as a discipline-inspection officer reads them.

`sunlight demo --cases 1500` and one pass: every notice is in Chinese (no step kind, result,
category or attribute value as an English identifier; the rule id once, as a reference at
its foot), calls the party as the kind of power does, gives the amounts of a fee finding,
and never repeats its own title.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest
from sqlalchemy import select

from monitor.config import load_config
from monitor.demo import demo_records
from monitor.state.schema import alerts, case_state
from tests.conftest import Harness, bj, write_config

NOW = bj("2026-12-03 10:00")
IDENTIFIER = re.compile(r"(?<![A-Za-z0-9@._/-])[a-z][a-z0-9]*(?:_[a-z0-9]+)*(?![A-Za-z0-9@.-])")


@pytest.fixture(scope="module")
def notices(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str, str, str]]:
    """(body, rule id, item type, title) of every notice of one pass over the demo data."""
    folder = tmp_path_factory.mktemp("demo")
    h = Harness(load_config(write_config(folder, f"sqlite:///{folder / 'demo.db'}"), environ={}))
    try:
        h.load(*demo_records(NOW, cases=1500), now=NOW)
        h.poll(NOW)
        with h.app.state.connect() as conn:
            kinds = dict(conn.execute(select(case_state.c.case_id, case_state.c.item_type)).all())
            by_alert = {a.id: a for a in conn.execute(select(alerts))}
        out = []
        for n in h.notices():
            alert = by_alert[n.alert_id]
            out.append((n.body_text, alert.rule_id, kinds.get(alert.case_id) or "", alert.title))
        return out
    finally:
        h.app.dispose()


def _prose(body: str) -> list[str]:
    """The lines meant to be read: not the link, the mail addresses or the reference line."""
    return [line for line in body.splitlines() if "规则编号" not in line and "http" not in line]


def test_the_demo_raises_notices_of_every_sort(notices: list[tuple[str, str, str, str]]) -> None:
    rules = Counter(rule for _, rule, _, _ in notices)
    assert len(notices) > 300
    for wanted in (
        "fee.charged_differs_from_standard",
        "penalty.hearing_right_notified",
        "licensing.decide_within_promise",
    ):
        assert rules[wanted] > 0, rules
    assert {kind for _, _, kind, _ in notices} >= {"licensing", "penalty", "complaint"}


def test_no_english_identifier_in_the_text(notices: list[tuple[str, str, str, str]]) -> None:
    found = Counter()
    for body, rule, _, _ in notices:
        for line in _prose(body):
            for word in IDENTIFIER.findall(line):
                found[(word, line.strip()[:60])] += 1
        assert body.count(rule) == 1, body  # the reference number, once
    assert not found, found.most_common(10)


def test_the_party_is_named_as_the_kind_of_power_names_it(notices: list[tuple[str, str, str, str]]) -> None:
    labels = {"licensing": "申请人：", "penalty": "当事人：", "complaint": "投诉人："}
    for body, _, kind, _ in notices:
        if kind in labels:
            assert labels[kind] in body, body
        if kind in ("penalty", "complaint"):
            assert "申请人：" not in body


def test_a_fee_finding_gives_the_amounts(notices: list[tuple[str, str, str, str]]) -> None:
    fees = [body for body, rule, _, _ in notices if rule == "fee.charged_differs_from_standard"]
    assert fees
    for body in fees:
        assert re.search(r"实收[\d.]+元，职权目录收费标准为[\d.]+元", body), body


def test_no_finding_line_repeats_its_title(notices: list[tuple[str, str, str, str]]) -> None:
    for body, _, _, title in notices:
        said = next((line.strip() for line in body.splitlines() if line.strip().startswith("情况：")), "")
        assert not said.startswith(f"情况：{title}"), body
        assert f"{title}：{title}" not in body
        assert body.count(f"预警事项：{title}") == 1


def test_dates_are_written_as_official_documents_write_them(notices: list[tuple[str, str, str, str]]) -> None:
    for body, _, _, _ in notices:
        prose = "\n".join(_prose(body))
        assert not re.search(r"\d{4}-\d{2}-\d{2}", prose), prose
        assert not re.search(r"\d{1,2}:\d{2}", prose), prose
