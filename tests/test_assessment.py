"""The monthly assessment (绩效评估): the scoring scheme, scores, ranks and their publication."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from monitor.assessment.figures import Tally
from monitor.assessment.scheme import Scheme, load_scheme
from monitor.assessment.score import ranked, score_of
from monitor.errors import RuleError
from tests.conftest import BJ, RULES, Harness, bj, case, event, item
from tests.test_cli import sunlight

SCHEME = load_scheme(RULES / "assessment" / "scheme.yaml")


def _closed(case_id: str, accepted: str, decided: str, *, disclosed: bool = True) -> list[dict[str, object]]:
    out = [
        case(case_id),
        event(case_id, "accepted", f"{accepted} 09:00"),
        event(case_id, "decided", f"{decided} 15:00", result="approved"),
        event(case_id, "delivered", f"{decided} 16:00"),
    ]
    if disclosed:
        out.append(event(case_id, "disclosed", f"{decided} 16:30", what="decision"))
    out.append(event(case_id, "closed", f"{decided} 17:00"))
    return out


def test_the_shipped_scheme_loads_and_its_weights_fit_the_base() -> None:
    assert SCHEME.base == 100
    assert [i.id for i in SCHEME.indicators] == [
        "on_time",
        "early",
        "overdue",
        "red_cards",
        "yellow_cards",
        "disclosed_on_time",
        "replied_on_time",
        "complaints_on_time",
    ]


RATE = "title: x\nindicators:\n  - kind: rate\n    id: a\n    name: 甲\n    measure: on_time\n"
COUNT = "  - kind: count\n    id: a\n    name: 甲\n    count: red\n    points_each: 1\n"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (RATE + "    weight: 5\n    wieght: 3\n", ":8:5: unknown key `wieght`"),
        ("base: 10\n" + RATE + "    weight: 50\n", "the rate weights (50) exceed the base score (10)"),
        ("title: x\nindicators:\n" + COUNT + COUNT, "indicator ids must be unique: a"),
        ("title: x\nindicators:\n  - kind: ratio\n    id: a\n", ":3:5: `kind` must be rate or count"),
        ("title: x\nindicators:\n" + COUNT + "    categories: [timelimit]\n", ":8:18: Input should be"),
        ("title: [x\n", ":2:1: not valid YAML"),
    ],
)
def test_a_bad_scheme_is_refused_naming_file_line_and_column(
    tmp_path: Path, body: str, expected: str
) -> None:
    path = tmp_path / "scheme.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(RuleError) as caught:
        load_scheme(path)
    problems = caught.value.problems
    assert any(expected in p and p.startswith(str(path)) for p in problems), problems


def test_scores_take_weighted_rates_and_capped_counts_off_the_base() -> None:
    red = Counter({"time_limit": 2, "procedure": 20})
    yellow = Counter({"data_quality": 4, "time_limit": 3})
    tally = Tally(closed=10, measured=8, on_time=6, early=2, overdue=2, red=red, yellow=yellow)
    score, parts = score_of(SCHEME, tally)
    lost = {p.indicator: p.lost for p in parts}
    # 按时 6/8: 60 × 0.25 = 15; 提前 2/8: 10 × 0.75 = 7.5; 超期 2 × 2 = 4; 红牌 22 × 3 capped at
    # 30; 黄牌: the data-quality warnings do not count, 3 × 0.5 = 1.5.
    assert lost == {
        "on_time": 15.0, "early": 7.5, "overdue": 4.0, "red_cards": 30.0, "yellow_cards": 1.5,
        "disclosed_on_time": 0.0,  # no disclosure measured: not assessed
        "replied_on_time": 0.0,  # no 督办 due: not assessed
        "complaints_on_time": 0.0,  # no complaint measured: not assessed
    }  # fmt: skip
    assert score == 42.0
    assert score_of(SCHEME, Tally(red=Counter({"fee": 100}), overdue=50))[0] == 50.0  # caps hold
    floor = Scheme.model_validate(
        {
            "title": "t",
            "base": 10,
            "indicators": [{"kind": "count", "id": "r", "name": "红牌", "count": "red", "points_each": 5}],
        }
    )
    assert score_of(floor, Tally(red=Counter({"fee": 9})))[0] == 0.0  # never below zero


def test_a_unit_with_nothing_measured_is_not_assessed_on_the_rates() -> None:
    score, parts = score_of(SCHEME, Tally(closed=3, measured=0))
    assert score == 100.0
    assert [(p.indicator, p.value) for p in parts][:2] == [("on_time", None), ("early", None)]


def test_ties_share_a_rank_and_are_listed_by_name() -> None:
    figures = {
        ("乙局", "X1"): Tally(red=Counter({"fee": 1})),
        ("甲局", "X2"): Tally(red=Counter({"fee": 1})),
        ("丙局", "X3"): Tally(),
        ("丁局", "X4"): Tally(red=Counter({"fee": 2})),
        ("甲局", "X5"): Tally(),
    }
    out = ranked(SCHEME, figures, "department")
    assert [(s.rank, s.unit, s.score) for s in out] == [
        (1, "丙局", 100.0), (2, "乙局", 97.0), (2, "甲局", 97.0), (4, "丁局", 94.0),
    ]  # fmt: skip
    by_item = ranked(SCHEME, figures, "item")
    assert [s.unit for s in by_item][:2] == ["丙局 / X3", "甲局 / X5"]


def test_the_ranking_from_real_passes_with_the_change_and_the_year_to_date(harness: Harness) -> None:
    from monitor.assessment.score import assess

    harness.load(
        item(),
        item("GT-1", department="市公安局"),
        *_closed("OCT", "2026-10-12", "2026-10-13"),  # 市场监管 in October: early
        *_closed("NOV1", "2026-11-02", "2026-11-04"),  # early
        *_closed("NOV2", "2026-11-02", "2026-11-12"),  # late: 5 working days end on 11-09
    )
    harness.load(
        {**case("GA1"), "item_code": "GT-1", "department": "市公安局"},
        event("GA1", "accepted", "2026-11-02 09:00"),
        event("GA1", "decided", "2026-11-03 15:00", result="approved"),
        event("GA1", "delivered", "2026-11-03 16:00"),
        event("GA1", "disclosed", "2026-11-03 16:30", what="decision"),
        event("GA1", "closed", "2026-11-03 17:00"),
    )
    harness.poll(bj("2026-11-20 10:00"))
    scores = assess(harness.app.state, SCHEME, "2026-11", BJ)
    assert [(s.rank, s.unit) for s in scores] == [(1, "市公安局"), (2, "市市场监督管理局")]
    market = scores[1]
    # November: 1 of 2 on time (−30), 1 of 2 early (−5), one late case (−2), its red (−3).
    assert market.score == 60.0 and market.tally.red == Counter({"time_limit": 1})
    assert market.change == -40.0  # October: one early case, 100
    # The year to date scores October and November as one period: 2 of 3 on time (−20), 2 of
    # 3 early (−3.33), one late (−2), one red (−3).
    assert market.year_score == 71.67
    assert scores[0].change is None  # not scored in October


def test_report_publishes_the_ranking_as_csv_with_a_bom_and_chinese_headers(harness: Harness) -> None:
    config = harness.config.base_dir / "config.yaml"
    harness.load(
        item(), *_closed("NOV1", "2026-11-02", "2026-11-04"), *_closed("NOV2", "2026-11-02", "2026-11-12")
    )
    harness.poll(bj("2026-11-20 10:00"))
    first = sunlight(config, "report", "--month", "2026-11", "--by", "department", "--format", "csv")
    assert first.returncode == 0, first.stderr
    header, row = first.stdout.splitlines()[:2]
    assert header.startswith("\ufeff排名,承办单位,得分,较上月,本年累计,按时办结率,按时办结率扣分")
    assert row.startswith("1,市市场监督管理局,60.00,—,60.00,50.0%,30.00,50.0%,5.00,1,2.00,1,3.00")
    again = sunlight(config, "report", "--month", "2026-11", "--by", "department", "--format", "csv")
    assert again.stdout == first.stdout  # the same record and scheme, the same figures
    table = sunlight(config, "report", "--month", "2026-11")
    assert "部门绩效评估得分与排名" in table.stdout and "红牌 −3" in table.stdout and "60.00" in table.stdout


def test_a_proposed_scheme_is_tried_on_a_past_month_beside_the_current_one(harness: Harness) -> None:
    config = harness.config.base_dir / "config.yaml"
    harness.load(item(), *_closed("NOV2", "2026-11-02", "2026-11-12"))
    harness.poll(bj("2026-11-20 10:00"))
    proposed = harness.config.base_dir / "proposed.yaml"
    proposed.write_text(
        "title: 拟用方案\nindicators:\n  - kind: count\n    id: red\n    name: 红牌\n    count: red\n"
        "    points_each: 10\n",
        encoding="utf-8",
    )
    out = sunlight(config, "report", "--month", "2026-11", "--by", "department", "--format", "csv",
                   "--scheme", str(proposed))  # fmt: skip
    assert out.returncode == 0, out.stderr
    header, row = out.stdout.splitlines()[:2]
    assert header.endswith("现行方案得分,现行方案排名")
    # Proposed: one red, −10. Current: 0 of 1 on time (−60), none early (−10), one late (−2), one red (−3).
    assert row == "1,市市场监督管理局,90.00,—,90.00,1,10.00,25.00,1"


def test_check_refuses_a_broken_scheme(harness: Harness, tmp_path: Path) -> None:
    import yaml

    config = harness.config.base_dir / "config.yaml"
    bad = tmp_path / "bad-scheme.yaml"
    bad.write_text("title: 坏方案\nindicators: []\n", encoding="utf-8")
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["assessment"] = {"scheme": str(bad)}
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    out = sunlight(config, "check")
    assert out.returncode == 2
    assert f"{bad}:2:1" in out.stderr and "error(s) in the scoring scheme" in out.stderr


def test_a_score_opens_into_the_cards_and_cases_behind_it(harness: Harness) -> None:
    config = harness.config.base_dir / "config.yaml"
    harness.load(
        item(), *_closed("NOV1", "2026-11-02", "2026-11-04"), *_closed("NOV2", "2026-11-02", "2026-11-12")
    )
    harness.poll(bj("2026-11-20 10:00"))
    out = sunlight(config, "report", "--month", "2026-11", "--open", "市市场监督管理局")
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stdout.splitlines() if "NOV" in line]
    # By time: the early case, the red (the promise ran out at 24:00 on 9 November), the late case.
    assert [("NOV1" in x, "NOV2" in x) for x in lines] == [(True, False), (False, True), (False, True)]
    assert "提前办结" in lines[0]
    assert "2026年11月9日24时" in lines[1] and "红牌" in lines[1] and "办理时限" in lines[1]
    assert "超期办结" in lines[2]
    only = sunlight(config, "report", "--month", "2026-11", "--open", "市市场监督管理局/XK-2")
    assert "（0项）" in only.stdout


def test_the_published_page_workbook_and_public_version(tmp_path: Path) -> None:
    """On the demo: the page has the ranking and its three charts; the workbook holds numbers;
    the public version holds none of the demo's names, ID numbers, phones or case numbers."""
    from openpyxl import load_workbook
    from sqlalchemy import create_engine, select

    from monitor.state.schema import cases
    from tests.conftest import upgraded, write_config

    config = upgraded(write_config(tmp_path, f"sqlite:///{tmp_path / 'data' / 'sunlight.db'}"))
    now = "2026-12-02T10:00:00+08:00"
    assert sunlight(config, "demo", "--cases", "300", "--now", now).returncode == 0
    assert sunlight(config, "run", "--once", "--now", now).returncode == 0
    page, public, book = tmp_path / "r.html", tmp_path / "public.html", tmp_path / "r.xlsx"
    for args, path in (([], page), (["--public"], public)):
        done = sunlight(
            config, "report", "--month", "2026-11", "--format", "html", *args, "--output", str(path)
        )
        assert done.returncode == 0, done.stderr
    html = page.read_text(encoding="utf-8")
    assert "2026年11月部门电子监察绩效评估结果" in html and html.count("<svg") == 3
    assert "得分排名" in html and "各月平均得分" in html and "红黄牌按类别分布" in html
    assert "<script" not in html
    text = public.read_text(encoding="utf-8")
    assert "公开版" in text
    engine = create_engine(f"sqlite:///{tmp_path / 'data' / 'sunlight.db'}")
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                cases.c.case_id, cases.c.applicant_name, cases.c.applicant_id_number, cases.c.applicant_phone
            )
        ).all()
    engine.dispose()
    private = {v for row in rows for v in row if v and len(v) >= 2}
    assert len(private) > 300
    assert [v for v in private if v in text] == []
    done = sunlight(config, "report", "--month", "2026-11", "--format", "xlsx", "--output", str(book))
    assert done.returncode == 0, done.stderr
    workbook = load_workbook(book)
    assert workbook.sheetnames == ["得分排名", "按事项类型"]
    ranking = workbook["得分排名"]
    assert [c.value for c in ranking[2]][:5] == ["排名", "承办单位", "得分", "较上月", "本年累计"]
    first = [c.value for c in ranking[3]]
    assert first[0] == 1 and isinstance(first[2], int | float) and 0 <= first[2] <= 100


