"""Benchmark: `sunlight audit verify` and the anchorer's replay over N history rows.

Writes N history rows (notice outcomes, 10,000 a transaction, signed like the daemon's) into
a fresh state database, then times `alerts.audit.verify.verify` of the whole chain and the
first anchor, which replays it all. The alerts the rows name do not exist, so verify's
findings are `alert_deleted` lines: the replay costs the same either way.

    .venv/bin/python bench/audit.py                                   # SQLite, 200,000 rows
    .venv/bin/python bench/audit.py --url postgresql+psycopg://postgres@127.0.0.1:5432/bench
    .venv/bin/python bench/audit.py --rows 1000000

A server database must be empty (its tables are created). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.append(str(Path(__file__).resolve().parent.parent))

from alerts.audit.anchors import anchor_head
from alerts.audit.verify import verify
from alerts.history import Journal
from monitor.app import build
from monitor.config import load_config


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--url", help="state database (default: a fresh SQLite file)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="sunlight-audit-"))
    url = args.url or f"sqlite:///{folder / 'state.db'}"
    (folder / "config.yaml").write_text(json.dumps({"database": {"url": url}}), encoding="utf-8")
    app = build(load_config(folder / "config.yaml", environ={}))
    app.upgrade()
    keys = app.prepare_audit()
    at = datetime(2026, 11, 24, 10, tzinfo=ZoneInfo("Asia/Shanghai"))
    started = time.perf_counter()
    for chunk in range(0, args.rows, 10_000):
        with app.state.begin() as conn:
            journal = Journal()
            for i in range(chunk, min(args.rows, chunk + 10_000)):
                detail = {"notice": i, "recipient": "jjjc@example.gov.cn", "kind": "raised"}
                journal.add(i % 5000 + 1, "notice_sent", at + timedelta(seconds=i), detail=detail)
            journal.flush(conn)
    wrote = time.perf_counter() - started
    started = time.perf_counter()
    report = verify(app.state, keys.by_id(), ())
    verified = time.perf_counter() - started
    started = time.perf_counter()
    anchor_head(app.state, folder / "anchors.log", at)
    anchored = time.perf_counter() - started
    app.dispose()
    print(
        f"{app.state.dialect.name}: {args.rows:,} rows written in {wrote:.1f}s; verify {verified:.2f}s "
        f"({args.rows / verified:,.0f} rows/s, {report.rows:,} rows read); first anchor {anchored:.2f}s"
    )
    print(
        f"command: .venv/bin/python bench/audit.py --rows {args.rows}"
        + (f" --url {args.url}" if args.url else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
