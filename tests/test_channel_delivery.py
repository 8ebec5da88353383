"""Notices over every channel, end to end: a pass queues them per recipient and channel, the
sender sends them over real HTTP to stand-ins for the SMS gateway, the DingTalk API and a
webhook receiver (tests/channel_servers.py), beside the .eml folder, and records each fate."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from alerts.channels.webhook import verify
from alerts.dispatch import deliver
from alerts.notify.eml import EmlNotifier
from alerts.outlets import Outlets
from monitor.config import load_config
from monitor.state.schema import alert_history, notice_attempts
from tests.channel_servers import ChannelServer, channel_server
from tests.conftest import BJ, Harness, bj, case, event, item, write_config

SECRET = "webhook-secret-for-tests"
MOBILE = "+8613800000009"


@pytest.fixture
def server() -> Iterator[ChannelServer]:
    with channel_server() as s:
        yield s


def harness(tmp_path: Path, url: str, server: ChannelServer, **notify: Any) -> Harness:
    routes = {
        "discipline_office": {
            "recipients": ["jjjc@example.gov.cn", f"webhook+{server.base}/hook/notices"],
            "levels": ["red"],
        },
        "department": {
            "recipients": [
                "dept@example.gov.cn",
                f"sms:{MOBILE}",
                "dingtalk://SEC-robot-secret@robot-token-1",
            ],
            "levels": ["yellow", "red"],
        },
    }
    body = {
        "eml_dir": "outbox",
        "routes": routes,
        "channels": {"sms": {"url": f"{server.base}/sms"}, "dingtalk": {"api_base": server.base}},
        **notify,
    }
    config = write_config(tmp_path, url, notify=body, web={"base_url": "https://jiancha.example.gov.cn"})
    return Harness(load_config(config, environ={}))


@pytest.fixture
def h(tmp_path: Path, sqlite_url: str, server: ChannelServer) -> Iterator[Harness]:
    harness_ = harness(tmp_path, sqlite_url, server)
    yield harness_
    harness_.app.dispose()


def outlets(h: Harness) -> Outlets:
    folder = h.config.path(h.config.notify.eml_dir)
    return Outlets(EmlNotifier(folder), h.config.notify.channels, environ={"SUNLIGHT_WEBHOOK_SECRET": SECRET})


def send(h: Harness, at: str | Any) -> Any:
    now = bj(at) if isinstance(at, str) else at
    return deliver(
        h.app.state, outlets(h), h.config.notify, h.holder.calendar(), now, BJ,
        console_url=h.config.web.base_url,
    )  # fmt: skip


def overdue(h: Harness, *case_ids: str) -> None:
    records: list[dict[str, Any]] = [item()]
    for cid in case_ids or ("C1",):
        records += [case(cid), event(cid, "accepted", "2026-11-03 09:00")]
    h.load(*records)


def by_channel(h: Harness) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for n in h.notices():
        out.setdefault(n.channel, []).append(n)
    return out


def test_one_red_reaches_mail_sms_dingtalk_and_the_webhook(h: Harness, server: ChannelServer) -> None:
    overdue(h)
    h.poll(bj("2026-11-23 10:00"))
    channels = by_channel(h)
    assert sorted(channels) == ["dingtalk", "email", "sms", "webhook"]
    result = send(h, "2026-11-23 10:01")
    assert result.sent == 5 and result.failed == result.retrying == 0
    assert ("sms", "sent", 1) in result.by_channel and ("webhook", "sent", 1) in result.by_channel
    assert all(n.status == "sent" for n in h.notices())
    # The SMS: one short sentence, the case, the level and the console's short link, no personal data.
    [sms] = server.on("/sms")
    text = (
        sms.json["content"] if "content" in sms.json else next(v for v in sms.json.values() if "C1" in str(v))
    )
    assert len(text) <= 70 and "C1" in text and "红牌" in text
    assert "https://jiancha.example.gov.cn/s/" in text
    assert "张三" not in text and "13812348000" not in text
    # DingTalk: signed, markdown.
    [robot] = server.on("/robot/send")
    assert robot.query["access_token"] == "robot-token-1" and robot.query["sign"]
    assert robot.json["msgtype"] == "markdown" and "C1" in robot.json["markdown"]["text"]
    # The webhook: its signature verifies over the timestamp and the very body received.
    [hook] = server.on("/hook")
    stamp, signature = hook.headers["x-sunlight-timestamp"], hook.headers["x-sunlight-signature"]
    assert verify(SECRET.encode(), stamp, hook.body, signature, float(stamp))
    assert hook.json["case_id"] == "C1" and hook.json["level"] == "red"
    assert hook.headers["x-sunlight-delivery"] == next(n.message_id for n in channels["webhook"])
    # What each channel message said is kept with its notice, as an e-mail's is.
    stored = {n.channel: n for n in h.notices()}
    assert stored["sms"].body_text == text
    assert len(list(h.config.path(h.config.notify.eml_dir).glob("*.eml"))) == 2
    with h.app.state.connect() as conn:
        sent = [
            r.detail
            for r in conn.execute(select(alert_history).where(alert_history.c.action == "notice_sent"))
        ]
    assert len(sent) == 5 and h.verify().ok


def test_a_gateway_outage_leaves_the_sms_queued_and_the_rest_goes_out(
    h: Harness, server: ChannelServer
) -> None:
    overdue(h)
    h.poll(bj("2026-11-23 10:00"))
    server.fail(1, path="/sms").rate_limit(1, retry_after="600", path="/sms")
    first = send(h, "2026-11-23 10:01")
    assert first.sent == 4 and first.retrying == 1
    [sms] = by_channel(h)["sms"]
    assert sms.status == "pending" and sms.attempts == 1
    assert MOBILE not in (sms.last_error or "") and "sms:+86138****0009" in (sms.last_error or "")
    second = send(h, sms.next_attempt_at)
    assert second.retrying == 1  # 429: it asked for ten minutes
    [sms] = by_channel(h)["sms"]
    assert sms.next_attempt_at >= bj("2026-11-23 10:01") + timedelta(seconds=600)
    third = send(h, sms.next_attempt_at)
    assert third.sent == 1
    assert len(server.delivered) == 2  # the SMS once and the webhook once: nothing lost, nothing doubled
    with h.app.state.connect() as conn:
        tried = conn.execute(select(notice_attempts).where(notice_attempts.c.notice_id == sms.id)).all()
    assert [a.ok for a in tried] == [False, False, True]


def test_a_gateway_that_goes_away_and_comes_back_loses_nothing(tmp_path: Path, sqlite_url: str) -> None:
    gateway = ChannelServer()
    port = gateway.port
    h = harness(tmp_path, sqlite_url, gateway)
    try:
        overdue(h, "C1", "C2")
        h.poll(bj("2026-11-23 10:00"))
        gateway.stop()  # the port is closed: every connection refused
        down = send(h, "2026-11-23 10:01")
        assert down.retrying == 2 + 2 + 2  # two SMS, two robot messages, two webhooks: one host, down
        assert down.sent == 4  # the mails go regardless
        pending = [n for n in h.notices() if n.status == "pending"]
        assert len(pending) == 6 and all(MOBILE not in (n.last_error or "") for n in pending)
        back = ChannelServer(port)  # the same address, answering again
        try:
            later = max(n.next_attempt_at for n in pending)
            up = send(h, later)
            assert up.sent == 6 and all(n.status == "sent" for n in h.notices())
            assert len(back.on("/sms")) == 2 and len(back.delivered) == 2 + 2  # each SMS and webhook once
        finally:
            back.stop()
    finally:
        h.app.dispose()


def test_sms_keeps_quiet_at_night_and_goes_out_at_seven(h: Harness, server: ChannelServer) -> None:
    overdue(h)
    h.poll(bj("2026-11-23 23:00"))
    result = send(h, "2026-11-23 23:01")
    assert result.sent == 4 and not server.on("/sms")  # mail, robot and webhook go at once
    [sms] = by_channel(h)["sms"]
    assert sms.status == "pending" and sms.attempts == 0 and sms.next_attempt_at == bj("2026-11-24 07:00")
    assert send(h, "2026-11-24 06:59").sent == 0
    assert send(h, "2026-11-24 07:00").sent == 1 and len(server.on("/sms")) == 1


def test_a_red_may_break_the_quiet_when_configured(
    tmp_path: Path, sqlite_url: str, server: ChannelServer
) -> None:
    h = harness(tmp_path, sqlite_url, server, quiet_hours={"sms": {"red": True}})
    try:
        overdue(h)
        h.poll(bj("2026-11-23 23:00"))
        assert send(h, "2026-11-23 23:01").sent == 5 and len(server.on("/sms")) == 1
    finally:
        h.app.dispose()


def test_a_first_start_sends_each_sms_recipient_one_digest(h: Harness, server: ChannelServer) -> None:
    ids = [f"C{i}" for i in range(1, 16)]
    overdue(h, *ids)
    h.poll(bj("2026-11-23 10:00"))
    assert len(by_channel(h)["sms"]) == 15
    result = send(h, "2026-11-23 10:01")
    [digest] = server.on("/sms")  # one message for fifteen reds
    text = json.dumps(digest.json, ensure_ascii=False)
    assert "15" in text
    robots = server.on("/robot/send")
    assert len(robots) == 1 and "15" in robots[0].json["markdown"]["text"]
    statuses = [n.status for n in by_channel(h)["sms"]]
    assert statuses.count("digested") == 15 and statuses.count("sent") == 1
    assert result.sent >= 30 + 2  # the mails one by one (e-mail has digests of its own), a digest per channel
    # Each alert's history says its notice went out inside the digest.
    with h.app.state.connect() as conn:
        sent = conn.execute(select(alert_history.c.alert_id, alert_history.c.detail).where(
            alert_history.c.action == "notice_sent")).all()  # fmt: skip
    digested = {a for a, d in sent if d["kind"] == "digest" and d["recipient"].startswith("sms:")}
    assert len(digested) == 15
    # The history, which can never forget, holds the number masked; the notice row holds it whole.
    assert all(MOBILE not in json.dumps(d) for _, d in sent)
    assert {d["recipient"] for _, d in sent if d["recipient"].startswith("sms:")} == {"sms:+86138****0009"}


def test_a_channel_not_configured_waits_while_the_others_go(tmp_path: Path, sqlite_url: str) -> None:
    with channel_server() as server:
        h = harness(tmp_path, sqlite_url, server, channels={"dingtalk": {"api_base": server.base}})
        try:
            overdue(h)
            h.poll(bj("2026-11-23 10:00"))
            result = send(h, "2026-11-23 10:01")
            assert result.sent == 4 and result.retrying == 1
            [sms] = by_channel(h)["sms"]
            assert sms.status == "pending" and "not" in (sms.last_error or "")
        finally:
            h.app.dispose()


CHILD = """
import sys
from datetime import datetime
from pathlib import Path

