"""Benchmark: a real first start, `sunlight demo --cases N` then `sunlight run --once`.

In a fresh temporary folder, with a config of its own, it loads the realistic demo (the
`sunlight demo` command, in a child process) and runs one pass and one send (`sunlight run
--once`, another child process) as an operator would on a new installation, and prints one
table row per run: the demo's load time, the run's wall time, the pass's cases a second (from
the `pass as of ...` line), the notices queued and sent, the rate of the sending part, and the
peak RSS of the run's process.

    .venv/bin/python bench/firststart.py                          # 100,000 cases, SQLite, .eml
    .venv/bin/python bench/firststart.py --repeat 3               # three runs and their median
    .venv/bin/python bench/firststart.py --url postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/firststart.py --cases 20000 --smtp     # to aiosmtpd, one connection

Without --smtp the notices go to .eml files (the embedded default); with it, to an aiosmtpd
server in this process (plain smtp:// on 127.0.0.1, counting connections as bench/notices.py
does). With --url it creates a scratch database on that server, runs there, and drops it.
The sending part runs from the pass's `pass done` log line to the last notice written (the
newest .eml file's mtime) or accepted (the server's clock): digests, reminders, the claim,
building the messages and delivering them. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

# Run as a script, bench/ is on the path: the connection-counting server of the notices bench.
from notices import CountingController
from sqlalchemy import create_engine, make_url, text

ROOT = Path(__file__).resolve().parent.parent
# The child processes import the installed build first, the source tree after it.
CHILD = f"import sys; sys.path.append({str(ROOT)!r}); from monitor.cli import main; main()"
PASS_LINE = re.compile(
    r"pass as of \S+: (?P<events>\d+) events, (?P<cases>\d+) cases evaluated, "
    r"(?P<changes>\d+) alert changes, (?P<queued>\d+) notices queued, (?P<sent>\d+) sent "
    r"\((?P<seconds>[\d.]+)s\)"
)


class Sink:
    """Counts what the server accepts and when it accepted the last message."""

    def __init__(self) -> None:
        self.accepted = 0
        self.connections = 0
        self.last = 0.0
        self.lock = threading.Lock()

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        with self.lock:
            self.accepted += 1
            self.last = time.time()
        return "250 2.0.0 accepted"


@dataclass(frozen=True, slots=True)
class Run:
    demo_s: float
    wall_s: float
    pass_s: float
    cases: int
    cases_per_s: float
    queued: int
    sent: int
    send_s: float
    notices_per_s: float
    rss_mb: float
    pass_rss_mb: float
    demo_rss_mb: float
    load_before: float
    load_after: float


@dataclass(frozen=True, slots=True)
class Child:
    stdout: str
    stderr: str
    seconds: float
    rss_mb: float
    pass_done: float | None  # time.time() when the `pass done` log line arrived
    pass_rss_mb: float  # the process's peak RSS (VmHWM) then: the pass's, before any sending


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def child_env() -> dict[str, str]:
    """The environment without any SUNLIGHT_* variable: the folder's config says it all."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SUNLIGHT_")}


