"""The daemon's parts: hot reload keeps the last good set; the HTTP endpoints answer."""

from __future__ import annotations

import gc
import shutil
import weakref
from pathlib import Path
from typing import Any

import pytest

from monitor.daemon.http import Readiness, Reason, make_app
from monitor.daemon.reload import RuleHolder, settle_heap
from monitor.metrics import Metrics
from tests.conftest import RULES, Harness, bj, case, event, item

ROUTES = frozenset({"department", "discipline_office"})


def _copy_rules(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(RULES, target)
    return target


def test_broken_rule_file_keeps_the_last_good_set_and_says_so(tmp_path: Path) -> None:
    rules = _copy_rules(tmp_path)
    metrics = Metrics()
    holder = RuleHolder(rules, rules / "calendar", ROUTES, metrics)
    good = holder.rules()
    assert metrics.reload_ok._value.get() == 1
    path = rules / "licensing.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("kind: deadline", "kind: dedline", 1), encoding="utf-8"
    )
    assert holder.changed()
    assert holder.reload() is False
    assert holder.rules() is good  # still the last good set
    assert metrics.reload_ok._value.get() == 0
    assert any("unknown rule kind 'dedline'" in e for e in holder.errors)
    assert not holder.changed()  # the same broken files are not retried every few seconds
    path.write_text(
        path.read_text(encoding="utf-8").replace("kind: dedline", "kind: deadline"), encoding="utf-8"
    )
    assert holder.reload() is True
    assert holder.rules() is not good and holder.errors == []
    assert metrics.reload_ok._value.get() == 1


def test_new_rule_file_is_picked_up(tmp_path: Path) -> None:
    rules = _copy_rules(tmp_path)
    holder = RuleHolder(rules, rules / "calendar", ROUTES)
    before = holder.rules().rule_count
    (rules / "extra.yaml").write_text(
        "ruleset: extra\ntitle: 额外\nrules:\n  - id: extra.fee\n    title: 收费\n    kind: check\n"
        "    category: fee\n    when: 'case.fee_charged > 1000.0'\n",
        encoding="utf-8",
    )
    assert holder.changed() and holder.reload()
    assert holder.rules().rule_count == before + 1


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector can free it


def test_loading_rules_freezes_the_long_lived_heap_and_a_reload_frees_what_it_replaced(
    tmp_path: Path,
) -> None:
    rules = _copy_rules(tmp_path)
    gc.unfreeze()
    holder = RuleHolder(rules, rules / "calendar", ROUTES)
    assert gc.get_freeze_count() > 0  # what lives as long as the rules is no longer scanned
    node = _Node()
    settle_heap()  # frozen along with the rules, as anything alive at a load is
    old = weakref.ref(node)
    del node
    gc.collect()
    assert old() is not None  # a frozen cycle is never collected...
    assert holder.reload()
    assert old() is None  # ...until the next load unfreezes the heap first
    assert gc.get_freeze_count() > 0


def _call(app: Any, path: str) -> tuple[str, bytes]:
    status: list[str] = []

    def start_response(s: str, headers: list[tuple[str, str]]) -> None:
        status.append(s)

    body = b"".join(app({"PATH_INFO": path, "REQUEST_METHOD": "GET", "QUERY_STRING": ""}, start_response))
    return status[0], body


def test_endpoints_answer_health_readiness_and_metrics() -> None:
    metrics = Metrics()
    metrics.cases_evaluated.inc(3)
    ready = {"value": Readiness(summary="ready: 10 rules")}
    app = make_app(metrics.registry, lambda: ready["value"])
    assert _call(app, "/healthz") == ("200 OK", b"ok\n")
    assert _call(app, "/readyz") == ("200 OK", b"ready: 10 rules\n")
    # A reason that does not block is said, and the daemon stays ready.
    ready["value"] = Readiness((Reason("rules", "reload failed", blocking=False),), "ready: 10 rules")
    assert _call(app, "/readyz") == ("200 OK", b"ready: 10 rules\nrules: reload failed\n")
    ready["value"] = Readiness((Reason("state_db", "unreachable"), Reason("smtp", "unreachable")))
    status, body = _call(app, "/readyz")
    assert status.startswith("503") and body == b"not ready\nstate_db: unreachable\nsmtp: unreachable\n"
    status, body = _call(app, "/metrics")
    assert status == "200 OK" and b"sunlight_cases_evaluated_total 3.0" in body
    assert _call(app, "/nope")[0].startswith("404")


