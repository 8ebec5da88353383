"""Evidence that cannot be forged quietly: every tampering a database administrator could try
on the history, the alerts or the head is a named finding of `sunlight audit verify`, on all
three backends; the key stays outside the database and anchors catch what a key cannot."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select, text, update
from typer.testing import CliRunner

from alerts.audit.anchors import anchor_head, read_anchors, read_head
from alerts.audit.keys import AuditKey, AuditKeyError, generate, read_key_file
from alerts.digest import build_digests
from alerts.history import GENESIS, row_hash
from monitor.app import build
from monitor.cli import app
from monitor.config import load_config
from monitor.errors import ConfigError, StartupError
from monitor.state.schema import alert_history, alerts, chain_head, notices, stored
from tests.conftest import Harness, bj, case, event, item, write_config

T0 = bj("2026-11-24 10:00")
HOUR = timedelta(minutes=60)
CLEAN_ENV = {
    "SUNLIGHT_AUDIT_KEY": None,
    "SUNLIGHT_CONFIG": None,
    "SUNLIGHT_DATABASE_URL": None,
    "SUNLIGHT_STATE_URL": None,
    "SUNLIGHT_SOURCE_URL": None,
}


def cli(folder: Path, *args: str, env: dict[str, str | None] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(
        app, ["--config", str(folder / "config.yaml"), *args], env={**CLEAN_ENV, **(env or {})}
    )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def names(output: str) -> set[str]:
    """The finding names a failed verify printed (`name: message` lines)."""
    return {line.split(":", 1)[0] for line in output.splitlines() if line and not line.startswith("TAMPERED")}


def harness_for(folder: Path, url: str, **extra: Any) -> Harness:
    return Harness(load_config(write_config(folder, url, **extra), environ={}))


def feed(h: Harness) -> None:
    """Three alerts (two red, one yellow) and four history rows, then the head anchored."""
    h.load(
        item(),
        case("C1"),
        case("C2"),
        case("C3"),
        event("C1", "accepted", "2026-11-03 09:00"),
        event("C2", "accepted", "2026-11-16 09:00"),
        event("C3", "accepted", "2026-11-18 09:00"),
    )
    h.poll(bj("2026-11-20 10:00"))
    h.poll(T0)
    assert anchor_head(h.app.state, anchor_file(h), T0).written is not None


def anchor_file(h: Harness) -> Path:
    return h.config.path(h.config.audit.anchor_file)


@pytest.fixture
def scene(tmp_path: Path, any_db_url: str) -> Iterator[Harness]:
    h = harness_for(tmp_path, any_db_url)
    feed(h)
    yield h
    h.app.dispose()


def rechain(h: Harness, key: AuditKey | None, label: str | None, start: int = 1) -> None:
    """What someone with write access does to cover an edit: recompute every hash from row
    `start` on (under `key`, recording key id `label`) and move the head to match."""
    with h.app.state.begin() as conn:
        rows = conn.execute(select(alert_history).order_by(alert_history.c.chain_seq)).all()
        prev = GENESIS
        for r in rows:
            if r.chain_seq < start:
                prev = r.hash
                continue
            new = row_hash(key, prev, r.chain_seq, r.alert_id, r.at, r.action, r.level, r.actor, r.detail)
            conn.execute(
                update(alert_history)
                .where(alert_history.c.id == r.id)
                .values(prev_hash=prev, hash=new, key_id=label)
            )
            prev = new
        conn.execute(update(chain_head).values(hash=prev, key_id=label))


# -- a clean history ---------------------------------------------------------------------


def test_a_clean_history_exits_0_with_a_one_line_summary(scene: Harness) -> None:
    code, out = cli(scene.config.base_dir, "audit", "verify")
    assert code == 0, out
    [line] = out.splitlines()
    assert line.startswith("ok: 4 history rows intact; signed with key " + scene.key_id())
    assert "3 alerts agree with their history" in line and "1 anchors hold" in line


# -- the history itself ------------------------------------------------------------------


def test_an_edited_detail_is_named_with_its_row(scene: Harness) -> None:
    with scene.app.state.begin() as conn:
        conn.execute(
            update(alert_history)
            .where(alert_history.c.chain_seq == 2)
            .values(detail={"message": "已按期办结"})
        )
    code, out = cli(scene.config.base_dir, "audit", "verify")
    assert code == 1
    assert (
        f"row_edited: rows 2 were edited after they were written (hash mismatch under key {scene.key_id()})"
        in out
    )


def test_deleting_the_newest_rows_and_moving_the_head_back_shows_against_the_anchor(scene: Harness) -> None:
    with scene.app.state.begin() as conn:
        second = conn.execute(select(alert_history.c.hash).where(alert_history.c.chain_seq == 2)).scalar_one()
        conn.execute(delete(alert_history).where(alert_history.c.chain_seq > 2))
        conn.execute(update(chain_head).values(seq=2, hash=second))
        # and the alerts put back as rows 1–2 leave them: C2 yellow again, C3 never raised
        conn.execute(update(alerts).where(alerts.c.case_id == "C2").values(level="yellow"))
        conn.execute(delete(alerts).where(alerts.c.case_id == "C3"))
    assert scene.verify().ok  # without the anchor the chain is consistent: only an anchor can tell
    code, out = cli(scene.config.base_dir, "audit", "verify")
    assert code == 1 and names(out) == {"truncated"}
    assert "rows 3–4 were deleted after it was anchored" in out


def test_erasing_the_history_and_resetting_the_head_shows_against_the_anchor(scene: Harness) -> None:
    with scene.app.state.begin() as conn:
        conn.execute(delete(alert_history))
        conn.execute(delete(alerts))
        conn.execute(update(chain_head).values(seq=0, hash=GENESIS, key_id=None))
    code, out = cli(scene.config.base_dir, "audit", "verify")
    assert code == 1 and names(out) == {"history_erased"}
    assert "the history holds no rows (head at row 0)" in out and "records row 4" in out


def test_a_detail_that_is_not_json_is_a_finding_not_a_crash(scene: Harness) -> None:
    with scene.app.state.begin() as conn:
        # What it takes on each server to store text that is not JSON in the column.
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE sunlight_alert_history ALTER COLUMN detail TYPE text"))
        elif conn.dialect.name in ("mysql", "mariadb"):
            conn.execute(text("ALTER TABLE sunlight_alert_history MODIFY detail LONGTEXT"))
        conn.execute(text("UPDATE sunlight_alert_history SET detail = '{not json' WHERE chain_seq = 3"))
    code, out = cli(scene.config.base_dir, "audit", "verify")
    assert code == 1
    assert "detail_not_json: rows 3 have a `detail` that is not JSON (overwritten)" in out


def test_a_missing_head_row_is_a_finding_not_a_crash(scene: Harness) -> None:
    with scene.app.state.begin() as conn:
        conn.execute(delete(chain_head))
    code, out = cli(scene.config.base_dir, "audit", "verify")
    assert code == 1 and names(out) == {"head_missing"}


def test_a_missing_table_is_one_line_and_the_other_tables_are_still_read(scene: Harness) -> None:
    with scene.app.state.begin() as conn:
        conn.execute(text("DROP TABLE sunlight_alerts"))
        conn.execute(update(alert_history).where(alert_history.c.chain_seq == 1).values(actor="someone"))
    code, out = cli(scene.config.base_dir, "audit", "verify")
    assert code == 1 and names(out) == {"unreadable", "row_edited"}
    [line] = [x for x in out.splitlines() if x.startswith("unreadable")]
    assert line.startswith("unreadable: sunlight_alerts cannot be read: ") and "SELECT" not in line


# -- the alerts against their history -------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "finding", "words"),
    [
        ({"level": "yellow"}, "alert_level_changed", "is yellow in sunlight_alerts but red in its history"),
        (
            {"state": "resolved"},
            "alert_state_changed",
            "is resolved in sunlight_alerts but open in its history",
        ),
        (None, "alert_deleted", "is in the history but not in sunlight_alerts: deleted"),
    ],
    ids=["red-to-yellow", "open-to-resolved", "deleted"],
)
def test_an_edited_or_deleted_alert_is_named(
    scene: Harness, change: dict[str, str] | None, finding: str, words: str
) -> None:
    red = next(a for a in scene.alerts() if a.case_id == "C1")
    with scene.app.state.begin() as conn:
        if change is None:
            conn.execute(delete(alerts).where(alerts.c.id == red.id))
        else:
            conn.execute(update(alerts).where(alerts.c.id == red.id).values(**change))
    code, out = cli(scene.config.base_dir, "audit", "verify")
    assert code == 1 and names(out) == {finding}
    assert f"alert {red.id} " in out and words in out


# -- keys ---------------------------------------------------------------------------------


def test_a_wrong_key_is_named(scene: Harness) -> None:
    path = scene.config.path(scene.config.audit.key_file)
    path.unlink()
    other = generate(path)
    code, out = cli(scene.config.base_dir, "audit", "verify")
    assert code == 1 and names(out) == {"unknown_key"}
    assert f"rows 1–4 are signed with key id {scene.key_id()}, which no configured key has" in out
    assert other.key_id != scene.key_id()


def test_a_chain_recomputed_with_another_key_fails(scene: Harness, tmp_path: Path) -> None:
    stranger = generate(tmp_path / "stranger.key")
    with scene.app.state.begin() as conn:  # red to yellow, in the alert and in its history
        conn.execute(update(alerts).where(alerts.c.case_id == "C1").values(level="yellow"))
        conn.execute(update(alert_history).where(alert_history.c.chain_seq == 1).values(level="yellow"))
    rechain(scene, stranger, scene.key_id())  # another key, passed off as ours
    code, out = cli(scene.config.base_dir, "audit", "verify")
    assert code == 1 and names(out) == {"row_edited", "anchor_mismatch"}
    assert "row_edited: rows 1–4 were edited" in out
    rechain(scene, stranger, stranger.key_id)  # another key, under its own id
    code, out = cli(scene.config.base_dir, "audit", "verify")
    assert code == 1 and names(out) == {"unknown_key", "anchor_mismatch"}
    assert f"unknown_key: rows 1–4 are signed with key id {stranger.key_id}" in out


def test_a_chain_recomputed_unkeyed_fails(scene: Harness) -> None:
    rechain(scene, None, None, start=3)  # the old unkeyed rule, as anyone could recompute it
    code, out = cli(scene.config.base_dir, "audit", "verify")
    assert code == 1 and names(out) == {"unkeyed_after_keyed", "anchor_mismatch"}
    assert "rows 3–4 are unkeyed after keyed rows began at row 1" in out
    rechain(scene, None, None)  # the whole chain: only the anchor can tell
    code, out = cli(scene.config.base_dir, "audit", "verify")
    assert code == 1 and names(out) == {"anchor_mismatch"}


def test_verify_never_generates_a_key_nor_touches_the_schema(tmp_path: Path) -> None:
    write_config(tmp_path, f"sqlite:///{tmp_path / 'fresh.db'}")
    with pytest.raises(StartupError, match="no database at"):  # one line, exit 2, in main()
        cli(tmp_path, "audit", "verify")
    assert not (tmp_path / "fresh.db").exists() and not (tmp_path / "data" / "audit.key").exists()
    (tmp_path / "fresh.db").touch()  # a database without Sunlight's tables
    code, out = cli(tmp_path, "audit", "verify")
    assert not (tmp_path / "data" / "audit.key").exists()
    assert code == 1 and names(out) == {"unreadable"}  # no tables: nothing was created
    assert "sunlight_chain_head cannot be read" in out


def test_commands_that_write_generate_the_key_once_with_mode_0600(tmp_path: Path) -> None:
    write_config(tmp_path, f"sqlite:///{tmp_path / 'fresh.db'}")
    code, out = cli(tmp_path, "db", "upgrade")
    key = tmp_path / "data" / "audit.key"
    assert code == 0 and key.stat().st_mode & 0o777 == 0o600
    first = read_key_file(key)
    assert out.strip() == f"schema is up to date; history signed with key {first.key_id}"
    assert cli(tmp_path, "db", "upgrade")[0] == 0 and read_key_file(key) == first


def test_rotation_with_previous_key_files_verifies(tmp_path: Path, any_db_url: str) -> None:
    h = harness_for(tmp_path, any_db_url)
    try:
        feed(h)
        old = h.key_id()
    finally:
        h.app.dispose()
    new = generate(tmp_path / "data" / "audit-2027.key")
    # Without the retired key the writers refuse to extend the chain (and verify names it).
    only_new = build(
        load_config(write_config(tmp_path, any_db_url, audit={"key_file": "data/audit-2027.key"}))
    )
    try:
        with pytest.raises(
            AuditKeyError, match=f"signed with key {old}, but the configured key is {new.key_id}"
        ):
            only_new.prepare_audit()
    finally:
        only_new.dispose()
    h = harness_for(
        tmp_path,
        any_db_url,
        audit={"key_file": "data/audit-2027.key", "previous_key_files": ["data/audit.key"]},
    )
    try:
        assert h.key_id() == new.key_id
        h.load(case("C4"), event("C4", "accepted", "2026-11-02 09:00"))
        h.poll(T0 + HOUR)
        with h.app.state.connect() as conn:
            ids = (
                conn.execute(select(alert_history.c.key_id).order_by(alert_history.c.chain_seq))
                .scalars()
                .all()
            )
        assert ids == [old] * 4 + [new.key_id]
        code, out = cli(tmp_path, "audit", "verify")
        assert code == 0, out
        assert f"signed with key {', '.join(sorted([old, new.key_id]))}" in out
    finally:
        h.app.dispose()


def test_rows_from_before_the_keyed_chain_verify_as_unkeyed(tmp_path: Path, any_db_url: str) -> None:
    h = harness_for(tmp_path, any_db_url)
    try:
        h.load(item(), case("C1"), event("C1", "accepted", "2026-11-03 09:00"))
        h.poll(bj("2026-11-20 10:00"))
        rechain(h, None, None)  # as revision 0003 finds a chain written before it
        h.load(case("C2"), event("C2", "accepted", "2026-11-02 09:00"))
        h.poll(T0)
        report = h.verify()
        assert report.ok, report.findings
        assert "rows 1–1 unkeyed (before 2026-11-20)" in report.summary
        with h.app.state.begin() as conn:  # an unkeyed row is still checked, by SHA-256
            conn.execute(update(alert_history).where(alert_history.c.chain_seq == 1).values(actor="someone"))
        assert "rows 1 were edited after they were written (hash mismatch under SHA-256 (unkeyed))" in str(
            h.verify().findings
        )
    finally:
        h.app.dispose()


# -- anchors ------------------------------------------------------------------------------


def test_the_anchor_file_is_appended_at_the_interval_and_compares_the_hash(scene: Harness) -> None:
    path = anchor_file(scene)
    [first] = read_anchors(path)[0]
    assert (first.seq, first.key_id) == (4, scene.key_id())
    scene.load(case("C4"), event("C4", "accepted", "2026-11-02 09:00"))
    scene.poll(T0 + timedelta(minutes=10))
    assert not anchor_head(scene.app.state, path, T0 + timedelta(minutes=59), HOUR).due
    written = anchor_head(scene.app.state, path, T0 + HOUR, HOUR).written
    assert written is not None and written.seq == 5
    # An unchanged head is not written again, however much later.
    assert anchor_head(scene.app.state, path, T0 + 5 * HOUR, HOUR).written is None
    assert [a.seq for a in read_anchors(path)[0]] == [4, 5]
    # The same seq with another HMAC (the row rewritten by whoever holds the key) is not "unchanged".
    with scene.app.state.begin() as conn:
        conn.execute(update(alert_history).where(alert_history.c.chain_seq == 5).values(actor="someone"))
    assert scene.app.keys is not None
    rechain(scene, scene.app.keys.current, scene.key_id(), start=5)
    assert scene.verify().ok  # the chain itself is consistent again: only the anchor knows
    outcome = anchor_head(scene.app.state, path, T0 + 7 * HOUR, HOUR)
    assert outcome.written is None and any("does not carry the HMAC" in p for p in outcome.problems)
    assert [a.seq for a in read_anchors(path)[0]] == [4, 5]  # nothing vouched for the rewrite
    code, out = cli(scene.config.base_dir, "audit", "verify")
    assert code == 1 and names(out) == {"anchor_mismatch"} and "row 5 does not carry the HMAC" in out


def test_the_daemon_reports_a_chain_that_breaks_its_anchor(scene: Harness) -> None:
    from monitor.daemon.run import Daemon

    with scene.app.state.begin() as conn:
        conn.execute(delete(alert_history).where(alert_history.c.chain_seq == 4))
        conn.execute(update(chain_head).values(seq=3))
    daemon = Daemon(scene.app, fixed_now=T0 + 2 * HOUR)
    daemon.anchor()
    assert scene.app.metrics.registry.get_sample_value("sunlight_audit_chain_consistent") == 0
    assert [a.seq for a in read_anchors(anchor_file(scene))[0]] == [4]


def test_audit_anchor_prints_the_head_and_appends_it(scene: Harness) -> None:
    with scene.app.state.connect() as conn:
        head = read_head(conn)
    assert head is not None
    code, out = cli(scene.config.base_dir, "audit", "anchor")
    assert code == 0, out
    assert out.splitlines()[0].startswith(f"存证链：第4条，校验码 {head.hash[:12]} (row 4, hmac {head.hash}")
    assert [a.seq for a in read_anchors(anchor_file(scene))[0]] == [4, 4]


def test_the_digest_carries_the_head_and_verify_takes_it_as_an_anchor(
    tmp_path: Path, any_db_url: str
) -> None:
    daily = {
        "routes": {
            "discipline_office": {"recipients": ["jjjc@example.gov.cn"], "levels": ["red"], "mode": "daily"},
            "department": {"recipients": ["dept@example.gov.cn"], "levels": ["yellow", "red"]},
        }
    }
    h = harness_for(tmp_path, any_db_url, notify=daily)
    try:
        feed(h)
        anchor_file(h).unlink()  # the office's copy of the digest is the only anchor left
        assert build_digests(h.app.state, h.config.notify, bj("2026-11-25 09:00"), h.config.tz) == 1
        with h.app.state.connect() as conn:
            head = read_head(conn)
            body = conn.execute(select(notices.c.body_text).where(notices.c.kind == "digest")).scalar_one()
            html = conn.execute(select(notices.c.body_html).where(notices.c.kind == "digest")).scalar_one()
        assert head is not None
        line = f"存证链：第{head.seq}条，校验码 {head.hash[:12]}"
        assert line in body and line in html
        assert "记录已存证，任何改动均可查验" in body and "不可篡改" not in body
        given = f"{head.seq}:{head.hash[:12]}"
        assert cli(tmp_path, "audit", "verify", "--anchor", given)[0] == 0
        code, out = cli(tmp_path, "audit", "verify")
        assert code == 1 and names(out) == {"no_anchor"}
        with h.app.state.begin() as conn:
            conn.execute(delete(alert_history).where(alert_history.c.chain_seq == head.seq))
            conn.execute(update(chain_head).values(seq=head.seq - 1))
        code, out = cli(tmp_path, "audit", "verify", "--anchor", given)
        assert code == 1 and "truncated" in names(out)
        assert f"but the anchor (--anchor: row {head.seq}, {head.hash[:12]}) records row {head.seq}" in out
    finally:
        h.app.dispose()


def test_a_notice_claims_the_evidence_only_when_the_change_is_signed(scene: Harness) -> None:
    [body, *_] = [n.body_text for n in scene.notices() if n.kind == "raised"]
    assert "记录已存证，任何改动均可查验" in body and "不可篡改" not in body


# -- sunlight check -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("missing", "audit key file {folder}/keys/audit.key does not exist"),
        ("short", "audit key file {folder}/keys/audit.key holds 5 bytes; a key needs at least 32"),
        ("directory", "audit key file {folder}/keys/audit.key cannot be read"),
        ("env", "audit key SUNLIGHT_AUDIT_KEY holds 8 bytes; a key needs at least 32"),
    ],
)
def test_check_reports_a_bad_audit_key_in_one_line(tmp_path: Path, setup: str, expected: str) -> None:
    write_config(tmp_path, f"sqlite:///{tmp_path / 'x.db'}", audit={"key_file": "keys/audit.key"})
    key = tmp_path / "keys" / "audit.key"
    key.parent.mkdir()
    env: dict[str, str | None] = {}
    if setup == "short":
        key.write_text("short\n")
    elif setup == "directory":
        key.mkdir()
    elif setup == "env":
        env["SUNLIGHT_AUDIT_KEY"] = "tooshort"
    code, out = cli(tmp_path, "check", env=env)
    assert code == 2
    assert expected.format(folder=tmp_path) in out.splitlines()[0]


def test_check_accepts_a_good_key_and_names_its_id(tmp_path: Path) -> None:
    write_config(tmp_path, f"sqlite:///{tmp_path / 'x.db'}")
    key = generate(tmp_path / "data" / "audit.key")
    code, out = cli(tmp_path, "check")
    assert code == 0, out
    assert f"audit key {key.key_id} from file {tmp_path}/data/audit.key" in out
    assert "warning" not in out
    (tmp_path / "data" / "audit.key").chmod(0o644)
    code, out = cli(tmp_path, "check")
    assert code == 0 and f"warning: audit key file {tmp_path}/data/audit.key is open beyond its owner" in out


def test_the_key_cannot_be_written_into_the_configuration(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(json.dumps({"audit": {"key": "x" * 40}}), encoding="utf-8")
    with pytest.raises(ConfigError, match="must not be in the configuration file; set SUNLIGHT_AUDIT_KEY"):
        cli(tmp_path, "check")


def test_revision_0003_keeps_an_unkeyed_chain_verifiable(tmp_path: Path, any_db_url: str) -> None:
    """A database at revision 0002 with a SHA-256 chain: the upgrade adds the key ids, the
    old rows verify as unkeyed, and new rows are keyed on top of them."""
    from alembic import command

    from monitor.state.db import _config as alembic_config

    old = build(load_config(write_config(tmp_path, any_db_url), environ={}), create=True)
    try:
        if old.config.database.manages_source:
            from monitor.state.db import upgrade

            upgrade(old.source, "source")
        cfg = alembic_config("state")
        with old.state.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0002_state_source")
            at = bj("2026-11-01 09:00")
            digest = row_hash(None, GENESIS, 1, 0, at, "silence_added", None, "李主任", {"reason": "测试"})
            columns = "chain_seq, alert_id, at, action, level, actor, detail, prev_hash, hash"
            conn.execute(
                text(
                    f"INSERT INTO sunlight_alert_history ({columns}) "
                    "VALUES (1, 0, :at, 'silence_added', NULL, '李主任', :detail, :prev, :hash)"
                ),
                {"at": stored(at), "detail": '{"reason": "测试"}', "prev": GENESIS, "hash": digest},
            )
            conn.execute(text("UPDATE sunlight_chain_head SET seq = 1, hash = :h"), {"h": digest})
    finally:
        old.dispose()
    h = harness_for(tmp_path, any_db_url)  # upgrades to 0003 and makes the key, as `run` does
    try:
        h.load(item(), case("C1"), event("C1", "accepted", "2026-11-03 09:00"))
        h.poll(T0)
        with h.app.state.connect() as conn:
            ids = (
                conn.execute(select(alert_history.c.key_id).order_by(alert_history.c.chain_seq))
                .scalars()
                .all()
            )
        assert ids == [None, h.key_id()]
        report = h.verify()
        assert report.ok, report.findings
        assert report.summary.startswith("2 history rows intact; rows 1–1 unkeyed (before 2026-11-01)")
    finally:
        h.app.dispose()
