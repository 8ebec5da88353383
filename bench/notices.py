"""Benchmark: notices per second from the outbox to a local SMTP server over one connection,
or to the .eml folder.

Queues N notices in a fresh SQLite state database, starts aiosmtpd on 127.0.0.1 (STARTTLS
and AUTH required, with a throwaway certificate from trustme, unless --plain), and times
one `alerts.sender.drain` of all of them: the claim, building the messages, the SMTP
conversation (one connection: the sender batches) and recording each outcome, in a
transaction of its own, as the server accepts it. With --eml the same drain writes the
folder instead (`EmlNotifier`, the embedded default): outcomes recorded once for the batch.

    .venv/bin/python bench/notices.py                  # 2,000 notices, STARTTLS + AUTH
    .venv/bin/python bench/notices.py --plain          # smtp:// to a local relay, no login
    .venv/bin/python bench/notices.py --eml            # .eml files in a folder
    .venv/bin/python bench/notices.py --notices 10000 --min-rate 100

The server runs in a process of its own, as a mail server would, rather than in a thread
sharing the client's interpreter lock. The figure includes building every message
(`alerts.notify.base.build_message`). Not part of the test suite; the exit status is 1 when
the rate is under --min-rate, or when not every notice was accepted (over exactly one
connection) or written.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import shlex
import shutil
import socket
import ssl
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

import alerts.sender
from alerts.notify.base import Notifier, OnResult, build_message
from alerts.notify.eml import EmlNotifier
from alerts.notify.smtp import SmtpNotifier
from alerts.outbox import message_id
from alerts.sender import drain, stats
from monitor.app import build
from monitor.config import Config, DatabaseConfig, MetricsConfig, NotifyConfig, SmtpConfig
from monitor.errors import DeliveryError
from monitor.state.schema import notices

if TYPE_CHECKING:
    from alerts.notify.mime import Mail

USER, PASSWORD = "bench", "bench-password"
USER_ENV, PASSWORD_ENV = "SUNLIGHT_BENCH_SMTP_USER", "SUNLIGHT_BENCH_SMTP_PASSWORD"

# A notice of realistic size and script: Chinese subject and body, an HTML alternative.
SUBJECT = "【阳光监察·红牌】市市场监督管理局｜承诺时限内未办结｜办件 {case_id}"
TEXT = (
    "纪检监察室（效能监察科）：\n\n"
    "办件 {case_id}（测试事项XK-1，市市场监督管理局）已超过承诺办理时限，现予红牌预警。\n"
    "依据：《行政许可法》第四十二条；承诺时限5个工作日，2026-11-10 24:00到期，超期9个工作日。\n"
    "申请人：张*，身份证 110101********1234，电话 138****8000。\n\n"
    "办理过程：\n" + "".join(f"  2026-11-0{d} 09:00 受理环节 经办人{d} 处理\n" for d in range(3, 10)) + "\n"
    "查看办件：https://zwfw.example.gov.cn/cases/{case_id}\n"
)
HTML = (
    "<!doctype html><html><body><p>纪检监察室（效能监察科）：</p>"
    "<p>办件 <b>{case_id}</b>（测试事项XK-1，市市场监督管理局）已超过承诺办理时限，现予"
    "<b style='color:#c00'>红牌</b>预警。</p><table>"
    + "".join(
        f"<tr><td>2026-11-0{d} 09:00</td><td>受理环节</td><td>经办人{d}</td></tr>" for d in range(3, 10)
    )
    + "</table><p><a href='https://zwfw.example.gov.cn/cases/{case_id}'>查看办件</a></p></body></html>"
)


class Sink:
    """Counts what it accepts; keeps no content, so the server costs as little as it can."""

    def __init__(self) -> None:
        self.accepted = 0
        self.octets = 0
        self.connections = 0
        self.lock = threading.Lock()

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and auth_data == (USER.encode(), PASSWORD.encode())
        return AuthResult(success=ok, handled=False)

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        with self.lock:
            self.accepted += 1
            self.octets += len(envelope.original_content or b"")
        return "250 2.0.0 accepted"


class CountingController(Controller):
    """Counts connections: aiosmtpd builds one SMTP protocol object per connection."""

    def __init__(self, sink: Sink, **kwargs: Any) -> None:
        super().__init__(sink, **kwargs)
        self.sink = sink

    def factory(self) -> SMTP:
        with self.sink.lock:
            self.sink.connections += 1
        return super().factory()  # type: ignore[no-untyped-call,no-any-return]


class TimedCall:
    """A function of `alerts.sender` as the sender calls it, timed: building the messages,
    and recording outcomes, which over SMTP happens inside the conversation (the notifier's
    `on_result`), so it is timed apart from it."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.seconds = 0.0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return self.real(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - start


