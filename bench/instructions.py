"""Machine instructions per case of one process's pass, counted by callgrind (not part of
the test suite).

    python bench/instructions.py [--cases 400000]          # load a template database once
    bash bench/instructions.sh                              # count: passes of 5,000 and 25,000

Times on a shared machine move by a third within a day; instruction counts do not (callgrind
gives the same total for the same binary and input). A pass of 25,000 cases and one of 5,000
run on fresh copies of the same first start, each under callgrind; the difference divided by
20,000 is what one more case costs, without the start-up, the rule loading and the first
page of events. Only the Python process is counted, not the PostgreSQL server.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import psycopg
from sqlalchemy import make_url

sys.path.append(str(Path(__file__).resolve().parent))  # province.py, beside this file
sys.path.append(str(Path(__file__).resolve().parent.parent))  # after an installed build

import province

from monitor.daemon.poll import poll_once

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
TEMPLATE = "sunlight_bench_instructions"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=400_000, help="cases in the template database")
    parser.add_argument("--copy", metavar="NAME", help="make database NAME a fresh copy of the template")
    parser.add_argument("--pass", dest="evaluate", type=int, metavar="N", help="one pass of N cases")
    parser.add_argument("--db", default="sunlight_bench_instructions_copy")
    args = parser.parse_args()
    base = make_url(os.environ.get("SUNLIGHT_BENCH_PG", ADMIN.replace("postgresql", "postgresql+psycopg")))
    if args.copy:
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {args.copy} WITH (FORCE)")
            admin.execute(f"CREATE DATABASE {args.copy} TEMPLATE {TEMPLATE}")
        return
    if args.evaluate:
        url = base.set(database=args.db).render_as_string(hide_password=False)
        app = province.app_for(url, Path("/tmp/sunlight-bench") / args.db)
        pipeline = app.pipeline(app.holder())
        started = time.perf_counter()
        result = poll_once(pipeline, province.NOW, max_cases=args.evaluate)
        print(f"{result.cases_evaluated:,} cases in {time.perf_counter() - started:.1f}s")
        app.dispose()
        return
    url = province.scratch(base.render_as_string(hide_password=False), TEMPLATE)
    province.app_for(url, Path("/tmp/sunlight-bench") / TEMPLATE).dispose()  # the schema
    province.copy_load(url, args.cases, 2)
    print(f"{TEMPLATE}: {args.cases:,} cases loaded")


if __name__ == "__main__":
    main()
