#!/usr/bin/env bash
# Mutation testing of the clock, the deadline rules and the CEL fast path (docs/testing.md).
# Not run in CI: it reruns the selected tests once per mutant (about 2,600 of them).
#   .venv/bin/pip install 'mutmut>=3.8,<3.9'
#   bench/mutation.sh            # everything; MUTMUT_CHILDREN workers (default 2)
#   bench/mutation.sh 'monitor.engine.clock.*'   # only these mutants (mutmut's name globs)
# What is mutated and which tests run are [tool.mutmut] in pyproject.toml. The property
# tests draw a fifth of their examples (SUNLIGHT_EXAMPLES_SCALE); their boundary instants
# are drawn on purpose, whatever the count.
set -euo pipefail
cd "$(dirname "$0")/.."
export SUNLIGHT_EXAMPLES_SCALE=${SUNLIGHT_EXAMPLES_SCALE:-0.2}
# each mutant's tests cheapest first (tests/mutation_order.py); an environment variable, not
# mutmut's pytest arguments, so that changing the order keeps the results already measured
export PYTEST_PLUGINS=tests.mutation_order
.venv/bin/mutmut run --max-children "${MUTMUT_CHILDREN:-2}" "$@" > mutants/run.log 2>&1 || true
.venv/bin/python bench/mutation_score.py
