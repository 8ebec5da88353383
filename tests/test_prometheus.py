"""The operations side against the real thing: Prometheus from the distribution's packages.

`promtool` checks the rules, runs their unit tests and lints the daemon's exposition; a real
`prometheus` scrapes the daemon's HTTP endpoint every second and answers every PromQL
expression of the dashboards and the rules. The dashboards' JSON, the Grafana provisioning
and the compose file are checked for what Grafana and compose need.

Outside CI the tests that need Prometheus are skipped when it is missing; in CI (CI=true)
they fail. `bash .ci/prometheus` installs it.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import generate_latest

from monitor.config import load_config
from monitor.daemon.http import Readiness, serve
from monitor.metrics import Metrics
from tests.conftest import IN_CI, ROOT, Harness, bj, case, event, item, write_config

DEPLOY = ROOT / "deploy"
PROMETHEUS_DIR = DEPLOY / "prometheus"
RULES_FILE = PROMETHEUS_DIR / "rules" / "sunlight.yml"
RULE_TESTS = PROMETHEUS_DIR / "tests" / "sunlight_test.yml"
GRAFANA_DIR = DEPLOY / "grafana"
DASHBOARDS = sorted((GRAFANA_DIR / "dashboards").glob("*.json"))
OPERATIONS_DOC = ROOT / "docs" / "operations.md"

# Grafana's variables, replaced the way a query with every department selected sees them.
SUBSTITUTIONS = {
    "${department}": ".*",
    "$department": ".*",
    "$__rate_interval": "1m",
    "$__interval": "1m",
    "$__range": "1h",
}
# Series that exist only once something happened that the test does not provoke: a labelled
# counter appears at its first increment (no notice failed here), and ALERTS depends on the
# alerts firing at the moment.
MAY_BE_EMPTY = ("sunlight_notices_failed_total", "ALERTS")
# On a daemon that has just finished a pass, these operations alerts must stay quiet.
QUIET_WHEN_HEALTHY = (
    "SunlightDown",
    "SunlightPassesStalled",
    "SunlightRuleReloadFailed",
    "SunlightDependencyDown",
    "SunlightSourceFault",
    "SunlightAuditChainBroken",
)
DEADLINE_SECONDS = 60.0


def tool_or_skip(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if IN_CI:
            pytest.fail(f"{name} is required in CI but not installed (bash .ci/prometheus)")
        pytest.skip(f"{name} not installed (bash .ci/prometheus installs it)")
    return path


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), input=stdin, capture_output=True, text=True, timeout=60, check=False)


# -- what the deploy files contain ------------------------------------------------------


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def rules() -> list[dict[str, Any]]:
    return [rule for group in load_yaml(RULES_FILE)["groups"] for rule in group["rules"]]


def dashboards() -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text(encoding="utf-8")) for path in DASHBOARDS}


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, rows' nested panels included."""
    for panel in board.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def substitute(expr: str) -> str:
    for name, value in SUBSTITUTIONS.items():
        expr = expr.replace(name, value)
    return expr


@dataclass(frozen=True)
class Expression:
    where: str
    expr: str
    needs_data: bool


def expressions() -> list[Expression]:
    """Every PromQL expression of the dashboards (targets and variables) and of the rules."""
    found: list[Expression] = []
    for name, board in dashboards().items():
        for panel in panels(board):
            for target in panel.get("targets", []):
                expr = substitute(target["expr"])
                where = f"{name}: panel {panel['title']!r} target {target['refId']}"
                found.append(Expression(where, expr, not any(m in expr for m in MAY_BE_EMPTY)))
        for var in board.get("templating", {}).get("list", []):
            query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
            match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", query.strip())
            assert match, f"{name}: variable {var['name']}: not label_values(SELECTOR, LABEL): {query}"
            found.append(Expression(f"{name}: variable {var['name']}", match.group(1), True))
    for rule in rules():
        if "record" in rule:
            found.append(Expression(f"recording rule {rule['record']}", rule["expr"], True))
        else:
            found.append(Expression(f"alert {rule['alert']}", rule["expr"], False))
    return found


def test_every_expression_uses_only_known_variables() -> None:
    for e in expressions():
        assert "$" not in e.expr, f"{e.where}: unknown Grafana variable in {e.expr}"


# -- promtool ---------------------------------------------------------------------------


