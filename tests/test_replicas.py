"""Two daemons on one PostgreSQL share the work; killing one mid-pass loses and doubles nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, Select, func, select

from alerts.sender import drain
from monitor.config import load_config
from monitor.demo import demo_records
from monitor.state.schema import alerts, case_state, notice_attempts, notices
from tests.conftest import Harness, bj, scratch_database, write_config

NOW = bj("2026-11-23 10:00")


def _wait(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)  # waiting on other processes, not on our own clock
    raise AssertionError(f"timed out after {seconds}s waiting for {what}")


def _count(engine: Engine, query: Select[tuple[int]]) -> int:
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def _load(h: Harness, cases: int) -> None:
    from monitor.source.importer import import_records
    from monitor.source.records import parse_line

    records = [
        (f"demo:{i}", parse_line(json.dumps(r, ensure_ascii=False)))
        for i, r in enumerate(demo_records(NOW, cases, 7))
    ]
    assert not import_records(h.app.source, records, NOW).errors


def _daemon(config: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUNLIGHT_")}
    env["SUNLIGHT_CONFIG"] = str(config)
    return subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "run", "--now", NOW.isoformat()],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.postgres
def test_two_replicas_share_the_work_and_a_killed_one_loses_nothing(tmp_path: Path) -> None:
    with scratch_database("postgres") as url:
        _two_replicas(tmp_path, url)


def _two_replicas(tmp_path: Path, url: str) -> None:
    daemon_cfg = {"poll_interval_seconds": 0.3, "batch_size": 10}
    config = write_config(tmp_path, url, daemon=daemon_cfg)
    h = Harness(load_config(config, environ={}))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        _load(h, 400)
        state = h.app.state
        procs = [_daemon(config), _daemon(config)]
        evaluated = select(func.count()).select_from(case_state).where(case_state.c.evaluated_at.is_not(None))
        _wait(lambda: _count(state, evaluated) >= 60, 60, "the replicas to start evaluating")
        procs[0].send_signal(signal.SIGKILL)  # mid-pass: its claimed batch must go back to the queue
        procs[0].wait(10)
        due = select(func.count()).select_from(case_state).where(case_state.c.next_check_at <= NOW)
        _wait(
            lambda: _count(state, evaluated) == 400 and _count(state, due) == 0, 120, "every case evaluated"
        )
        pending = select(func.count()).select_from(notices).where(notices.c.status == "pending")
        _wait(lambda: _count(state, pending) == 0, 60, "every notice sent")
        procs[1].send_signal(signal.SIGTERM)
        assert procs[1].wait(30) == 0  # a clean shutdown
        # The notices the killed replica had claimed and not recorded wait for its claim's
        # lease (the daemons' clock is fixed at NOW, so it lapses only for a later sender).
        lease = timedelta(seconds=h.config.notify.claim_lease_seconds)
        later = drain(state, h.app.notifier(), h.config.notify, NOW + lease, limit=10_000)
        assert later.sent == later.lapsed  # only the killed replica's claims were left

        # The same data evaluated by one process on SQLite is the reference.
        (tmp_path / "ref").mkdir()
        ref_cfg = write_config(tmp_path / "ref", f"sqlite:///{tmp_path / 'ref.db'}")
        ref = Harness(load_config(ref_cfg, environ={}))
        _load(ref, 400)
        ref.poll(NOW)
        expected = sorted((a.case_id, a.rule_id, a.level) for a in ref.alerts())
        ref.app.dispose()
        got = sorted((a.case_id, a.rule_id, a.level) for a in h.alerts())
        assert got == expected and len(got) > 50
        with state.connect() as conn:
            dup = conn.execute(
                select(alerts.c.case_id, alerts.c.rule_id)
                .group_by(alerts.c.case_id, alerts.c.rule_id)
                .having(func.count() > 1)
            ).all()
            assert dup == []
            sent_twice = conn.execute(
                select(notice_attempts.c.notice_id)
                .where(notice_attempts.c.ok.is_(True))
                .group_by(notice_attempts.c.notice_id)
                .having(func.count() > 1)
            ).all()
            assert sent_twice == []
            assert conn.execute(
                select(func.count()).select_from(notices).where(notices.c.status == "sent")
            ).scalar_one() == len(h.notices())
            assert h.verify().ok
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)
        h.app.dispose()


def _spawned_children(pid: int) -> list[int]:
    """Processes started by multiprocessing's spawn under `pid` (not its resource tracker)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The command name (field 2, in parentheses) may hold spaces: read after it.
            stat = (entry / "stat").read_text().rpartition(")")[2].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if int(stat[1]) == pid and b"spawn_main" in cmdline:
            out.append(int(entry.name))
    return out


@pytest.mark.postgres
def test_workers_evaluate_in_extra_processes_and_stop_with_the_daemon(tmp_path: Path) -> None:
    with scratch_database("postgres") as url:
        config = write_config(
            tmp_path, url, daemon={"poll_interval_seconds": 0.3, "batch_size": 10, "workers": 3}
        )
        h = Harness(load_config(config, environ={}))
        proc = None
        try:
            _load(h, 200)
            proc = _daemon(config)
            _wait(lambda: len(_spawned_children(proc.pid)) == 2, 60, "two extra evaluation processes")
            evaluated = (
                select(func.count()).select_from(case_state).where(case_state.c.evaluated_at.is_not(None))
            )
            _wait(lambda: _count(h.app.state, evaluated) == 200, 120, "every case evaluated")
            children = _spawned_children(proc.pid)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(60) == 0
            assert all(not Path(f"/proc/{c}").exists() for c in children)  # stopped with the daemon
            assert h.verify().ok
        finally:
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(10)
            h.app.dispose()
