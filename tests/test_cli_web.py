"""`sunlight web` as an operator starts it, and the quick start's demo accounts."""

from __future__ import annotations

import os
import re
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from monitor.config import load_config
from monitor.users import authenticate
from tests.conftest import Harness, bj, run_cli, upgraded, write_config


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_web_refuses_a_server_database_without_a_secret(tmp_path: Path) -> None:
    config = write_config(tmp_path, "postgresql+psycopg://sunlight@127.0.0.1:1/nowhere")
    r = run_cli(config, "web")
    assert r.returncode == 2
    assert "SUNLIGHT_WEB_SECRET" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_web_serves_the_console(tmp_path: Path, sqlite_url: str) -> None:
    config = upgraded(write_config(tmp_path, sqlite_url))
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUNLIGHT_")}
    env["SUNLIGHT_CONFIG"] = str(config)
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "web", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        answer = None
        for _ in range(100):  # the process starts in about a second; no fixed sleep
            try:
                answer = urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2)
                break
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.1)
        assert answer is not None, "the console did not answer"
        with answer:
            assert answer.status == 200 and "用户登录" in answer.read().decode()
            assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as health:
            assert health.read() == b"ok\n"
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    assert f"console at http://127.0.0.1:8080 (listening on 127.0.0.1:{port})" in out, err
    secret = tmp_path / "data" / "web.secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600


def test_demo_accounts_are_made_once_and_printed(tmp_path: Path, sqlite_url: str) -> None:
    config = upgraded(write_config(tmp_path, sqlite_url))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUNLIGHT_")}
    env["SUNLIGHT_CONFIG"] = str(config)

    def run() -> str:
        done = subprocess.run(
            [sys.executable, "-m", "monitor.users.demo"], env=env, capture_output=True, text=True, check=True
        )
        return done.stdout

    first = run()
    made = dict(re.findall(r"^\s+(\w+)\s+密码 (\S+)", first, re.M))
    assert set(made) == {"jjjc", "scjg", "zrzy", "yunwei"}
    again = run()
    assert "密码 " not in again and again.count("已存在") == 4
    kept = tmp_path / "data" / "demo-accounts.txt"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    h = Harness(load_config(config, environ={}))
    try:
        actor = authenticate(h.app.state, "scjg", made["scjg"], bj("2026-11-23 09:00"))
        assert (actor.role, actor.department) == ("department", "市市场监督管理局")
    finally:
        h.app.dispose()


def test_the_demo_shows_the_loop_in_its_three_states_once(tmp_path: Path, sqlite_url: str) -> None:
    from sqlalchemy import select

    from monitor.state.schema import supervisions
    from monitor.users.demo import create
    from monitor.users.demo import supervisions as demo_loop
    from tests.conftest import case, event, item

    config = load_config(upgraded(write_config(tmp_path, sqlite_url)), environ={})
    h = Harness(config)
    try:
        h.load(
            item(),
            item("XK-2", department="市自然资源和规划局"),
            *(x for n in (1, 2) for x in (case(f"M{n}"), event(f"M{n}", "accepted", "2026-11-02 09:00"))),
            case("Z1", "XK-2", "市自然资源和规划局"),
            event("Z1", "accepted", "2026-11-02 09:00"),
        )
        h.poll(bj("2026-11-23 10:00"))
        create(config)
        lines = demo_loop(config, bj("2026-11-23 10:05"))
        assert [line.split("：")[-1] for line in lines] == ["待答复", "已答复，待裁定", "已裁定"]
        assert "〔2026〕1号 市市场监督管理局" in lines[0]
        assert demo_loop(config, bj("2026-11-23 10:10")) == []  # once
        with h.app.state.connect() as conn:
            states = [r.state for r in conn.execute(select(supervisions).order_by(supervisions.c.id))]
        assert states == ["issued", "replied", "ruled"]
        assert h.verify().ok
    finally:
        h.app.dispose()
