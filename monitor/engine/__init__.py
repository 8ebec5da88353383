"""Rule evaluation: the rule language, its loader, the statutory clock and `evaluate`."""

from __future__ import annotations

from monitor.engine.evaluate import evaluate
from monitor.engine.loader import RuleSet, load_ruleset

__all__ = ["RuleSet", "evaluate", "load_ruleset"]
