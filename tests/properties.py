"""How many random examples the property tests draw.

`SUNLIGHT_EXAMPLES_SCALE` scales every property test's count: the mutation run
(bench/mutation.sh) runs the selected tests once per mutant and sets it below 1, where the
boundary instants the generators draw on purpose do most of the killing. Unset, each test
draws the count it names.
"""

from __future__ import annotations

import os

_SCALE = float(os.environ.get("SUNLIGHT_EXAMPLES_SCALE", "1"))


def examples(n: int) -> int:
    """`n` examples, scaled, and never fewer than 10."""
    return max(10, round(n * _SCALE))