class Timed:
    """The notifier, with the time spent in SMTP or writing files (as opposed to the
    database) measured."""

    def __init__(self, inner: Notifier, recorder: TimedCall) -> None:
        self.inner, self.recorder = inner, recorder
        self.name = inner.name
        self.idempotent = bool(getattr(inner, "idempotent", False))  # as the sender reads it
        self.seconds = 0.0

    def send_batch(
        self, messages: Sequence[Mail], on_result: OnResult | None = None
    ) -> list[DeliveryError | None]:
        start, recording = time.perf_counter(), self.recorder.seconds
        try:
            return self.inner.send_batch(messages, on_result)
        finally:
            # The records made from on_result, within the conversation, are the database's.
            self.seconds += time.perf_counter() - start - (self.recorder.seconds - recording)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def queue(config: Config, n: int, now: datetime) -> None:
    """N pending notices, inserted as `alerts.outbox.enqueue` would leave them."""
    app = build(config, create=True)
    app.upgrade()
    app.prepare_audit()  # as `run` does: the sender appends each outcome to the keyed history
    rows = []
    for i in range(1, n + 1):
        case_id = f"BENCH-{i:06d}"
        recipient = ("jjjc@example.gov.cn", "scjg@example.gov.cn")[i % 2]
        route = ("discipline_office", "department")[i % 2]
        rows.append(
            {
                "alert_id": i,
                "kind": "raised",
                "route": route,
                "recipient": recipient,
                "subject": SUBJECT.format(case_id=case_id),
                "body_text": TEXT.format(case_id=case_id),
                "body_html": HTML.format(case_id=case_id),
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


def serve(port: int, cert_file: str | None, pipe: Connection) -> None:
    """The SMTP server, in its own process: it must not share the client's interpreter."""
    logging.getLogger("mail.log").setLevel(logging.ERROR)  # aiosmtpd's deprecation chatter
    sink = Sink()
    kwargs: dict[str, Any] = {}
    if cert_file is not None:
        server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_tls.load_cert_chain(cert_file)
        kwargs = {
            "tls_context": server_tls,
            "require_starttls": True,
            "authenticator": sink,
            "auth_required": True,
        }
    controller = CountingController(sink, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    sink.connections = 0  # the controller's own start-up probe is not ours
    pipe.send("ready")
    pipe.recv()  # until the client is done
    controller.stop()
    pipe.send((sink.accepted, sink.octets, sink.connections))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--notices", type=int, default=2000, help="how many to queue and send (2000)")
    parser.add_argument("--plain", action="store_true", help="smtp:// without TLS or login")
    parser.add_argument("--eml", action="store_true", help="to the .eml folder, no SMTP server")
    parser.add_argument("--batch", type=int, help="notices a drain (default: all in one)")
    parser.add_argument("--min-rate", type=float, default=100.0, help="exit 1 below this many per second")
    parser.add_argument("--keep", action="store_true", help="keep the state database and print its path")
    args = parser.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix="sunlight-bench-"))
    port = free_port()
    client_tls: ssl.SSLContext | None = None
    cert_file: str | None = None
    if args.plain or args.eml:
        url = f"smtp://127.0.0.1:{port}"
    else:
        try:
            import trustme
        except ImportError:
            sys.exit("STARTTLS needs trustme (pip install -e '.[dev]'), or run with --plain")
        ca = trustme.CA()
        cert_file = str(folder / "server.pem")
        ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(cert_file)
        client_tls = ssl.create_default_context()
        ca.configure_trust(client_tls)
        url = f"smtp+starttls://127.0.0.1:{port}"
        os.environ[USER_ENV], os.environ[PASSWORD_ENV] = USER, PASSWORD
    config = Config(
        database=DatabaseConfig(url=f"sqlite:///{folder / 'state.db'}"),
        metrics=MetricsConfig(enabled=False),
        notify=NotifyConfig(
            smtp=SmtpConfig(url=url, username_env=USER_ENV, password_env=PASSWORD_ENV, timeout_seconds=30)
        ),
        base_dir=folder,
    )
    now = datetime.now(UTC)
    queue(config, args.notices, now)
    batch = args.batch or args.notices

    server: Any = None
    ours, theirs = multiprocessing.get_context("spawn").Pipe()
    if not args.eml:
        server = multiprocessing.get_context("spawn").Process(target=serve, args=(port, cert_file, theirs))
        server.start()
    app = build(config)
    outbox_dir = folder / "outbox"
    try:
        if server is not None and (not ours.poll(30) or ours.recv() != "ready"):
            sys.exit("the SMTP server did not start")
        builder = TimedCall(build_message)
        sender_module: Any = alerts.sender  # the names drain looks up, replaced by timed ones
        sender_module.build_message = builder
        # `record` since the claims and records moved to alerts.claims; `_record` before, so
        # that PYTHONPATH=<an older checkout> measures that code with this script.
        name = "record" if hasattr(sender_module, "record") else "_record"
        recorder = TimedCall(getattr(sender_module, name))
        setattr(sender_module, name, recorder)
        inner: Notifier = (
            EmlNotifier(outbox_dir) if args.eml else SmtpNotifier(config.notify.smtp, tls_context=client_tls)
        )
        notifier = Timed(inner, recorder)
        sent = failed = retrying = 0
        start = time.perf_counter()
        while True:
            result = drain(app.state, notifier, config.notify, now + timedelta(seconds=1), limit=batch)
            sent, failed, retrying = sent + result.sent, failed + result.failed, retrying + result.retrying
            if not result.worked or sent + failed + retrying >= args.notices:
                break
        seconds = time.perf_counter() - start
        outbox = stats(app.state)
        if server is not None:
            ours.send("stop")
            accepted, octets, connections = ours.recv()
        else:
            files = list(outbox_dir.glob("*.eml"))
            accepted, octets, connections = len(files), sum(f.stat().st_size for f in files), 0
    finally:
        if server is not None:
            server.join(30)
            if server.is_alive():
                server.terminate()
        app.dispose()

    rate = sent / seconds if seconds else 0.0
    mode = "smtp:// plain" if args.plain else "STARTTLS + AUTH"
    out_s, build_s = notifier.seconds, builder.seconds
    db_s = seconds - out_s - build_s  # the claims, and the outcomes' records
    exe = Path(sys.executable)
    python = str(exe.relative_to(Path.cwd())) if exe.is_relative_to(Path.cwd()) else str(exe)
    print(f"command:   {shlex.join([python, *sys.argv])}")
    drains = f"drains of {batch}" if batch < args.notices else "one drain"
    if args.eml:
        print(f"to:        .eml files in {outbox_dir}; state: SQLite; {drains}")
    else:
        print(f"server:    aiosmtpd in another process on 127.0.0.1:{port} ({mode}); state: SQLite; {drains}")
    print(f"sent:      {sent} of {args.notices} (failed {failed}, retrying {retrying})")
    if args.eml:
        print(f"written:   {accepted} files, {octets / 1e6:.1f} MB")
    else:
        print(f"accepted:  {accepted} messages, {octets / 1e6:.1f} MB, over {connections} connection(s)")
    print(f"outbox:    {outbox.sent} sent, {outbox.pending} pending, {outbox.failed} failed")
    way = "writing files" if args.eml else "SMTP"
    print(
        f"time:      {seconds:.2f} s: {out_s:.2f} {way}, {build_s:.2f} building messages, {db_s:.2f} database"
    )
    print(f"rate:      {rate:.0f} notices/second (target {args.min_rate:.0f})")
    if args.keep:
        print(f"state db:  {folder / 'state.db'}")
    else:
        shutil.rmtree(folder, ignore_errors=True)
    one_way = connections == 1 or (args.eml and batch >= args.notices) or batch < args.notices
    ok = sent == args.notices == accepted and (args.eml or one_way) and rate >= args.min_rate
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
