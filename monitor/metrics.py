"""Prometheus metrics on a registry the daemon owns, never the global one.

Labels come only from small sets (department, category, level, rule, item type, outcome);
never a case number or a person.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, ProcessCollector

from monitor import __version__
from monitor.statemetrics import StateCollector


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.build = Info("sunlight_build", "Version of the running daemon.", registry=r)
        self.state = StateCollector()
        r.register(self.state)
        ProcessCollector(registry=r)  # memory, CPU and start time of the daemon itself
        self.build.info({"version": __version__})
        self.passes = Counter(
            "sunlight_passes_total", "Evaluation passes run, by result.", ["result"], registry=r
        )
        self.pass_seconds = Histogram(
            "sunlight_pass_duration_seconds",
            "Duration of one evaluation pass.",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
            registry=r,
        )
        self.last_success = Gauge(
            "sunlight_last_successful_pass_timestamp_seconds",
            "When the last pass finished without error.",
            registry=r,
        )
        self.anchors = Counter(
            "sunlight_audit_anchors_total", "Heads of the history appended to the anchor file.", registry=r
        )
        self.chain_consistent = Gauge(
            "sunlight_audit_chain_consistent",
            "1 while the history continues its last anchor; 0 once the anchorer found it does not.",
            registry=r,
        )
        self.chain_consistent.set(1)
        self.events = Counter("sunlight_events_ingested_total", "Source events read.", registry=r)
        self.cases_evaluated = Counter("sunlight_cases_evaluated_total", "Case evaluations.", registry=r)
        self.source_lag = Gauge(
            "sunlight_source_lag_seconds",
            "Now minus the time of the newest event seen in the source.",
            registry=r,
        )
        self.raised = Counter(
            "sunlight_alerts_raised_total",
            "Alerts raised, escalated or reopened.",
            ["category", "level", "department"],
            registry=r,
        )
        self.cured = Counter(
            "sunlight_alerts_cured_total",
            "Yellow alerts cured.",
            ["category", "department"],
            registry=r,
        )
        self.notices_sent = Counter(
            "sunlight_notices_sent_total",
            "Notices accepted: by the mail server, the SMS gateway, a robot API or a webhook.",
            registry=r,
        )
        # Per channel (email, sms, dingtalk, wecom, feishu, webhook) and outcome (sent,
        # retrying, failed): never per recipient, whose address is personal data.
        self.channel_notices = Counter(
            "sunlight_channel_notices_total",
            "Notice attempts by channel and outcome (sent, retrying, failed).",
            ["channel", "outcome"],
            registry=r,
        )
        self.notices_failed = Counter(
            "sunlight_notices_failed_total",
            "Notice attempts that failed, by kind.",
            ["permanent"],
            registry=r,
        )
        self.claims_lapsed = Counter(
            "sunlight_notice_claims_lapsed_total",
            "Notices claimed by a sender that stopped before recording them, taken again.",
            registry=r,
        )
        self.notices_set_aside = Counter(
            "sunlight_notices_set_aside_total",
            "Notices that could not become a message, failed alone so the rest go out.",
            registry=r,
        )
        self.cases_set_aside = Counter(
            "sunlight_cases_set_aside_total",
            "Cases whose evaluation failed alone, their next check pushed back so the rest go on.",
            registry=r,
        )
        self.reload_ok = Gauge(
            "sunlight_rules_last_reload_success",
            "1 if the last rule load succeeded, else 0.",
            registry=r,
        )
        self.reload_time = Gauge(
            "sunlight_rules_last_reload_timestamp_seconds",
            "When rules were last loaded successfully.",
            registry=r,
        )
        self.rules_loaded = Gauge("sunlight_rules_loaded", "Rules in the active set.", registry=r)
        # Series that exist from the start, so rate() sees the first failure too.
        for result in ("ok", "error", "source_fault"):
            self.passes.labels(result)
        for permanent in ("true", "false"):
            self.notices_failed.labels(permanent)
        for channel in ("email", "sms", "dingtalk", "wecom", "feishu", "webhook"):
            for outcome in ("sent", "retrying", "failed"):
                self.channel_notices.labels(channel, outcome)
        self.source_fault = Gauge(
            "sunlight_source_fault",
            "1 while a source table is at fault (evaluation paused), else 0.",
            ["table"],
            registry=r,
        )
        self.source_faults = Counter(
            "sunlight_source_faults_total", "Source faults that began, by table.", ["table"], registry=r
        )
        for table in ("power_items", "cases", "case_events"):
            self.source_fault.labels(table).set(0)
            self.source_faults.labels(table)
        self.calendar_known = Gauge(
            "sunlight_calendar_known_until_timestamp_seconds",
            "The last day (00:00 UTC) covered by an official holiday notice.",
            registry=r,
        )

        self.dependency_up = Gauge(
            "sunlight_dependency_up",
            "1 while a dependency answers, 0 while the daemon waits for it to come back.",
            ["dependency"],
            registry=r,
        )

    def set_calendar(self, known_until: date) -> None:
        self.calendar_known.set(
            datetime(known_until.year, known_until.month, known_until.day, tzinfo=UTC).timestamp()
        )

    def set_source_faults(self, faults: Mapping[str, str], began: Iterable[str]) -> None:
        for table in ("power_items", "cases", "case_events"):
            self.source_fault.labels(table).set(1 if table in faults else 0)
        for table in began:
            self.source_faults.labels(table).inc()

    def set_source_lag(self, source_newest: datetime | None, now: datetime) -> None:
        if source_newest is not None:
            self.source_lag.set(max(0.0, (now - source_newest).total_seconds()))