def test_scores_by_post_count_a_case_for_every_officer_its_steps_name(harness: Harness) -> None:
    from monitor.assessment.score import assess

    harness.load(
        item(),
        case("LATE"),
        event("LATE", "accepted", "2026-11-02 09:00", "王明"),
        event("LATE", "decided", "2026-11-12 15:00", "王明", "李芳", result="approved"),
        event("LATE", "delivered", "2026-11-12 16:00"),
        event("LATE", "disclosed", "2026-11-12 16:30", what="decision"),
        event("LATE", "closed", "2026-11-12 17:00"),
        case("EARLY"),
        event("EARLY", "accepted", "2026-11-02 09:00", "赵强"),
        event("EARLY", "decided", "2026-11-03 15:00", "赵强", result="approved"),
        event("EARLY", "delivered", "2026-11-03 16:00"),
        event("EARLY", "disclosed", "2026-11-03 16:30", what="decision"),
        event("EARLY", "closed", "2026-11-03 17:00"),
        case("NOBODY"),
        event("NOBODY", "accepted", "2026-11-02 09:00"),
    )
    harness.poll(bj("2026-11-20 10:00"))
    scores = assess(harness.app.state, SCHEME, "2026-11", BJ, "post", harness.app.source)
    got = {s.unit: (s.rank, s.score, s.tally.red.total()) for s in scores}
    # 王明 and 李芳 both handled the late case: 0 of 1 on time (−60), none early (−10), one late
    # (−2), its red (−3); 赵强 closed his early. The case no step names counts for nobody here.
    assert got == {
        "市市场监督管理局 / 赵强": (1, 100.0, 0),
        "市市场监督管理局 / 李芳": (2, 25.0, 1),
        "市市场监督管理局 / 王明": (2, 25.0, 1),
    }
    config = harness.config.base_dir / "config.yaml"
    refused = sunlight(config, "report", "--month", "2026-11", "--by", "post", "--public", "--format", "html")
    assert refused.returncode == 2 and "personal data" in refused.stderr
    opened = sunlight(
        config, "report", "--month", "2026-11", "--by", "post", "--open", "市市场监督管理局/李芳"
    )
    assert opened.returncode == 0, opened.stderr
    assert "LATE" in opened.stdout and "EARLY" not in opened.stdout and "NOBODY" not in opened.stdout
    assert "超期办结" in opened.stdout and "红牌" in opened.stdout


