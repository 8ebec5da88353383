"""The 督办 table (revision 0005) on every backend, and revoked cards out of the monthly report."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect

from monitor.config import load_config
from monitor.state.schema import supervisions
from tests.conftest import BJ, Harness, bj, write_config
from tests.supervision_helpers import RAISED_AT, red_alert


def test_the_supervision_table_is_created_with_its_unique_keys(any_db_url: str, tmp_path: Path) -> None:
    h = Harness(load_config(write_config(tmp_path, any_db_url), environ={}))
    try:
        insp = inspect(h.app.state)
        columns = {c["name"] for c in insp.get_columns("sunlight_supervisions")}
        assert {c.name for c in supervisions.columns} == columns
        uniques = {tuple(u["column_names"]) for u in insp.get_unique_constraints("sunlight_supervisions")}
        indexes = {tuple(i["column_names"]) for i in insp.get_indexes("sunlight_supervisions") if i["unique"]}
        assert ("doc_year", "doc_seq") in uniques | indexes
        assert ("open_alert_id",) in uniques | indexes
    finally:
        h.app.dispose()


def _revoke(h: Harness, alert_id: int) -> None:
    with h.app.state.begin() as conn:
        conn.execute(
            supervisions.insert().values(
                alert_id=alert_id,
                case_id="OPEN1",
                department="市市场监督管理局",
                doc_year=2026,
                doc_seq=1,
                demand="explain",
                note="",
                issued_by="王监察",
                issued_at=RAISED_AT,
                reply_within_days=5,
                reply_due=RAISED_AT,
                reply_due_provisional=False,
                round=1,
                round_started_at=RAISED_AT,
                state="ruled",
                reply_kind="appeal",
                decision="revoked",
                updated_at=RAISED_AT,
                version=3,
            )
        )


def test_a_revoked_card_stays_on_record_but_leaves_the_monthly_report(harness: Harness) -> None:
    from monitor.report import monthly

    alert_id = red_alert(harness)
    kept = red_alert(harness, "OPEN2")
    [before] = monthly(harness.app.state, "2026-11", BJ)
    assert before["red"] == 2
    _revoke(harness, alert_id)
    [after] = monthly(harness.app.state, "2026-11", BJ)
    assert (after["red"], after["yellow"]) == (1, 0)
    assert [a.id for a in harness.alerts()] == [alert_id, kept]  # still there, as evidence


def test_the_revision_goes_down_to_0004_and_up_again(any_db_url: str, tmp_path: Path) -> None:
    from alembic import command

    from monitor.state import db

    h = Harness(load_config(write_config(tmp_path, any_db_url), environ={}))
    try:
        cfg = db._config("state")  # the same Alembic configuration `db upgrade` uses
        with h.app.state.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0004_state_notice_context")
        assert "sunlight_supervisions" not in inspect(h.app.state).get_table_names()
        assert not db.is_current(h.app.state, "state")
        db.upgrade(h.app.state, "state")
        assert "sunlight_supervisions" in inspect(h.app.state).get_table_names()
        assert db.is_current(h.app.state, "state")
    finally:
        h.app.dispose()


def test_settings_come_from_the_configuration(harness: Harness) -> None:
    from alerts.supervision import settings_for

    s = settings_for(harness.config, max_reply_days=15)
    assert (s.tz, s.max_reply_days, s.notify) == (BJ, 15, harness.config.notify)
    assert s.calendar.is_workday(
        bj("2026-10-10 09:00").date()
    )  # the 调休 Saturday, from the config's calendar


def test_a_rule_cannot_take_the_engines_supervision_category(tmp_path: Path) -> None:
    import pytest

    from monitor.engine import load_ruleset
    from monitor.errors import RuleError

    text = """\
ruleset: sample
title: 样例
rules:
  - id: sample.x
    title: 督办
    kind: deadline
    category: supervision
    clock: {start: received, stop: accepted, limit: 5, unit: working_days}
"""
    (tmp_path / "r.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(RuleError) as info:
        load_ruleset(tmp_path, frozenset({"department", "discipline_office"}))
    assert any("a rule cannot raise it" in p and "r.yaml" in p for p in info.value.problems)