from alerts.dispatch import deliver_all
from monitor.app import build
from monitor.calendar import load_calendar
from monitor.config import load_config

cfg = load_config(Path(sys.argv[1]), environ={})
app = build(cfg)
app.prepare_audit()
calendar = load_calendar(cfg.path(cfg.rules.calendar))
deliver_all(app.state, app.outlets(), cfg.notify, calendar, datetime.fromisoformat(sys.argv[2]), cfg.tz)
"""


def test_no_sms_is_lost_or_doubled_across_a_kill_mid_send(h: Harness, server: ChannelServer) -> None:
    """The sender is killed (SIGKILL) while the gateway has taken the third SMS and not yet
    answered: the two before are recorded sent, the one in flight is sent again once the
    claim lapses and the gateway drops it by its outId, the rest go out; nothing is lost."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.channel_servers import Reply

    overdue(h, "C1", "C2", "C3", "C4", "C5")
    at = bj("2026-11-23 10:00")
    h.poll(at)
    assert len(by_channel(h)["sms"]) == 5
    server.then(Reply(path="/sms"), Reply(path="/sms"), Reply(path="/sms", delay=10.0))
    config = Path(str(h.config.file))
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(config), (at + timedelta(minutes=1)).isoformat()],
        cwd=str(config.parent),
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    deadline = time.monotonic() + 60
    while len(server.on("/sms")) < 3:  # waiting for the child, not for time to pass
        assert child.poll() is None and time.monotonic() < deadline, "the sender never reached the third SMS"
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    statuses = sorted(n.status for n in by_channel(h)["sms"])
    assert statuses == ["sending", "sending", "sending", "sent", "sent"]  # the claim held all five
    lease = timedelta(seconds=h.config.notify.claim_lease_seconds)
    send(h, at + timedelta(minutes=1) + lease + timedelta(seconds=1))
    assert [n.status for n in by_channel(h)["sms"]] == ["sent"] * 5
    assert len(server.on("/sms")) == 6  # the one in flight went twice ...
    sms_ids = {n.message_id for n in by_channel(h)["sms"]}
    assert sms_ids <= set(server.delivered)  # ... and reached the phone once: each outId once
    with h.app.state.connect() as conn:
        sent = [
            r.detail["message_id"]
            for r in conn.execute(select(alert_history).where(alert_history.c.action == "notice_sent"))
        ]
    assert sorted(m for m in sent if m in sms_ids) == sorted(sms_ids)  # each once in the history