def test_the_disclosure_rate_counts_decisions_published_in_time(harness: Harness) -> None:
    from sqlalchemy import select

    from monitor.assessment.score import assess
    from monitor.state.schema import case_state

    harness.load(
        item(),
        *_closed("PUB", "2026-11-02", "2026-11-03"),
        *_closed("NOPUB", "2026-11-02", "2026-11-03", disclosed=False),
    )
    harness.poll(bj("2026-11-04 10:00"))  # NOPUB's disclosure is not due yet: not yet measured
    with harness.app.state.connect() as conn:
        first = dict(conn.execute(select(case_state.c.case_id, case_state.c.disclosure)).all())
    assert first == {"PUB": "on_time", "NOPUB": None}
    [market] = assess(harness.app.state, SCHEME, "2026-11", BJ)
    assert {p.indicator: p.value for p in market.parts}["disclosed_on_time"] == 1.0
    harness.poll(bj("2026-12-10 10:00"))
    with harness.app.state.connect() as conn:
        later = dict(conn.execute(select(case_state.c.case_id, case_state.c.disclosure)).all())
    assert later == {"PUB": "on_time", "NOPUB": "late"}
    [market] = assess(harness.app.state, SCHEME, "2026-11", BJ)
    parts = {p.indicator: p for p in market.parts}
    assert parts["disclosed_on_time"].value == 0.5 and parts["disclosed_on_time"].lost == 5.0


