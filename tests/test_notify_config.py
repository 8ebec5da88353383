"""The notify section's newer keys as an operator meets them: channel URLs in routes, the
ladder's rungs, quiet hours; `sunlight check` on the channels; the SMS short link."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from alerts.timing import quiet_until
from monitor.calendar import load_calendar
from monitor.config import load_config
from monitor.errors import ConfigError
from monitor.notifyconfig import NotifyConfig, QuietHours
from tests.conftest import BJ, RULES, bj, run_cli, write_config

CAL = load_calendar(RULES / "calendar")


def config_with(tmp_path: Path, **notify: Any) -> Path:
    return write_config(
        tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", notify={"eml_dir": "outbox", **notify}
    )


@pytest.mark.parametrize(
    ("recipient", "words"),
    [
        ("slack://T000/B000", "unknown recipient scheme 'slack'"),
        ("sms:13800000000", "sms"),  # not E.164
        ("dingtalk://", "dingtalk"),
        ("webhook+ftp://host/x", "webhook"),
    ],
)
def test_an_unknown_or_malformed_channel_url_fails_on_load_naming_its_key(
    tmp_path: Path, recipient: str, words: str
) -> None:
    routes = {"department": {"recipients": ["dept@example.gov.cn", recipient], "levels": ["red"]}}
    with pytest.raises(ConfigError) as err:
        load_config(config_with(tmp_path, routes=routes), environ={})
    text = str(err.value)
    assert "`notify.routes.department.recipients.1`" in text and words in text


def test_a_display_name_with_a_colon_is_still_an_e_mail_address(tmp_path: Path) -> None:
    quoted = '"Ops: 值班" <ops@example.gov.cn>'
    routes = {"department": {"recipients": [quoted], "levels": ["red"]}}
    cfg = load_config(config_with(tmp_path, routes=routes), environ={})
    assert cfg.notify.routes["department"].recipients == (quoted,)


def test_a_rung_that_reaches_nobody_or_a_name_used_twice_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="names neither roles nor recipients"):
        load_config(config_with(tmp_path, ladder=[{"name": "x", "levels": ["red"]}]), environ={})
    twice = [{"name": "x", "roles": ["leader"]}, {"name": "x", "roles": ["handler"]}]
    with pytest.raises(ConfigError, match="x appear more than once"):
        load_config(config_with(tmp_path, ladder=twice), environ={})
    with pytest.raises(ConfigError, match=r"notify\.ladder\.0\.roles\.0"):
        load_config(config_with(tmp_path, ladder=[{"name": "x", "roles": ["mayor"]}]), environ={})


def test_sms_is_quiet_from_ten_at_night_to_seven_reds_included_by_default() -> None:
    cfg = NotifyConfig()
    assert quiet_until(cfg, "sms", "yellow", bj("2026-11-23 21:59"), BJ) is None
    assert quiet_until(cfg, "sms", "yellow", bj("2026-11-23 22:00"), BJ) == bj("2026-11-24 07:00")
    assert quiet_until(cfg, "sms", "red", bj("2026-11-24 03:00"), BJ) == bj("2026-11-24 07:00")
    assert quiet_until(cfg, "sms", "red", bj("2026-11-24 07:00"), BJ) is None
    assert quiet_until(cfg, "email", "yellow", bj("2026-11-24 03:00"), BJ) is None  # mail has none


def test_quiet_on_rest_days_waits_for_the_next_working_morning() -> None:
    cfg = NotifyConfig(quiet_hours={"sms": QuietHours(rest_days=True)})
    # Saturday noon, and Friday night: both wait for Monday 07:00.
    assert quiet_until(cfg, "sms", "yellow", bj("2026-11-28 12:00"), BJ, CAL) == bj("2026-11-30 07:00")
    assert quiet_until(cfg, "sms", "yellow", bj("2026-11-27 23:00"), BJ, CAL) == bj("2026-11-30 07:00")
    # 2026-10-01 is the National Day holiday: the next working day by the calendar, not Monday.
    first_workday = CAL.next_workday(dt.date(2026, 10, 1))
    assert quiet_until(cfg, "sms", "yellow", bj("2026-10-01 10:00"), BJ, CAL) == dt.datetime.combine(
        first_workday, dt.time(7, 0), tzinfo=BJ
    )
    red = NotifyConfig(quiet_hours={"sms": QuietHours(rest_days=True, red=True)})
    assert quiet_until(red, "sms", "red", bj("2026-11-28 12:00"), BJ, CAL) is None


def test_check_names_a_channel_that_cannot_send_once_smtp_is_set(tmp_path: Path) -> None:
    routes = {
        "department": {"recipients": ["sms:+8613800000000"], "levels": ["red"]},
        "discipline_office": {"recipients": ["jjjc@example.gov.cn"], "levels": ["red"]},
    }
    config = config_with(tmp_path, routes=routes, smtp={"url": "smtp://127.0.0.1:2525"})
    result = run_cli(config, "check")
    assert result.returncode == 2
    assert "`notify.routes.department.recipients` sends over sms, which cannot send" in result.stderr
    (tmp_path / "e").mkdir()
    embedded = run_cli(config_with(tmp_path / "e", routes=routes), "check")
    assert embedded.returncode == 0, embedded.stderr
    assert "sms (notify.routes.department.recipients) has no service configured" in embedded.stdout


def test_check_refuses_a_city_template_that_would_put_personal_data_in_an_sms(tmp_path: Path) -> None:
    folder = tmp_path / "channel-templates"
    folder.mkdir()
    (folder / "sms.txt.j2").write_text("{{ applicant_name }}：{{ case_id }}", encoding="utf-8")
    config = config_with(tmp_path, channels={"templates": str(folder)})
    result = run_cli(config, "check")
    assert result.returncode == 2 and "notify.channels.templates" in result.stderr
    assert "applicant_name" in result.stderr