def test_failed_reload_notifies_the_operators_once(tmp_path: Path) -> None:
    from monitor.app import build
    from monitor.config import load_config
    from monitor.daemon.run import Daemon
    from tests.conftest import bj, write_config

    rules = _copy_rules(tmp_path)
    routes = {
        "discipline_office": {"recipients": ["jjjc@example.gov.cn"]},
        "department": {"recipients": ["dept@example.gov.cn"]},
        "operators": {"recipients": ["ops@example.gov.cn"]},
    }
    rules_cfg = {"path": str(rules), "calendar": str(rules / "calendar")}
    config = write_config(
        tmp_path, f"sqlite:///{tmp_path / 's.db'}", notify={"routes": routes}, rules=rules_cfg
    )
    cfg = load_config(config, environ={})
    app = build(cfg, create=True)
    app.upgrade()
    daemon = Daemon(app, clock=lambda: bj("2026-11-23 10:00"))
    path = rules / "penalty.yaml" if (rules / "penalty.yaml").exists() else rules / "licensing.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\n  - id: broken\n", encoding="utf-8")
    daemon.check_rules()
    daemon.check_rules()  # the same broken files: no second notice
    from sqlalchemy import select

    from monitor.state.schema import notices

    with app.state.connect() as conn:
        rows = conn.execute(select(notices)).all()
    app.dispose()
    assert [(n.route, n.recipient, n.kind) for n in rows] == [
        ("operators", "ops@example.gov.cn", "operations")
    ]
    assert "规则重新加载失败" in rows[0].subject and "broken" in rows[0].body_text


