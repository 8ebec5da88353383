"""Links to a case: the case number is percent-encoded whole, so no character of it can
change the link's path, query or fragment."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import pytest

from alerts.render import case_link
from tests.conftest import Harness, bj, case, event, item

TEMPLATE = "https://zwfw.example.gov.cn/cases/{case_id}?from=sunlight"


@pytest.mark.parametrize(
    ("case_id", "encoded"),
    [
        ("A/B", "A%2FB"),
        ("A?x=1", "A%3Fx%3D1"),
        ("A#top", "A%23top"),
        ("A B", "A%20B"),
        ("100%", "100%25"),
        ("市监许字〔2026〕1号", "%E5%B8%82%E7%9B%91%E8%AE%B8%E5%AD%97%E3%80%942026%E3%80%951%E5%8F%B7"),
        ("../../admin", "..%2F..%2Fadmin"),
    ],
)
def test_the_case_id_is_one_path_segment_of_the_link(case_id: str, encoded: str) -> None:
    link = case_link(TEMPLATE, case_id)
    assert link == f"https://zwfw.example.gov.cn/cases/{encoded}?from=sunlight"
    parts = urlsplit(link)
    assert parts.query == "from=sunlight" and parts.fragment == ""
    assert unquote(parts.path.rsplit("/", 1)[1]) == case_id


def test_a_notice_links_to_its_case_encoded(harness: Harness) -> None:
    cid = "京/2026?第#1 号%"
    harness.load(item(), case(cid), event(cid, "accepted", "2026-11-03 09:00"))
    harness.poll(bj("2026-11-23 10:00"))
    notices = harness.notices()
    assert notices
    quoted = "%E4%BA%AC%2F2026%3F%E7%AC%AC%231%20%E5%8F%B7%25"
    for n in notices:
        assert f"https://zwfw.example.gov.cn/cases/{quoted}" in n.body_text
        assert f'href="https://zwfw.example.gov.cn/cases/{quoted}"' in n.body_html
        assert "cases/京/" not in n.body_text + n.body_html