def test_the_supervision_reply_rate_counts_replies_by_their_deadline(harness: Harness) -> None:
    from alerts.supervision import service
    from monitor.assessment.score import assess
    from tests.supervision_helpers import DEPT, OFFICE, red_alert, settings_of

    settings = settings_of(harness)
    first = red_alert(harness, "S1", bj("2026-11-13 10:00"))
    second = red_alert(harness, "S2", bj("2026-11-13 10:00"))
    with harness.app.state.begin() as conn:
        for alert_id in (first, second):  # 3 working days: due at 24:00 on Wednesday 18 November
            service.supervise(conn, OFFICE, alert_id, demand="rectify", reply_within_days=3, note="限期整改",
                              now=bj("2026-11-13 11:00"), settings=settings)  # fmt: skip
        service.reply(conn, DEPT, first, kind="rectified", text="已整改完毕", now=bj("2026-11-18 16:00"),
                      settings=settings)  # fmt: skip

    def rate(now: str) -> object:
        [market] = assess(harness.app.state, SCHEME, "2026-11", BJ, now=bj(now))
        return {p.indicator: p.value for p in market.parts}["replied_on_time"]

    assert rate("2026-11-18 20:00") is None  # neither deadline has passed: not yet measured
    assert rate("2026-11-19 09:00") == 0.5  # one answered in time, one not
    with harness.app.state.begin() as conn:
        service.reply(conn, DEPT, second, kind="explained", text="情况说明", now=bj("2026-11-20 10:00"),
                      settings=settings)  # fmt: skip
    assert rate("2026-11-21 09:00") == 0.5  # answered late is still late


