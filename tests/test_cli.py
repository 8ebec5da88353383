"""The command line as a person uses it: real processes, a real SQLite file, exit codes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import case, event, item, run_cli, upgraded, write_config

NOW = "2026-11-23T10:00:00+08:00"


def sunlight(config: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli(config, *args, stdin=stdin)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return upgraded(write_config(tmp_path, f"sqlite:///{tmp_path / 'data' / 'sunlight.db'}"))


def test_demo_run_once_and_alerts_json_show_every_required_category(config: Path) -> None:
    assert sunlight(config, "demo", "--cases", "300", "--now", NOW).returncode == 0
    run = sunlight(config, "run", "--once", "--now", NOW)
    assert run.returncode == 0, run.stderr
    listed = sunlight(config, "alerts", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    alerts = json.loads(listed.stdout)
    keys = {
        "case_id",
        "item_code",
        "department",
        "rule",
        "category",
        "level",
        "state",
        "raised_at",
        "message",
    }
    assert all(keys <= set(a) for a in alerts)
    seen = {(a["category"], a["level"]) for a in alerts}
    for category in ("time_limit", "disclosure", "procedure"):
        assert (category, "red") in seen, category
    assert ("time_limit", "yellow") in seen and ("disclosure", "yellow") in seen
    reds = json.loads(sunlight(config, "alerts", "--format", "json", "--level", "red").stdout)
    assert reds and all(a["level"] == "red" for a in reds)
    # A second pass over the same data changes nothing.
    again = sunlight(config, "run", "--once", "--now", NOW)
    assert "0 alert changes" in again.stdout
    assert (config.parent / "outbox").is_dir() and any((config.parent / "outbox").glob("*.eml"))


def test_import_reports_bad_lines_with_numbers_and_loads_the_rest(config: Path, tmp_path: Path) -> None:
    lines = [
        json.dumps(item(), ensure_ascii=False),
        json.dumps(case("C1"), ensure_ascii=False),
        "{not json",
        json.dumps({**event("C1", "accepted", "2026-11-03 09:00"), "colour": "red"}),
        json.dumps(event("C1", "received", "2026-11-02 09:00")),
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    first = sunlight(config, "import", str(source))
    assert first.returncode == 1
    assert f"{source}:3: not valid JSON" in first.stderr
    assert f"{source}:4: colour: unknown field" in first.stderr
    assert "1 items, 1 cases, 1 events loaded" in first.stdout
    second = sunlight(config, "import", str(source))
    assert "0 items, 0 cases, 0 events loaded; 3 unchanged" in second.stdout


def test_explain_prints_the_timeline_and_the_clock(config: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    records = [
        item(),
        case("C1"),
        event("C1", "received", "2026-11-02 09:00"),
        event("C1", "accepted", "2026-11-03 09:00"),
    ]
    source.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    assert sunlight(config, "import", str(source)).returncode == 0
    out = sunlight(config, "explain", "C1", "--now", NOW)
    assert out.returncode == 0, out.stderr
    assert "2026年11月3日9时  受理" in out.stdout
    assert "期限届满：2026年11月10日24时" in out.stdout
    assert "红牌" in out.stdout and "已超过期限9个工作日" in out.stdout
    missing = sunlight(config, "explain", "NOPE")
    assert missing.returncode == 1 and "no case with the id 'NOPE'" in missing.stderr


def test_check_exits_2_and_lists_every_error(config: Path, tmp_path: Path) -> None:
    rules = tmp_path / "bad"
    rules.mkdir()
    (rules / "x.yaml").write_text(
        "ruleset: x\ntitle: 坏\nrules:\n  - id: x.a\n    title: t\n    kind: check\n    category: fee\n"
        "    when: 'case.fee_charged >'\n  - id: x.b\n    title: t\n    kind: chek\n    category: fee\n",
        encoding="utf-8",
    )
    out = sunlight(config, "check", str(rules))
    assert out.returncode == 2
    assert "x.yaml:8:" in out.stderr and "x.yaml:9:" in out.stderr
    assert "2 error(s)" in out.stderr
    assert sunlight(config, "check").returncode == 0


def test_bad_configuration_exits_2_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "config.yaml"
    bad.write_text("databse:\n  url: sqlite:///x.db\n", encoding="utf-8")
    out = sunlight(bad, "check")
    assert out.returncode == 2
    assert "unknown key `databse` (did you mean `database`?)" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_bad_usage_exits_2(config: Path) -> None:
    assert sunlight(config, "alerts", "--format", "xml").returncode == 2
    assert sunlight(config, "run", "--now", "yesterday").returncode == 2
    assert sunlight(config, "no-such-command").returncode == 2


def test_calendar_due_prints_json(config: Path) -> None:
    out = sunlight(config, "calendar", "due", "2026-02-12", "3")
    body = json.loads(out.stdout)
    assert body["due"] == "2026-02-24" and body["provisional"] is False
    later = json.loads(sunlight(config, "calendar", "due", "2026-12-28", "5").stdout)
    assert later["due"] == "2027-01-05"  # 2027-01-01 (元旦) rests by law, without a notice
    assert later["provisional"] is True
    march = json.loads(sunlight(config, "calendar", "due", "2027-02-24", "15").stdout)
    assert (march["due"], march["provisional"]) == ("2027-03-17", False)
    # 90 natural days from 2026-09-28 end on Sunday 12-27; rolled over to Monday 12-28.
    rolled = sunlight(
        config, "calendar", "due", "2026-09-28", "90", "--unit", "natural_days", "--roll-over-holidays"
    )
    body = json.loads(rolled.stdout)
    assert (body["due"], body["rest_days_skipped"]) == ("2026-12-28", 1)


def test_check_says_how_far_the_notice_and_the_law_reach(config: Path) -> None:
    out = sunlight(config, "check")
    assert out.returncode == 0, out.stderr
    assert "notice known until 2026-12-31" in out.stdout
    assert "statutory holidays computed to 2100-12-31 (全国年节及纪念日放假办法)" in out.stdout


def test_calendar_show_names_each_day_s_source_and_what_is_provisional(config: Path) -> None:
    out = sunlight(config, "calendar", "show", "2027")
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert body["notice"].startswith("none")
    rest = {r["date"]: r for r in body["rest_days"]}
    assert "全国年节及纪念日放假办法 art. 2" in rest["2027-01-01"]["source"]
    assert rest["2027-01-01"]["provisional"] is False
    assert rest["2027-02-09"]["name"] == "春节补假" and rest["2027-02-09"]["provisional"] is True
    assert any(o["source"].startswith("holidays ") for o in rest["2027-02-05"]["also"])
    assert "2027-02-09..2027-02-24" in body["provisional_days"]
    assert body["disagreements"] == 0 and body["law_check"] == []
    # 2028: 中秋节 on a 国庆节 day, owed a day that python-holidays does not give
    later = json.loads(sunlight(config, "calendar", "show", "2028").stdout)
    [oct5] = [r for r in later["rest_days"] if r["date"] == "2028-10-05"]
    assert oct5["disagree"] == [f"{o['source']}: 工作日" for o in oct5["also"] if o["workday"]]
    assert later["disagreements"] == 1
    assert sunlight(config, "calendar", "show", "2101").returncode == 2


def test_calendar_show_and_check_with_next_year_s_notice_as_an_overlay(tmp_path: Path) -> None:
    folder = tmp_path / "calendar"
    folder.mkdir()
    (folder / "2027.yaml").write_text(
        "notice: 国务院办公厅关于2027年部分节假日安排的通知\ncovers: 2027\n"
        "rest_days:\n  - {from: 2027-02-05, to: 2027-02-11, name: 春节}\n"
        "working_days:\n  - {date: 2027-02-20, name: 春节调休上班}\n",
        encoding="utf-8",
    )
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'x.db'}", rules={"calendar": str(folder)})
    body = json.loads(sunlight(config, "calendar", "show", "2027").stdout)
    assert body["notice"] == "国务院办公厅关于2027年部分节假日安排的通知 (2027.yaml)"
    assert body["provisional_days"] == ["2027-12-25..2027-12-31"]  # 元旦 2028's, still open
    rest = {r["date"]: r for r in body["rest_days"]}
    assert "2027.yaml" in rest["2027-02-11"]["source"]
    # the overlay gives 春节 its two days, but not 劳动节 (5-1 and 5-2 are a weekend): shown
    assert any("劳动节" in line and "owes 2" in line for line in body["law_check"])
    checked = sunlight(config, "check")
    assert checked.returncode == 0
    assert "notice known until 2027-12-31" in checked.stdout
    assert "warning: calendar: 2027 劳动节" in checked.stdout


def test_ack_and_show_record_who_and_why(config: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    records = [item(), case("C1"), event("C1", "accepted", "2026-11-03 09:00")]
    source.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    sunlight(config, "import", str(source))
    sunlight(config, "run", "--once", "--now", NOW)
    [alert] = json.loads(sunlight(config, "alerts", "--format", "json").stdout)
    ack = sunlight(
        config, "alerts", "ack", str(alert["id"]), "--by", "王科长", "--note", "已督办", "--now", NOW
    )
    assert ack.returncode == 0, ack.stderr
    shown = json.loads(sunlight(config, "alerts", "show", str(alert["id"])).stdout)
    assert shown["state"] == "acknowledged"
    actions = [h["action"] for h in shown["history"]]
    assert actions == ["raised", "notice_sent", "notice_sent", "acknowledged"]
    assert {h["detail"]["recipient"] for h in shown["history"] if h["action"] == "notice_sent"} == {
        "jjjc@example.gov.cn",
        "scjg@example.gov.cn",
    }
    ack = shown["history"][-1]
    assert ack["actor"] == "王科长" and ack["detail"]["note"] == "已督办"
    assert sunlight(config, "audit", "verify").returncode == 0
