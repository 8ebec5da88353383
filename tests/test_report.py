"""`sunlight report`: the monthly performance table from real passes."""

from __future__ import annotations

from tests.conftest import BJ, Harness, bj, case, event, item
from tests.test_cli import sunlight


def _closed(case_id: str, decided: str) -> list[dict[str, object]]:
    return [
        case(case_id),
        event(case_id, "accepted", "2026-11-02 09:00"),
        event(case_id, "decided", f"{decided} 15:00", result="approved"),
        event(case_id, "delivered", f"{decided} 16:00"),
        event(case_id, "disclosed", f"{decided} 16:30", what="decision"),
        event(case_id, "closed", f"{decided} 17:00"),
    ]


def test_monthly_table_counts_outcomes_shares_and_warnings(harness: Harness) -> None:
    from monitor.report import monthly

    # Promise: 5 working days from 11-02 (11-03 .. 11-09).
    harness.load(
        item(),
        *_closed("EARLY", "2026-11-04"),
        *_closed("ONTIME", "2026-11-09"),
        *_closed("LATE", "2026-11-12"),
    )
    harness.poll(bj("2026-11-13 10:00"))
    [row] = monthly(harness.app.state, "2026-11", BJ)
    assert row["department"] == "市市场监督管理局" and row["item_type"] == "licensing"
    assert (row["closed"], row["measured"], row["on_time"], row["early"], row["overdue"]) == (3, 3, 2, 1, 1)
    assert row["on_time_rate"] == 0.6667 and row["early_rate"] == 0.3333 and row["overdue_rate"] == 0.3333
    assert row["avg_limit_share"] == 1.0  # 2/5, 5/5 and 8/5 of the promise
    assert (row["yellow"], row["red"], row["cured"]) == (0, 1, 0)
    assert monthly(harness.app.state, "2026-10", BJ) == []


def test_report_formats_and_mail(harness: Harness) -> None:
    config = harness.config.base_dir / "config.yaml"
    harness.load(item(), *_closed("EARLY", "2026-11-04"))
    harness.poll(bj("2026-11-13 10:00"))
    csv = sunlight(config, "report", "--month", "2026-11", "--format", "csv")
    assert csv.returncode == 0, csv.stderr
    header, first = csv.stdout.splitlines()[:2]
    assert header.startswith("\ufeff承办单位,事项类型,办结数,计时办结数,按时办结数")  # a BOM for Excel
    assert first.startswith("市市场监督管理局,行政许可,1,1,1,1,0,100.0,100.0,0.0,40.0")
    assert not any(c.isascii() and c.isalpha() for c in csv.stdout)  # no English identifier
    html = sunlight(config, "report", "--month", "2026-11", "--format", "html").stdout
    assert "按时办结率" in html and "100.0%" in html and "<table" in html
    assert sunlight(config, "report", "--month", "2026-13").returncode == 2
    assert sunlight(config, "report", "--month", "2026-11", "--mail").returncode == 2  # no recipients set


def test_a_closed_case_no_rule_times_has_no_outcome_and_stays_out_of_the_rates(harness: Harness) -> None:
    """Counting an untimed case as on time would show 100 % for whatever no rule watches."""
    from sqlalchemy import select

    from monitor.report import cells, monthly
    from monitor.state.schema import case_state
    from monitor.statemetrics import StateCollector

    hud, office = "市住房和城乡建设局", "市政务服务管理办公室"
    harness.load(
        # No limit in the catalogue: no rule times its cases.
        item("QT-1", item_type="other", promised=None, legal=None, department=office),
        # A levy with a promise of 5 working days from acceptance (rules/general.yaml).
        item("ZS-1", item_type="levy", promised=5, legal=20, department=hud),
        case("N1", "QT-1", office),
        event("N1", "accepted", "2026-11-02 09:00"),
        event("N1", "decided", "2026-11-20 15:00"),
        event("N1", "closed", "2026-11-20 16:00"),
        case("Z1", "ZS-1", hud),
        event("Z1", "accepted", "2026-11-02 09:00"),
        event("Z1", "decided", "2026-11-04 15:00"),
        event("Z1", "closed", "2026-11-04 16:00"),
        # Withdrawn before acceptance: no clock started.
        case("Z2", "ZS-1", hud),
        event("Z2", "received", "2026-11-02 09:00"),
        event("Z2", "closed", "2026-11-03 09:00", reason="申请人撤回申请"),
    )
    now = bj("2026-11-30 10:00")
    harness.poll(now)
    with harness.app.state.connect() as conn:
        outcomes = dict(conn.execute(select(case_state.c.case_id, case_state.c.outcome)).all())
    assert outcomes == {"N1": None, "Z1": "early", "Z2": None}

    rows = {r["item_type"]: r for r in monthly(harness.app.state, "2026-11", BJ)}
    other, levy = rows["other"], rows["levy"]
    assert (other["closed"], other["measured"], other["on_time"], other["overdue"]) == (1, 0, 0, 0)
    assert other["on_time_rate"] is other["early_rate"] is other["overdue_rate"] is None
    assert cells(other)[4:7] == ["—", "—", "—"]
    assert (levy["closed"], levy["measured"], levy["on_time"], levy["early"]) == (2, 1, 1, 1)
    assert (levy["on_time_rate"], levy["early_rate"], levy["overdue_rate"]) == (1.0, 1.0, 0.0)

    collector = StateCollector()
    collector.refresh(harness.app.state, now)
    [closed] = [f for f in collector.collect() if f.name == "sunlight_cases_closed"]
    assert {(s.labels["department"], s.labels["outcome"], s.value) for s in closed.samples} == {
        (office, "unmeasured", 1),
        (hud, "early", 1),
        (hud, "unmeasured", 1),
    }