def run_child(args: Sequence[str], folder: Path) -> Child:
    """Run `sunlight ARGS` in `folder`; its peak RSS comes from wait4, so it is this child's
    alone (RUSAGE_CHILDREN would be the largest of all children so far)."""
    out_file = folder / f"{args[0]}.stdout"
    with out_file.open("wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, "--config", str(folder / "config.yaml"), *args],
            cwd=folder,
            env=child_env(),
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines: list[str] = []
        seen: list[float] = []
        peak: list[float] = []

        def read() -> None:
            assert proc.stderr is not None
            for line in proc.stderr:
                lines.append(line)
                if not seen and "pass done:" in line:
                    seen.append(time.time())
                    peak.append(high_water_mb(proc.pid))

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        reader.join(30)
    stdout = out_file.read_text(encoding="utf-8")
    stderr = "".join(lines)
    if proc.returncode != 0:
        sys.exit(f"sunlight {shlex.join(args)} exited {proc.returncode}:\n{stdout}{stderr[-4000:]}")
    return Child(
        stdout, stderr, seconds, usage.ru_maxrss / 1024, seen[0] if seen else None, peak[0] if peak else 0.0
    )


def high_water_mb(pid: int) -> float:
    """A running process's peak RSS so far (Linux), 0 where /proc cannot tell."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except OSError:
        return 0.0
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(found[1]) / 1024 if found else 0.0


@contextmanager
def scratch_database(url: str | None, folder: Path) -> Iterator[str]:
    """SQLite in the folder, or a scratch database on the server of `url`, dropped after."""
    if url is None:
        yield f"sqlite:///{folder / 'sunlight.db'}"
        return
    server = make_url(url)
    name = f"sunlight_firststart_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE {name}"))
    finally:
        admin.dispose()


def write_config(folder: Path, url: str, smtp_url: str | None) -> None:
    smtp = f'"{smtp_url}"' if smtp_url else "null"
    (folder / "config.yaml").write_text(
        f"""timezone: Asia/Shanghai
database:
  url: "{url}"
  auto_upgrade: true
rules:
  path: "{ROOT / "rules"}"
  calendar: "{ROOT / "rules" / "calendar"}"
metrics:
  enabled: false
notify:
  eml_dir: outbox
  smtp:
    url: {smtp}
    sender: "阳光监察 <sunlight@example.gov.cn>"
  routes:
    discipline_office:
      recipients: ["xiaonengjiancha@jjjc.example.gov.cn"]
      levels: [red]
    department:
      recipients: ["zhengwu@example.gov.cn"]
      by_department:
        市市场监督管理局: ["scjg-fzk@example.gov.cn"]
        市自然资源和规划局: ["zrzy-bgs@example.gov.cn"]
      levels: [yellow, red]
    operators:
      recipients: ["yunwei@example.gov.cn"]
""",
        encoding="utf-8",
    )


def one_run(cases: int, url: str | None, smtp: bool, seed: int, keep: bool) -> Run:
    folder = Path(tempfile.mkdtemp(prefix="sunlight-firststart-"))
    sink = Sink()
    controller: CountingController | None = None
    port = free_port() if smtp else 0
    try:
        if smtp:
            controller = CountingController(sink, hostname="127.0.0.1", port=port)
            controller.start()
            sink.connections = 0  # the controller's own start-up probe is not ours
        with scratch_database(url, folder) as db_url:
            write_config(folder, db_url, f"smtp://127.0.0.1:{port}" if smtp else None)
            now = datetime.now(UTC).replace(microsecond=0).isoformat()
            demo = run_child(["demo", "--cases", str(cases), "--seed", str(seed), "--now", now], folder)
            load_before = os.getloadavg()[0]
            run = run_child(["run", "--once", "--now", now], folder)
            load_after = os.getloadavg()[0]
        found = PASS_LINE.search(run.stdout)
        if found is None:
            sys.exit(f"no `pass as of` line in the output of `sunlight run --once`:\n{run.stdout}")
        sent = int(found["sent"])
        if smtp:
            last = sink.last
            if sink.accepted != sent:  # one connection per batch of a hundred (deliver_all)
                print(
                    f"warning: the server accepted {sink.accepted} of {sent} over "
                    f"{sink.connections} connection(s)",
                    file=sys.stderr,
                )
        else:
            emls = list((folder / "outbox").glob("*.eml"))
            last = max((p.stat().st_mtime for p in emls), default=0.0)
            if len(emls) != sent:
                print(f"warning: {len(emls)} .eml files for {sent} sent", file=sys.stderr)
        send_s = last - run.pass_done if run.pass_done is not None and sent else 0.0
        pass_s = float(found["seconds"])
        evaluated = int(found["cases"])
        return Run(
            demo_s=demo.seconds,
            wall_s=run.seconds,
            pass_s=pass_s,
            cases=evaluated,
            cases_per_s=evaluated / pass_s if pass_s else 0.0,
            queued=int(found["queued"]),
            sent=sent,
            send_s=send_s,
            notices_per_s=sent / send_s if send_s > 0 else 0.0,
            rss_mb=run.rss_mb,
            pass_rss_mb=run.pass_rss_mb,
            demo_rss_mb=demo.rss_mb,
            load_before=load_before,
            load_after=load_after,
        )
    finally:
        if controller is not None:
            controller.stop()
        if keep:
            print(f"kept: {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)


HEADER = (
    "| run | demo load s | run --once wall s | pass s | cases/s | queued | sent | sending s "
    "| notices/s | peak RSS MB (run) | … at the pass's end | peak RSS MB (demo) | load avg before → after |"
)


def row(label: str, r: Run) -> str:
    return (
        f"| {label} | {r.demo_s:.1f} | {r.wall_s:.1f} | {r.pass_s:.1f} | {r.cases_per_s:,.0f} "
        f"| {r.queued:,} | {r.sent:,} | {r.send_s:.1f} | {r.notices_per_s:,.0f} | {r.rss_mb:,.0f} "
        f"| {r.pass_rss_mb:,.0f} | {r.demo_rss_mb:,.0f} | {r.load_before:.2f} → {r.load_after:.2f} |"
    )


def median(runs: Sequence[Run]) -> Run:
    values: dict[str, Any] = {}
    for f in fields(Run):
        column = [getattr(r, f.name) for r in runs]
        values[f.name] = statistics.median(column)
    values["cases"] = int(values["cases"])
    values["queued"] = int(values["queued"])
    values["sent"] = int(values["sent"])
    return Run(**values)


def commit() -> str:
    """The last commit that changed what runs: the benchmark's own commits change nothing."""
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "log", "-1", "--format=%h", "--", ".", ":!bench", ":!docs"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=100_000, help="demo cases (100000)")
    parser.add_argument("--url", help="a server to make a scratch database on (default: SQLite)")
    parser.add_argument("--smtp", action="store_true", help="send to aiosmtpd in this process, not .eml")
    parser.add_argument("--repeat", type=int, default=1, help="runs; more than one prints the median")
    parser.add_argument("--seed", type=int, default=1, help="the demo's random seed (1)")
    parser.add_argument("--keep", action="store_true", help="keep each run's folder and print its path")
    args = parser.parse_args(argv)

    backend = make_url(args.url).get_backend_name() if args.url else "sqlite"
    exe = Path(sys.executable)
    python = str(exe.relative_to(Path.cwd())) if exe.is_relative_to(Path.cwd()) else str(exe)
    print(f"command:  {shlex.join([python, *sys.argv])}")
    print(
        f"date:     {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; code of commit {commit()}; "
        f"{os.cpu_count()} cores; {backend}; {args.cases:,} demo cases; "
        f"notices to {'aiosmtpd (smtp://)' if args.smtp else '.eml'}"
    )
    print(HEADER)
    print("|" + "---|" * HEADER.count(" | ") + "---|")
    runs: list[Run] = []
    for i in range(args.repeat):
        runs.append(one_run(args.cases, args.url, args.smtp, args.seed, args.keep))
        print(row(f"{backend} {i + 1}", runs[-1]), flush=True)
    if len(runs) > 1:
        print(row(f"{backend} median of {len(runs)}", median(runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
