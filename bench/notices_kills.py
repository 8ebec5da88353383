"""Benchmark: notices lost and duplicated when the daemon is killed (SIGKILL) while it sends.

Queues N notices (2,000 by default) in a fresh state database, starts an SMTP server in this
process (aiosmtpd on 127.0.0.1, counting the Message-ID of every message it accepts) and runs
the real daemon (`sunlight run`) in a child process. Each time the daemon has begun to send,
it is killed with SIGKILL at a random moment (`--kills`, 16 by default) and started again.
After the last kill it runs until the outbox is empty, then stops with SIGTERM.

    .venv/bin/python bench/notices_kills.py
    .venv/bin/python bench/notices_kills.py --notices 2000 --kills 16 --seed 7
    .venv/bin/python bench/notices_kills.py --db postgresql+psycopg://postgres@127.0.0.1:5432/test

It prints the messages the server accepted, the duplicates among them (the same Message-ID
accepted more than once) and the notices lost (queued, never accepted). The exit status is 1
when a notice was lost or the outbox did not empty. Run it with PYTHONPATH pointing at another
checkout to measure that code instead (an older `notify` without `claim_lease_seconds` is
given none). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import Engine, func, make_url, select, text

from alerts.outbox import message_id
from monitor.app import build
from monitor.config import Config, DatabaseConfig, MetricsConfig, NotifyConfig
from monitor.state.db import make_engine
from monitor.state.schema import notices

ROOT = Path(__file__).resolve().parent.parent
MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)
LEASE_SECONDS = 2.0  # short, so a killed daemon's claim comes back within the run


class Counting:
    """Accepts everything and counts each Message-ID it saw."""

    def __init__(self) -> None:
        self.ids: Counter[str] = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        found = MESSAGE_ID.search(envelope.original_content or b"")
        with self.lock:
            self.ids[found.group(1).decode() if found else "(none)"] += 1
        return "250 2.0.0 accepted"

    def total(self) -> int:
        with self.lock:
            return sum(self.ids.values())


def outbox(engine: Engine) -> dict[str, int]:
    """Notices by status (read directly, so that an older sender's code can be measured too)."""
    with engine.connect() as conn:
        rows = conn.execute(select(notices.c.status, func.count()).group_by(notices.c.status)).all()
    return {str(status): int(n) for status, n in rows}


def undelivered(engine: Engine) -> int:
    counts = outbox(engine)
    return counts.get("pending", 0) + counts.get("sending", 0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scratch(url: str | None, folder: Path) -> tuple[str, str | None]:
    """The state database URL, and the server database to drop afterwards (if any)."""
    if url is None:
        return f"sqlite:///{folder / 'state.db'}", None
    name = f"sunlight_bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(url)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False), name


def drop(url: str, name: str) -> None:
    admin = make_engine(url)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        force = " WITH (FORCE)" if admin.dialect.name == "postgresql" else ""
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}{force}"))
    admin.dispose()


def queue(config: Config, n: int, now: datetime) -> list[str]:
    """N pending notices of realistic size; returns their Message-IDs."""
    app = build(config, create=True)  # the SQLite file is new: build may create it
    app.upgrade()
    rows = []
    for i in range(1, n + 1):
        recipient = ("jjjc@example.gov.cn", "scjg@example.gov.cn")[i % 2]
        route = ("discipline_office", "department")[i % 2]
        rows.append(
            {
                "alert_id": None,  # no alert: the history chain is not what this measures
                "kind": "report",
                "route": route,
                "recipient": recipient,
                "subject": f"【阳光监察·红牌】市市场监督管理局｜承诺时限内未办结｜办件 BENCH-{i:06d}",
                "body_text": "纪检监察室（效能监察科）：\n\n" + "办理过程：2026-11-03 09:00 受理环节\n" * 40,
                "body_html": "<p>纪检监察室（效能监察科）：</p>" + "<p>2026-11-03 09:00 受理环节</p>" * 40,
                "message_id": message_id(i, 1, route, recipient),
                "status": "pending",
                "attempts": 0,
                "created_at": now,
                "next_attempt_at": now,
            }
        )
    with app.state.begin() as conn:
        conn.execute(notices.insert(), rows)
    app.dispose()
    return [str(r["message_id"]) for r in rows]


def write_config(folder: Path, db_url: str, smtp_port: int) -> Path:
    notify: dict[str, Any] = {
        "smtp": {"url": f"smtp://127.0.0.1:{smtp_port}", "timeout_seconds": 10},
        "retry_base_seconds": 1,
        "retry_max_seconds": 2,
    }
    if "claim_lease_seconds" in NotifyConfig.model_fields:
        notify["claim_lease_seconds"] = LEASE_SECONDS
    body = {
        "database": {"url": db_url},
        "rules": {"path": str(ROOT / "rules"), "calendar": str(ROOT / "rules" / "calendar")},
        "metrics": {"enabled": False},
        "daemon": {"poll_interval_seconds": 0.5, "log_level": "WARNING"},
        "notify": notify,
    }
    path = folder / "config.yaml"
    path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")  # JSON is YAML
    return path


def start_daemon(config: Path, log: Any) -> subprocess.Popen[bytes]:
    """`sunlight run`, from the same code as this script (the package, or PYTHONPATH)."""
    env = {**os.environ, "SUNLIGHT_CONFIG": str(config)}
    return subprocess.Popen(
        [sys.executable, "-c", "from monitor.cli import main; main()", "run"],
        env=env,
        cwd=config.parent,  # not the caller's folder: `-c` puts it first on the path
        stdout=log,
        stderr=log,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--notices", type=int, default=2000, help="how many to queue (2000)")
    parser.add_argument("--kills", type=int, default=16, help="SIGKILLs while sending (16)")
    parser.add_argument("--seed", type=int, default=1, help="for the kill moments")
    parser.add_argument("--max-delay", type=float, default=0.6, help="longest wait after sending began (s)")
    parser.add_argument("--db", help="a PostgreSQL or MariaDB server URL (default: SQLite)")
    parser.add_argument("--timeout", type=float, default=300.0, help="give up after this long (s)")
    args = parser.parse_args(argv)
    logging.getLogger("mail.log").setLevel(logging.ERROR)

    rng = random.Random(args.seed)
    folder = Path(tempfile.mkdtemp(prefix="sunlight-kills-"))
    db_url, scratch_name = scratch(args.db, folder)
    port = free_port()
    handler = Counting()
    controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    config_path = write_config(folder, db_url, port)
    config = Config(
        database=DatabaseConfig(url=db_url), metrics=MetricsConfig(enabled=False), base_dir=folder
    )
    queued = queue(config, args.notices, datetime.now(UTC))
    app = build(config)
    daemon_log = (folder / "daemon.log").open("ab")
    deadline = time.monotonic() + args.timeout
    kills: list[tuple[float, int]] = []  # seconds after sending began, messages received by then
    started = time.monotonic()
    try:
        for _ in range(args.kills):
            before = handler.total()
            if undelivered(app.state) == 0:
                break  # everything went out before the kills ran out
            proc = start_daemon(config_path, daemon_log)
            while handler.total() == before and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.005)
            delay = rng.uniform(0, args.max_delay)
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills.append((delay, handler.total()))
        proc = start_daemon(config_path, daemon_log)
        while time.monotonic() < deadline:
            if undelivered(app.state) == 0:
                break
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        seconds = time.monotonic() - started
        left = outbox(app.state)
    finally:
        daemon_log.close()
        app.dispose()
        controller.stop()
        if scratch_name is not None and args.db:
            drop(args.db, scratch_name)

    received = handler.ids
    accepted = sum(received.values())
    unique = len(set(received) & set(queued))
    lost = len(queued) - unique
    duplicates = accepted - len(received)
    exe = Path(sys.executable)
    python = str(exe.relative_to(Path.cwd())) if exe.is_relative_to(Path.cwd()) else str(exe)
    code = os.environ.get("PYTHONPATH") or "installed package"
    print(f"command:    {shlex.join([python, *sys.argv])}")
    lease = (
        f"claim lease {LEASE_SECONDS:.0f} s"
        if "claim_lease_seconds" in NotifyConfig.model_fields
        else "no lease"
    )
    print(f"code:       {code}; state: {make_url(db_url).get_backend_name()}; {lease}")
    print(
        f"kills:      {len(kills)} SIGKILLs, 0-{args.max_delay:.1f} s after sending began (seed {args.seed})"
    )
    print(f"queued:     {len(queued)} notices")
    print(f"accepted:   {accepted} messages, {len(received)} distinct Message-IDs, in {seconds:.1f} s")
    print(f"duplicates: {duplicates} ({duplicates / max(len(kills), 1):.1f} per kill)")
    print(f"lost:       {lost}")
    print("outbox:     " + ", ".join(f"{n} {status}" for status, n in sorted(left.items())))
    print(f"daemon log: {folder / 'daemon.log'}")
    return 0 if lost == 0 and left.get("pending", 0) + left.get("sending", 0) == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