def test_a_breach_counts_in_the_month_it_happened_not_the_month_it_was_noticed(harness: Harness) -> None:
    """Accepted Thursday 23 April 2026: the promise of 5 working days ends at 24:00 on 30
    April (1–5 May are the 劳动节 holiday). A first start on 2 May finds the red; the
    assessment puts it in April, the month of its last day."""
    from sqlalchemy import select

    from monitor.report import monthly
    from monitor.state.schema import alerts

    harness.load(item(), case("APR"), event("APR", "accepted", "2026-04-23 09:00"))
    harness.poll(bj("2026-05-02 10:00"))
    with harness.app.state.connect() as conn:
        [(level, due, breached, raised)] = conn.execute(
            select(alerts.c.level, alerts.c.due, alerts.c.breached_at, alerts.c.raised_at)
        ).all()
    assert level == "red" and due == breached == bj("2026-05-01 00:00")
    assert raised == bj("2026-05-02 10:00")
    [april] = monthly(harness.app.state, "2026-04", BJ)
    assert (april["red"], april["yellow"]) == (1, 0)
    assert all(row["red"] == 0 for row in monthly(harness.app.state, "2026-05", BJ))


def test_a_yellow_counts_in_the_month_its_warning_began(harness: Harness) -> None:
    """Accepted Monday 27 April: 5 working days end on 7 May; the warning (a fifth of the
    promise left) begins on 7 May, and a pass on 7 May counts it in May; an alert from before
    the breach instant was recorded (NULL) counts in the month it was raised."""
    from sqlalchemy import select, update

    from monitor.report import monthly
    from monitor.state.schema import alerts

    harness.load(item(), case("MAY"), event("MAY", "accepted", "2026-04-27 09:00"))
    harness.poll(bj("2026-05-07 10:00"))
    with harness.app.state.connect() as conn:
        [(level, breached)] = conn.execute(select(alerts.c.level, alerts.c.breached_at)).all()
    assert level == "yellow" and breached is not None and breached.astimezone(BJ).month == 5
    [may] = monthly(harness.app.state, "2026-05", BJ)
    assert (may["yellow"], may["red"]) == (1, 0)
    assert monthly(harness.app.state, "2026-04", BJ) == []
    with harness.app.state.begin() as conn:
        conn.execute(update(alerts).values(breached_at=None, raised_at=bj("2026-04-30 12:00")))
    [april] = monthly(harness.app.state, "2026-04", BJ)
    assert april["yellow"] == 1


def test_a_skipped_step_counts_in_the_month_the_offending_step_was_recorded(harness: Harness) -> None:
    """A licence decided on 29 April with no acceptance on file: the breach is the decision."""
    from sqlalchemy import select

    from monitor.state.schema import alerts

    harness.load(
        item(),
        case("SKIP"),
        event("SKIP", "received", "2026-04-28 09:00"),
        event("SKIP", "decided", "2026-04-29 15:00", result="approved"),
    )
    harness.poll(bj("2026-05-06 10:00"))
    with harness.app.state.connect() as conn:
        found = dict(
            conn.execute(select(alerts.c.rule_id, alerts.c.breached_at)).all()  # type: ignore[arg-type]
        )
    assert found["licensing.no_decision_without_acceptance"] == bj("2026-04-29 15:00")


def test_a_case_decided_early_but_disclosed_late_is_not_on_time(harness: Harness) -> None:
    from monitor.report import monthly

    harness.load(
        item(),
        case("NODISC"),
        event("NODISC", "accepted", "2026-11-02 09:00"),
        event("NODISC", "decided", "2026-11-03 15:00", result="approved"),
        event("NODISC", "delivered", "2026-11-03 16:00"),
        event("NODISC", "closed", "2026-11-03 17:00"),
    )
    harness.poll(bj("2026-11-04 10:00"))  # the disclosure is not late yet
    [row] = monthly(harness.app.state, "2026-11", BJ)
    assert (row["on_time"], row["early"], row["overdue"]) == (1, 1, 0)
    harness.poll(bj("2026-12-10 10:00"))  # five weeks on, still not disclosed
    [row] = monthly(harness.app.state, "2026-11", BJ)
    assert (row["closed"], row["on_time"], row["early"], row["overdue"]) == (1, 0, 0, 1)
    assert row["on_time_rate"] == 0.0


def test_the_totals_row_sums_the_counts_and_rates_them_from_the_sums(harness: Harness) -> None:
    from monitor.report import monthly

    harness.load(
        item(),
        item("GT-1", department="市公安局"),
        *_closed("EARLY", "2026-11-04"),
        *_closed("LATE", "2026-11-12"),
        {**case("GA1"), "item_code": "GT-1", "department": "市公安局"},
        event("GA1", "accepted", "2026-11-02 09:00"),
        event("GA1", "decided", "2026-11-09 15:00", result="approved"),
        event("GA1", "delivered", "2026-11-09 16:00"),
        event("GA1", "disclosed", "2026-11-09 16:30", what="decision"),
        event("GA1", "closed", "2026-11-09 17:00"),
    )
    harness.poll(bj("2026-11-13 10:00"))
    *rows, total = monthly(harness.app.state, "2026-11", BJ, total=True)
    assert len(rows) == 2 and (total["department"], total["item_type"]) == ("合计", "all")
    assert (total["closed"], total["measured"], total["on_time"], total["early"], total["overdue"]) == (
        3,
        3,
        2,
        1,
        1,
    )
    assert total["on_time_rate"] == 0.6667 and total["red"] == sum(r["red"] for r in rows)
    assert monthly(harness.app.state, "2026-10", BJ, total=True) == []  # nothing: no totals row