def test_a_gateway_failing_three_in_a_row_is_not_tried_further_in_that_batch(
    h: Harness, server: ChannelServer
) -> None:
    overdue(h, "C1", "C2", "C3", "C4", "C5")
    h.poll(bj("2026-11-23 10:00"))
    server.fail(10, path="/sms")
    result = send(h, "2026-11-23 10:01")
    assert len(server.on("/sms")) == 3  # then it stops asking a gateway that is failing
    assert ("sms", "retrying", 5) in result.by_channel
    assert ("webhook", "sent", 5) in result.by_channel and ("email", "sent", 10) in result.by_channel
    untried = [n for n in by_channel(h)["sms"] if "not tried" in (n.last_error or "")]
    assert len(untried) == 2 and all(n.status == "pending" and n.attempts == 1 for n in untried)


def test_while_the_daemon_waits_for_the_mail_server_the_sms_still_go(
    tmp_path: Path, sqlite_url: str, server: ChannelServer
) -> None:
    """The SMTP server does not answer: the daemon waits for it with backoff, as before, and
    between its attempts sends what the other channels can carry; the mails stay queued."""
    import socket

    from monitor.daemon.run import Daemon

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    h = harness(tmp_path, sqlite_url, server, smtp={"url": f"smtp://127.0.0.1:{closed}"})
    try:
        overdue(h)
        h.poll(bj("2026-11-23 10:00"))
        daemon = Daemon(h.app, clock=lambda: bj("2026-11-23 10:01"))
        daemon.pipeline, daemon.started = h.pipeline, True
        daemon.outlets = Outlets(
            daemon.notifier, h.config.notify.channels, environ={"SUNLIGHT_WEBHOOK_SECRET": SECRET}
        )
        waits: list[float] = []

        def sleep(seconds: float) -> None:
            waits.append(seconds)
            daemon._stopping.set()  # one wait is enough to see what went meanwhile

        daemon.deps.sleep = sleep
        daemon.send_job()
        assert waits == [1.0]
        sent = {n.channel for n in h.notices() if n.status == "sent"}
        assert sent == {"sms", "dingtalk", "webhook"}
        assert all(n.status == "pending" and n.attempts == 0 for n in by_channel(h)["email"])
        assert len(server.on("/sms")) == 1
    finally:
        h.app.dispose()