def test_promtool_checks_and_tests_the_rules() -> None:
    promtool = tool_or_skip("promtool")
    checked = run(promtool, "check", "rules", str(RULES_FILE))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = run(promtool, "test", "rules", str(RULE_TESTS))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_rule_unit_tests_cover_every_alert_firing_and_quiet() -> None:
    alerts = {rule["alert"] for rule in rules() if "alert" in rule}
    firing: set[str] = set()
    quiet: set[str] = set()
    for test in load_yaml(RULE_TESTS)["tests"]:
        for check in test.get("alert_rule_test", []):
            (firing if check["exp_alerts"] else quiet).add(check["alertname"])
    assert alerts - firing == set(), "alerts never tested firing"
    assert alerts - quiet == set(), "alerts never tested quiet"
    # An alert with two severities is two rules: both must be seen firing.
    expected = {(r["alert"], r["labels"]["severity"]) for r in rules() if "alert" in r}
    seen = {
        (check["alertname"], alert["exp_labels"]["severity"])
        for test in load_yaml(RULE_TESTS)["tests"]
        for check in test.get("alert_rule_test", [])
        for alert in check["exp_alerts"]
    }
    assert expected - seen == set(), "severities never tested firing"


def test_every_alert_is_bilingual_and_has_a_runbook_section() -> None:
    doc = OPERATIONS_DOC.read_text(encoding="utf-8")
    anchors = {heading_anchor(h) for h in re.findall(r"^#+\s+(.+?)\s*$", doc, flags=re.MULTILINE)}
    anchors |= set(re.findall(r'<a (?:id|name)="([^"]+)"', doc))
    for rule in rules():
        if "alert" not in rule:
            continue
        name, notes = rule["alert"], rule["annotations"]
        assert rule["labels"]["severity"] in ("warning", "critical"), name
        for key in ("summary", "description"):
            assert re.search(r"[\u4e00-\u9fff]", notes[key]), f"{name}: {key} has no Chinese"
            assert re.search(r"[A-Za-z]{4,}", notes[key]), f"{name}: {key} has no English"
        url = urllib.parse.urlsplit(notes["runbook_url"])
        assert url.scheme == "https" and url.path.endswith("/docs/operations.md"), name
        assert url.fragment in anchors, f"{name}: docs/operations.md has no section #{url.fragment}"