def test_a_rate_of_one_item_type_counts_those_cases_alone(harness: Harness) -> None:
    from monitor.assessment.score import assess

    harness.load(
        item(),
        item("TS-1", item_type="complaint", promised=None, legal=15, unit="natural_days"),
        *_closed("LIC", "2026-11-02", "2026-11-12"),  # a late licence: not a complaint
        case("TS1", "TS-1"),
        event("TS1", "received", "2026-11-02 09:00"),
        event("TS1", "accepted", "2026-11-02 10:00"),
        event("TS1", "replied", "2026-11-05 10:00"),
        event("TS1", "followed_up", "2026-11-06 10:00"),  # 回访 within its limit too
        event("TS1", "closed", "2026-11-06 11:00"),
    )
    harness.poll(bj("2026-11-20 10:00"))
    [market] = assess(harness.app.state, SCHEME, "2026-11", BJ)
    parts = {p.indicator: p.value for p in market.parts}
    assert parts["on_time"] == 0.5  # the licence late, the complaint in time
    assert parts["complaints_on_time"] == 1.0  # the complaint alone


def test_item_types_are_for_the_case_rates_only(tmp_path: Path) -> None:
    path = tmp_path / "scheme.yaml"
    path.write_text(RATE.replace("measure: on_time", "measure: replied_on_time") + "    weight: 5\n"
                    "    item_types: [complaint]\n", encoding="utf-8")  # fmt: skip
    with pytest.raises(RuleError) as caught:
        load_scheme(path)
    assert "item_types applies to the on_time and early rates only" in caught.value.problems[0]


def test_the_scheme_s_own_fixtures_pass_and_a_wrong_one_fails(tmp_path: Path) -> None:
    from monitor.assessment.schemetest import run, scheme_fixtures

    shipped = scheme_fixtures(RULES / "assessment" / "scheme.yaml")
    assert shipped and all(o.ok for o in run(SCHEME, shipped))
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(
        "- name: 红牌两张\n  figures: {red: {fee: 2}}\n  score: 97\n  lost: {red_cards: 3}\n",
        encoding="utf-8",
    )
    [outcome] = run(SCHEME, [wrong])
    assert outcome.problems == ("score 94, expected 97", "red_cards takes off 6, expected 3")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- name: x\n  figures: {reds: 1}\n  score: 1\n", encoding="utf-8")
    with pytest.raises(RuleError) as caught:
        run(SCHEME, [bad])
    assert caught.value.problems[0].startswith(f"{bad}:2:")


def test_test_rules_runs_the_scheme_fixtures_and_fails_on_one(harness: Harness, tmp_path: Path) -> None:
    import shutil

    import yaml

    config = harness.config.base_dir / "config.yaml"
    folder = tmp_path / "assessment"
    shutil.copytree(RULES / "assessment", folder)
    ok = sunlight(config, "test-rules")
    assert ok.returncode == 0 and "scoring scheme: 5 passed, 0 failed" in ok.stdout
    (folder / "tests" / "scheme.yaml").write_text(
        "- name: 改了扣分标准却没改测试\n  figures: {red: {fee: 1}}\n  score: 95\n", encoding="utf-8"
    )
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["assessment"] = {"scheme": str(folder / "scheme.yaml")}
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    failed = sunlight(config, "test-rules")
    assert failed.returncode == 1
    assert "FAIL scheme.yaml: 改了扣分标准却没改测试: score 97, expected 95" in failed.stderr
    assert "scoring scheme: 0 passed, 1 failed" in failed.stdout
