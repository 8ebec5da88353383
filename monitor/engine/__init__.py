"""Rule evaluation: the rule language, its loader, the statutory clock and `evaluate`."""

from __future__ import annotations

import importlib

from monitor.engine.evaluate import evaluate
from monitor.engine.loader import RuleSet, load_ruleset

__all__ = ["RuleSet", "build", "evaluate", "load_ruleset"]


def build() -> str:
    """`compiled` when the engine runs as C extensions built by mypyc (see setup.py),
    `interpreted` when it runs from its Python source."""
    source = importlib.import_module("monitor.engine.evaluate").__file__ or ""
    return "interpreted" if source.endswith(".py") else "compiled"
