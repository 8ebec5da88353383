"""Benchmark the console at scale on PostgreSQL (not part of the test suite).

    .venv/bin/python bench/console.py [--cases 2000000] [--evaluated 400000] [--requests 200]
        [--url postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--keep]

In one run it:
1. creates a scratch database and loads, with COPY, `--evaluated` cases in the demo's
   proportions (two thirds closed, a quarter alerting) and brings them through the real
   first start (every case evaluated, alerts raised into the hash-chained history): about a
   quarter of them alert, so 400,000 give about 100,000 alerts;
2. loads the rest of `--cases` (quiet open cases) with COPY, so the source holds the full
   number of cases the case page looks one up among;
3. starts `sunlight web` on that database as a separate process, adds an office and a
   department user with `sunlight users add` and takes an API token with `sunlight users token`;
4. times `--requests` requests of each kind over loopback, one at a time: the alert list
   (first page, a filtered page, a deep page), the same as JSON, the case page and its JSON,
   for the office and for one department; prints p50/p95/max in milliseconds (target p95
   under 200 ms) and the alert and case counts it measured at.

The requests are timed at the client, over loopback: server time plus a fraction of a
millisecond. The figures go in docs/performance.md under "The console".
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from sqlalchemy import func, make_url, select

# Appended, not prepended: an installed build (a compiled one, see setup.py) comes first.
sys.path.append(str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from province import NOW, app_for, copy_load, scratch, timed_pass

from monitor.state.schema import alerts, case_state, cases

ROOT = Path(__file__).resolve().parent.parent
SUNLIGHT = str(Path(sys.executable).with_name("sunlight"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(config: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [SUNLIGHT, "--config", str(config), *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"sunlight {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def timed(opener: urllib.request.OpenerDirector, url: str, headers: dict[str, str], n: int) -> list[float]:
    out = []
    for _ in range(n):
        request = urllib.request.Request(url, headers=headers)
        t = time.perf_counter()
        with opener.open(request) as response:
            response.read()
            if response.status != 200:
                raise SystemExit(f"{url}: HTTP {response.status}")
        out.append((time.perf_counter() - t) * 1000)
    return out


def summary(label: str, ms: list[float]) -> dict[str, Any]:
    ms = sorted(ms)
    p95 = ms[max(0, round(0.95 * len(ms)) - 1)]
    row = {"what": label, "p50_ms": round(statistics.median(ms), 1), "p95_ms": round(p95, 1),
           "max_ms": round(ms[-1], 1), "n": len(ms)}  # fmt: skip
    print(
        f"{label:48s} p50 {row['p50_ms']:7.1f} ms  p95 {row['p95_ms']:7.1f} ms  max {row['max_ms']:7.1f} ms"
    )
    return row


def login(base: str, username: str, password: str) -> urllib.request.OpenerDirector:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(f"{base}/login") as page:
        html = page.read().decode()
    found = re.search(r'name="csrf_token"\s+value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"\s+name="csrf_token"', html
    )
    form = {"username": username, "password": password}
    if found:
        form["csrf_token"] = found.group(1)
    data = urllib.parse.urlencode(form).encode()
    with opener.open(urllib.request.Request(f"{base}/login", data=data)) as response:
        response.read()
    return opener


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=2_000_000)
    ap.add_argument("--evaluated", type=int, default=400_000)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--work", default="/tmp/sunlight-console-bench")
    ap.add_argument("--reuse", action="store_true", help="measure on the database a previous run left")
    args = ap.parse_args()
    work = Path(args.work)
    name = "sunlight_bench_console"
    url = (
        make_url(args.url).set(database=name).render_as_string(hide_password=False)
        if args.reuse
        else scratch(args.url, name)
    )
    app = app_for(url, work)
    if not args.reuse:
        t = time.perf_counter()
        copy_load(url, args.evaluated, 1, "realistic")
        print(f"loaded {args.evaluated:,} realistic cases in {time.perf_counter() - t:.0f}s")
        t = time.perf_counter()
        while timed_pass(app, NOW, max_cases=200_000)[1]:
            pass
        print(f"first start over them in {time.perf_counter() - t:.0f}s")
        t = time.perf_counter()
        copy_load(url, args.cases - args.evaluated, 2, "quiet", with_items=False)
        print(f"loaded {args.cases - args.evaluated:,} more cases in {time.perf_counter() - t:.0f}s")
    with app.state.connect() as conn:
        n_alerts = int(conn.execute(select(func.count()).select_from(alerts)).scalar_one())
        n_cases = int(conn.execute(select(func.count()).select_from(case_state)).scalar_one())
        one = conn.execute(select(alerts.c.case_id, alerts.c.department).order_by(alerts.c.id).limit(1)).one()
        departments = [
            d for (d,) in conn.execute(select(alerts.c.department).distinct().order_by(alerts.c.department))
        ]
    with app.source.connect() as conn:
        n_source = int(conn.execute(select(func.count()).select_from(cases)).scalar_one())
    app.dispose()
    print(f"measuring at {n_alerts:,} alerts, {n_source:,} cases ({n_cases:,} evaluated)")

    config = work / "config.yaml"
    env = {**os.environ, "SUNLIGHT_WEB_SECRET": "bench-secret-" + "x" * 32}
    password = "Bench-Passw0rd!"
    suffix = str(random.randrange(10**6))
    office, clerk = f"office{suffix}", f"clerk{suffix}"
    os.environ.update(env)
    cli(config, "users", "add", office, "--role", "office", "--password-stdin", stdin=password + "\n")
    cli(config, "users", "add", clerk, "--role", "department", "--department", one.department,
        "--password-stdin", stdin=password + "\n")  # fmt: skip
    token = cli(config, "users", "token", office).strip().split()[-1]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [SUNLIGHT, "--config", str(config), "web", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(work / "web.log").open("w"),
    )
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"{base}/login") as r:
                    r.read()
                break
            except OSError:
                time.sleep(0.1)
        plain = urllib.request.build_opener()
        bearer = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        office_browser = login(base, office, password)
        clerk_browser = login(base, clerk, password)
        n = args.requests
        dept = urllib.parse.quote(departments[len(departments) // 2])
        deep = max(0, n_alerts // 2)
        api = (plain, bearer)
        no_headers: dict[str, str] = {}
        office_page, clerk_page = (office_browser, no_headers), (clerk_browser, no_headers)
        plan = [
            ("GET /api/alerts (first page, office)", api, "/api/alerts?limit=50"),
            ("GET /api/alerts?level=red&state=open", api, "/api/alerts?level=red&state=open&limit=50"),
            ("GET /api/alerts?department=D", api, f"/api/alerts?department={dept}&limit=50"),
            (f"GET /api/alerts?offset={deep}", api, f"/api/alerts?limit=50&offset={deep}"),
            ("GET /api/cases/{id}", api, f"/api/cases/{one.case_id}"),
            ("page 预警 /alerts (office)", office_page, "/alerts"),
            ("page 预警 /alerts?level=red (office)", office_page, "/alerts?level=red"),
            ("page 预警 /alerts (department)", clerk_page, "/alerts"),
            ("page 办件 /cases/{id} (office)", office_page, f"/cases/{one.case_id}"),
            ("page 总览 / (office)", office_page, "/"),
        ]
        rows = [summary(label, timed(who[0], base + path, who[1], n)) for label, who, path in plan]
    finally:
        server.terminate()
        server.wait(10)
    report = {"alerts": n_alerts, "cases": n_source, "requests": n, "rows": rows}
    (work / "console.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"written {work / 'console.json'}")


if __name__ == "__main__":
    main()