def test_an_idle_worker_looks_again_soon_then_backs_off_to_once_a_second() -> None:
    from monitor.daemon.workers import idle_wait

    assert [idle_wait(n, 30.0) for n in range(1, 8)] == [0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    assert idle_wait(10_000, 30.0) == 1.0  # no overflow after a long idle spell
    assert idle_wait(6, 0.3) == 0.3  # never longer than the poll interval


# -- waiting for a dependency instead of exiting --------------------------------------------

CLOSED = {
    "postgres": "postgresql+psycopg://postgres@127.0.0.1:1/test",
    "mariadb": "mysql+pymysql://root@127.0.0.1:1/test",
}


def _up(metrics: Metrics, dependency: str) -> float | None:
    return metrics.registry.get_sample_value("sunlight_dependency_up", {"dependency": dependency})


@pytest.mark.parametrize("kind", ["postgres", "mariadb"])
def test_a_source_outage_is_waited_for_with_backoff_and_the_passes_resume(
    harness: Harness, kind: str
) -> None:
    from monitor.daemon.run import Daemon
    from monitor.state.db import make_engine

    harness.load(item(), case("C1"), event("C1", "accepted", "2026-11-03 09:00"))
    daemon = Daemon(harness.app, clock=lambda: bj("2026-11-23 10:00"))
    daemon.pipeline, daemon.started = harness.pipeline, True
    real, refused = harness.pipeline.source, make_engine(CLOSED[kind])
    harness.pipeline.source = harness.pipeline.reader.engine = refused
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        assert len(waits) < 10, "still waiting for a database that is back"
        # While it waits: the gauge is 0, /readyz answers 503 and names the database.
        assert _up(harness.app.metrics, "source_db") == 0
        readiness = daemon.ready()
        assert not readiness.ok and "source_db: unreachable, waiting for it: " in readiness.body()
        if len(waits) == 3:  # the server is back
            harness.pipeline.source = harness.pipeline.reader.engine = real

    daemon.deps.sleep = sleep
    try:
        assert daemon.run_pass() is False  # the pass fails, and the daemon knows why
        assert _up(harness.app.metrics, "source_db") == 0 and _up(harness.app.metrics, "state_db") == 1
        assert harness.alerts() == []
        daemon.poll_job()  # waits, then runs the passes it could not run
    finally:
        harness.pipeline.source = harness.pipeline.reader.engine = real
        refused.dispose()
    assert waits == [1.0, 2.0, 4.0]  # exponential backoff
    assert _up(harness.app.metrics, "source_db") == 1
    assert daemon.ready().ok and daemon.ready().body().startswith("ready: ")
    assert [(a.case_id, a.level) for a in harness.alerts()] == [("C1", "red")]


@pytest.mark.parametrize("kind", ["postgres", "mariadb"])
def test_the_daemon_waits_at_start_for_an_unreachable_database_instead_of_exiting(
    tmp_path: Path, kind: str
) -> None:
    import signal

    from monitor.app import build
    from monitor.config import load_config
    from monitor.daemon.run import Daemon
    from tests.conftest import write_config

    config = write_config(tmp_path, CLOSED[kind], metrics={"enabled": True, "port": 0})
    app = build(load_config(config, environ={}))
    daemon = Daemon(app)
    seen: list[tuple[float, float | None, float | None, bool, str]] = []

    def sleep(seconds: float) -> None:
        r = daemon.ready()
        seen.append((seconds, _up(app.metrics, "state_db"), _up(app.metrics, "source_db"), r.ok, r.body()))
        assert len(seen) < 10, "still waiting after stop()"
        if len(seen) == 4:
            daemon.stop()  # SIGTERM while waiting: the wait ends, the daemon stops cleanly

    daemon.deps.sleep = sleep
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        daemon.run()  # returns: no exception, no exit
    finally:
        for s, h in handlers.items():
            signal.signal(s, h)
    assert [s[0] for s in seen] == [1.0, 2.0, 4.0, 8.0]
    assert all(s[1:4] == (0.0, 0.0, False) for s in seen)  # one database: both gauges say so
    assert all(s[4].startswith("not ready\nstate_db: unreachable, waiting for it: ") for s in seen)
    assert "127.0.0.1:1" in seen[0][4] and not daemon.started


def test_a_second_stop_signal_shuts_the_scheduler_down_once_and_quietly(tmp_path: Path) -> None:
    import threading
    from datetime import UTC, datetime

    from monitor.app import build
    from monitor.config import load_config
    from monitor.daemon.run import Daemon
    from tests.conftest import write_config

    config = write_config(tmp_path, f"sqlite:///{tmp_path / 's.db'}")
    app = build(load_config(config, environ={}), create=True)
    daemon = Daemon(app)
    started = threading.Event()
    # Runs at once when the scheduler is up, and stays scheduled (a one-off job is removed
    # after its run, which could race the shutdown in the scheduler's own thread).
    daemon.scheduler.add_job(started.set, "interval", hours=1, next_run_time=datetime.now(UTC))
    failures: list[BaseException] = []
    previous = threading.excepthook
    threading.excepthook = lambda args: failures.append(args.exc_value)  # type: ignore[assignment,misc]
    try:
        runner = threading.Thread(target=daemon.scheduler.start)
        runner.start()
        assert started.wait(10), "the scheduler did not start"
        # The first shutdown is held until the second signal has arrived, as when SIGINT
        # follows SIGTERM while the running pass finishes.
        real = daemon.scheduler.shutdown
        second = threading.Event()

        def held(wait: bool = True) -> None:
            second.wait(10)
            real(wait=wait)

        daemon.scheduler.shutdown = held  # type: ignore[method-assign]
        daemon.stop()  # SIGTERM to the process group ...
        daemon.stop()  # ... then SIGINT from the terminal
        second.set()
        runner.join(10)
        assert not runner.is_alive()
        for thread in threading.enumerate():
            if thread is not threading.current_thread() and thread.daemon:
                thread.join(1)
    finally:
        threading.excepthook = previous
        app.dispose()
    assert not daemon.scheduler.running
    assert failures == []
