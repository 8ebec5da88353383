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
    assert (row["closed"], row["on_time"], row["early"], row["overdue"]) == (3, 2, 1, 1)
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
    assert csv.stdout.splitlines()[1].startswith("市市场监督管理局,licensing,1,1,1,0,1.0,1.0,0.0,0.4")
    html = sunlight(config, "report", "--month", "2026-11", "--format", "html").stdout
    assert "按时办结率" in html and "100.0%" in html and "<table" in html
    assert sunlight(config, "report", "--month", "2026-13").returncode == 2
    assert sunlight(config, "report", "--month", "2026-11", "--mail").returncode == 2  # no recipients set