def heading_anchor(heading: str) -> str:
    """The anchor GitHub and GitLab give a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def populated(folder: Path) -> Harness:
    """A pipeline with two departments, open and closed cases, yellow, red and cured alerts
    and notices waiting, after two passes: every labelled gauge and counter has series."""
    h = Harness(load_config(write_config(folder, f"sqlite:///{folder / 'sunlight.db'}"), environ={}))
    # The daemon's rule holder reports reloads and the calendar into the app's metrics.
    h.pipeline = h.app.pipeline(h.app.holder())
    other = "市自然资源和规划局"
    h.load(
        item(),
        item("XK-2", department=other),
        case("OVERDUE"),
        event("OVERDUE", "accepted", "2026-11-03 09:00"),
        case("CURED"),
        event("CURED", "accepted", "2026-11-16 09:00"),
        case("EARLY"),
        event("EARLY", "accepted", "2026-11-16 09:00"),
        event("EARLY", "decided", "2026-11-17 09:00", result="approved"),
        event("EARLY", "closed", "2026-11-17 10:00"),
        case("ONTIME", "XK-2", other),
        event("ONTIME", "accepted", "2026-11-02 09:00"),
        event("ONTIME", "decided", "2026-11-09 09:00", result="approved"),
        # Published in time: a case whose disclosure is late is not on time.
        event("ONTIME", "disclosed", "2026-11-09 09:30", what="decision"),
        event("ONTIME", "closed", "2026-11-09 10:00"),
        case("LATE", "XK-2", other),
        event("LATE", "accepted", "2026-11-02 09:00"),
        event("LATE", "decided", "2026-11-19 09:00", result="approved"),
        event("LATE", "closed", "2026-11-19 10:00"),
    )
    h.poll(bj("2026-11-20 10:00"))  # CURED turns yellow on its 4th working day
    h.load(event("CURED", "decided", "2026-11-20 11:00", result="approved"))
    h.poll(bj("2026-11-20 11:05"))
    # A pass leaves the state gauges alone; the daemon refreshes them in a job of its own
    # (Daemon.refresh_metrics), which this does once.
    assert "sunlight_alerts_open{" not in generate_latest(h.app.metrics.registry).decode()
    h.app.metrics.state.refresh(h.app.state, bj("2026-11-20 11:05"))
    assert "sunlight_alerts_open{" in generate_latest(h.app.metrics.registry).decode()
    return h


def test_promtool_check_metrics_is_clean_on_a_populated_registry(tmp_path: Path) -> None:
    promtool = tool_or_skip("promtool")
    h = populated(tmp_path)
    try:
        exposition = generate_latest(h.app.metrics.registry).decode()
    finally:
        h.app.dispose()
    for name in ("sunlight_alerts_open{", "sunlight_cases_closed{", "sunlight_alerts_cured_total{"):
        assert name in exposition, f"the fixture left {name}...}} empty"
    linted = run(promtool, "check", "metrics", stdin=exposition)
    assert linted.returncode == 0 and not (linted.stdout + linted.stderr).strip(), (
        linted.stdout + linted.stderr
    )


# -- a real Prometheus scraping the daemon ------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class PromAPI:
    def __init__(self, base: str) -> None:
        self.base = base

    def get(self, path: str, **params: str) -> Any:
        url = f"{self.base}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=5) as resp:
            return json.load(resp)

    def query(self, expr: str) -> dict[str, Any]:
        """POST /api/v1/query; a bad expression answers 400 with status "error"."""
        body = urllib.parse.urlencode({"query": expr}).encode()
        request = urllib.request.Request(f"{self.base}/api/v1/query", data=body)
        try:
            with urllib.request.urlopen(request, timeout=5) as resp:
                answer: dict[str, Any] = json.load(resp)
        except urllib.error.HTTPError as exc:
            with exc:
                answer = json.load(exc)
        return answer


def wait_for(
    what: str,
    check: Callable[[], bool],
    proc: subprocess.Popen[bytes],
    log: Path,
    deadline: float,
    explain: Callable[[], str] = lambda: "",
) -> None:
    """Poll `check` every 0.2 s until it is true, Prometheus dies or the deadline passes."""
    while True:
        if proc.poll() is not None:
            pytest.fail(f"prometheus exited ({proc.returncode}) waiting for {what}:\n{log.read_text()}")
        try:
            if check():
                return
        except (OSError, ValueError):
            pass  # not listening yet
        if time.monotonic() > deadline:
            pytest.fail(
                f"timed out waiting for {what}{explain()}\nprometheus log:\n{log.read_text()[-4000:]}"
            )
        time.sleep(0.2)


@pytest.mark.slow
def test_real_prometheus_scrapes_the_daemon_and_answers_every_expression(tmp_path: Path) -> None:
    prometheus = tool_or_skip("prometheus")
    promtool = tool_or_skip("promtool")
    deadline = time.monotonic() + DEADLINE_SECONDS
    h = populated(tmp_path)
    metrics: Metrics = h.app.metrics
    for dependency in ("state_db", "source_db", "smtp"):  # as a running daemon reports them
        metrics.dependency_up.labels(dependency).set(1)
    server, thread = serve("127.0.0.1", 0, metrics.registry, Readiness)
    daemon_port = server.server_port

    # The shipped configuration, pointed at this daemon, every second, with the rules.
    config = load_yaml(PROMETHEUS_DIR / "prometheus.yml")
    [job] = config["scrape_configs"]
    assert job["job_name"] == "sunlight" and job["metrics_path"] == "/metrics"
    job["static_configs"] = [{"targets": [f"127.0.0.1:{daemon_port}"]}]
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(RULES_FILE)]
    config_file = tmp_path / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    checked = run(promtool, "check", "config", str(config_file))
    assert checked.returncode == 0, checked.stdout + checked.stderr

    port = free_port()
    log = tmp_path / "prometheus.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                prometheus,
                f"--config.file={config_file}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    api = PromAPI(f"http://127.0.0.1:{port}")
    try:

        def target_up() -> bool:
            targets = api.get("/api/v1/targets")["data"]["activeTargets"]
            return any(t["health"] == "up" and t["labels"]["job"] == "sunlight" for t in targets)

        wait_for("the daemon's target to be up", target_up, proc, log, deadline)

        all_expressions = expressions()
        assert len(all_expressions) > 50
        for e in all_expressions:  # a parse error does not go away by waiting
            answer = api.query(e.expr)
            assert answer["status"] == "success", f"{e.where}: {answer.get('error')}\n{e.expr}"

        # rate() and increase() need two scrapes, recording rules an evaluation after them.
        missing = [e for e in all_expressions if e.needs_data]

        def all_have_data() -> bool:
            missing[:] = [e for e in missing if not api.query(e.expr)["data"]["result"]]
            return not missing

        def listed() -> str:
            return ":\n" + "\n".join(f"  {e.where}: {e.expr}" for e in missing)

        wait_for("every expression to return data", all_have_data, proc, log, deadline, listed)

        values = {
            expr: float(api.query(expr)["data"]["result"][0]["value"][1])
            for expr in (
                'department:sunlight_cases_on_time:ratio{department="市自然资源和规划局"}',
                'department:sunlight_cases_early:ratio{department="市市场监督管理局"}',
                "sum(department:sunlight_cases_open:max)",
            )
        }
        assert list(values.values()) == [0.5, 1.0, 2.0], values
        for rule in rules():
            if rule.get("alert") in QUIET_WHEN_HEALTHY:
                result = api.query(rule["expr"])["data"]["result"]
                assert result == [], f"{rule['alert']} fires on a healthy daemon: {result}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        h.app.dispose()


# -- Grafana and compose ------------------------------------------------------------------


def test_dashboards_have_what_grafana_needs() -> None:
    boards = dashboards()
    assert {b["uid"] for b in boards.values()} == {
        "sunlight-overview",
        "sunlight-departments",
        "sunlight-health",
    }
    for name, board in boards.items():
        assert board["title"] and board["uid"] and len(board["uid"]) <= 40, name
        assert 36 <= board["schemaVersion"] <= 41, name
        ids = [p["id"] for p in panels(board)]
        assert len(ids) == len(set(ids)), f"{name}: duplicate panel ids"
        for panel in panels(board):
            where = f"{name}: panel {panel.get('title')!r}"
            assert panel.get("title") and panel.get("gridPos"), where
            if panel["type"] == "row":
                continue
            assert panel["datasource"] == {"type": "prometheus", "uid": "prometheus"}, where
            assert panel["targets"], where
            refs = [t["refId"] for t in panel["targets"]]
            assert len(refs) == len(set(refs)), where
            for target in panel["targets"]:
                assert target["expr"].strip(), where
                assert target.get("datasource", panel["datasource"])["uid"] == "prometheus", where
    departments = boards["sunlight-departments.json"]
    [var] = [v for v in departments["templating"]["list"] if v["name"] == "department"]
    assert var["datasource"]["uid"] == "prometheus" and var["includeAll"] and var["allValue"] == ".*"


def test_grafana_provisioning_matches_the_dashboards_and_compose() -> None:
    [source] = load_yaml(GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml")["datasources"]
    assert (source["uid"], source["type"]) == ("prometheus", "prometheus")
    assert source["url"] == "http://prometheus:9090"
    [provider] = load_yaml(GRAFANA_DIR / "provisioning" / "dashboards" / "sunlight.yml")["providers"]
    compose = load_yaml(DEPLOY / "compose.yaml")
    grafana = compose["services"]["grafana"]
    mounts = dict(v.split(":")[:2][::-1] for v in grafana["volumes"])  # target -> source
    assert (DEPLOY / mounts[provider["options"]["path"]]).resolve() == (GRAFANA_DIR / "dashboards")
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    folder, _, file = home.rpartition("/")
    assert (DEPLOY / mounts[folder] / file).is_file()


def test_compose_wires_the_stack_and_mounts_existing_files() -> None:
    compose = load_yaml(DEPLOY / "compose.yaml")
    services = compose["services"]
    assert set(services) >= {"sunlight", "sunlight-demo", "postgres", "prometheus", "grafana", "mailpit"}
    for name, service in services.items():
        build = service.get("build")
        if build:
            context = DEPLOY / build["context"]
            assert (context / build.get("dockerfile", "Dockerfile")).is_file(), name
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith((".", "/")):
                assert (DEPLOY / source).exists(), f"{name}: {source} does not exist"
            else:
                assert source in compose["volumes"], f"{name}: undeclared volume {source}"
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"
    sunlight = services["sunlight"]
    env = sunlight["environment"]
    assert env["SUNLIGHT_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "@postgres:5432/" in env["SUNLIGHT_DATABASE_URL"]
    assert env["SUNLIGHT_SMTP_URL"] == "smtp://mailpit:1025"
    assert env["SUNLIGHT_METRICS_HOST"] == "0.0.0.0"
    assert sunlight["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert sunlight["depends_on"]["sunlight-demo"]["condition"] == "service_completed_successfully"
    assert services["sunlight-demo"]["command"] == ["demo", "--if-empty"]
    assert services["postgres"]["healthcheck"]["test"]
    # Prometheus scrapes the service by its compose name and the port the image exposes.
    [job] = load_yaml(PROMETHEUS_DIR / "prometheus.yml")["scrape_configs"]
    assert job["static_configs"][0]["targets"] == ["sunlight:9308"]
    prometheus_mounts = {v.split(":")[1] for v in services["prometheus"]["volumes"]}
    assert "/etc/prometheus/prometheus.yml" in prometheus_mounts
    assert "/etc/prometheus/rules" in prometheus_mounts
