"""A pytest plugin for the mutation run (bench/mutation.sh, `[tool.mutmut]`): the tests run
cheapest first, so that a mutant fails on the first cheap test that notices it (mutmut stops
at the first failure). Unit tests come before property tests, which draw many cases each, and
the files that evaluate whole rule sets come last. Ordinary runs do not load it."""

from __future__ import annotations

import pytest

# Cheapest first: the clock alone, the rule kinds on a small rule set, the fast path, then
# the shipped rule sets through `evaluate`.
_FILES = [
    "test_clock.py",
    "test_deadline.py",
    "test_fastpath.py",
    "test_shipped_rules.py",
    "test_ruletest.py",
    "test_cel_semantics.py",
]


def _cost(item: pytest.Item) -> tuple[int, int]:
    drawn = bool(getattr(getattr(item, "obj", None), "is_hypothesis_test", False))
    name = item.path.name
    return (int(drawn), _FILES.index(name) if name in _FILES else len(_FILES))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_cost)
