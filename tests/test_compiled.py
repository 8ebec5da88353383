"""The compiled engine (setup.py, `SUNLIGHT_COMPILE=1`) against its Python source.

The normal suite runs from the source tree and checks that nothing compiled shadows it. The
compiled job (`.ci/compiled`) installs a compiled wheel, sets `SUNLIGHT_EXPECT_COMPILED=1`,
and checks that the engine really is compiled and that it finds exactly what the source finds
on every case of the demo data set, at several instants (and that its screen gives the same
cases the same way).
"""

from __future__ import annotations

import hashlib
import importlib
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.calendar import WorkCalendar
from monitor.config import load_config
from monitor.demo import demo_records
from monitor.engine import build, evaluate, load_ruleset
from monitor.engine.screen import Screen
from tests.conftest import RULES, Harness, bj, write_config

EXPECT_COMPILED = os.environ.get("SUNLIGHT_EXPECT_COMPILED") == "1"
REPO = Path(__file__).resolve().parent.parent
NOW = bj("2026-11-23 10:00")
# The modules setup.py compiles, as import names.
COMPILED = [
    "monitor.model",
    "monitor.timeutil",
    "monitor.calendar.workdays",
    "monitor.engine.casefields",
    "monitor.engine.clock",
    "monitor.engine.context",
    "monitor.engine.deadline",
    "monitor.engine.extensions",
    "monitor.engine.interval",
    "monitor.engine.evaluate",
    "monitor.engine.fastpath",
    "monitor.engine.fastvalues",
    "monitor.engine.gates",
    "monitor.engine.screen",
    "monitor.engine.timefree",
]


def test_setup_compiles_the_modules_this_test_expects() -> None:
    setup = (REPO / "setup.py").read_text(encoding="utf-8")
    listed = [line.strip().strip('",') for line in setup.splitlines() if line.strip().startswith('"monitor/')]
    assert [p.removesuffix(".py").replace("/", ".") for p in listed] == COMPILED


def test_the_engine_runs_as_the_build_expected() -> None:
    files = {name: importlib.import_module(name).__file__ or "" for name in COMPILED}
    if EXPECT_COMPILED:
        assert build() == "compiled"
        assert all(not f.endswith(".py") for f in files.values()), files
    else:
        # A compiled module left in the source tree would silently run instead of the source.
        assert build() == "interpreted"
        assert all(f.endswith(".py") for f in files.values()), files


def digest(url: str) -> str:
    """Every evaluation of every case in the database at three instants, as one digest."""
    from sqlalchemy import select

    from monitor.source.reader import SourceReader
    from monitor.state.db import make_engine
    from monitor.state.schema import cases

    rules = load_ruleset(RULES)
    calendar = WorkCalendar.default()
    engine = make_engine(url)
    with engine.connect() as conn:
        ids = list(conn.execute(select(cases.c.case_id)).scalars())
    out = hashlib.sha256()
    screen = Screen(rules, calendar)
    for case in SourceReader(engine).load_cases(ids):
        for days in (0, 3, 20):
            ev = evaluate(case, rules, calendar, NOW + timedelta(days=days))
            out.update(repr((ev.case_id, ev.findings, ev.next_check_at)).encode())
            screened = screen.evaluate(case, NOW + timedelta(days=days))
            out.update(repr((screened.findings, screened.next_check_at, screened.clocks)).encode())
            for c in ev.clocks:
                out.update(repr(c).encode() + c.reason.encode())
    engine.dispose()
    return f"{len(ids)} {out.hexdigest()}"


@pytest.mark.skipif(not EXPECT_COMPILED, reason="compares the compiled build with the source (.ci/compiled)")
def test_compiled_and_source_engines_agree_on_every_demo_case(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    h = Harness(load_config(write_config(tmp_path, url), environ={}))
    h.load(*demo_records(NOW, cases=400), now=NOW)
    h.app.dispose()
    compiled = digest(url)
    # The source tree first on the path: the same code, interpreted.
    source = subprocess.run(
        [sys.executable, "-c", f"from tests.test_compiled import digest; print(digest({url!r}))"],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert compiled.startswith("400 ")
    assert compiled == source