def test_the_few_sms_and_robot_messages_go_before_a_backlog_of_mails(
    h: Harness, server: ChannelServer
) -> None:
    from alerts.sender import drain

    overdue(h, "C1", "C2", "C3")
    h.poll(bj("2026-11-23 10:00"))
    first = drain(h.app.state, outlets(h), h.config.notify, bj("2026-11-23 10:01"), limit=9, tz=BJ)
    assert first.sent == 9
    sent = [n.channel for n in h.notices() if n.status == "sent"]
    assert sorted(sent) == sorted(["sms", "dingtalk", "webhook"] * 3)  # the mails wait for the next batch


def test_a_digest_races_another_sender_and_is_undone(h: Harness, server: ChannelServer) -> None:
    """Another sender claimed one of the notices between the flood's read and its digest:
    the digest is not queued and no notice is left in it."""
    from sqlalchemy import update

    from alerts.flood import _digest
    from monitor.state.schema import notices

    overdue(h, "C1", "C2")
    h.poll(bj("2026-11-23 10:00"))
    sms = by_channel(h)["sms"]
    with h.app.state.begin() as conn:
        conn.execute(update(notices).where(notices.c.id == sms[1].id).values(status="sending"))
        assert not _digest(
            conn, sms, [n.id for n in sms], "sms", sms[0].recipient, {}, "t", bj("2026-11-23 10:01")
        )
    after = by_channel(h)["sms"]
    assert [n.kind for n in after] == ["raised", "raised"]  # no digest row
    assert sorted(n.status for n in after) == ["pending", "sending"] and all(
        n.digest_id is None for n in after
    )
