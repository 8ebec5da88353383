"""Optional compiled build of the evaluation engine (everything else is in pyproject.toml).

    SUNLIGHT_COMPILE=1 pip wheel --no-build-isolation --no-deps .   # needs mypy and a C compiler

compiles the modules every case passes through with mypyc: the same code, type-checked by
`mypy --strict`, as C extensions, about 1.7 times faster (docs/performance.md). Without the
variable the build is pure Python, as usual.
"""

from __future__ import annotations

import os

from setuptools import setup

# The hot path of evaluate(): the engine, the calendar's counting, the time helpers and the
# frozen models they build. The rule models (pydantic) and everything around a pass stay
# interpreted: SQLAlchemy types the rows of a typed select as tuples, which they are not at
# run time, and compiled code checks (a compiled state store fails on its first claim).
COMPILED = [
    "monitor/model.py",
    "monitor/timeutil.py",
    "monitor/calendar/workdays.py",
    "monitor/engine/casefields.py",
    "monitor/engine/clock.py",
    "monitor/engine/context.py",
    "monitor/engine/deadline.py",
    "monitor/engine/extensions.py",
    "monitor/engine/interval.py",
    "monitor/engine/evaluate.py",
    "monitor/engine/fastpath.py",
    "monitor/engine/fastvalues.py",
    "monitor/engine/gates.py",
    "monitor/engine/screen.py",
    "monitor/engine/timefree.py",
]

ext_modules = []
if os.environ.get("SUNLIGHT_COMPILE") == "1":
    from mypyc.build import mypycify

    ext_modules = mypycify(COMPILED, opt_level="3")

setup(ext_modules=ext_modules)
