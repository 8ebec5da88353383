#!/usr/bin/env bash
# Instructions per case of one process's pass (bench/instructions.py says why and how).
# PYTHON may name a compiled build's interpreter; the template database must exist.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
declare -A total
for n in 5000 25000; do
  "$python" bench/instructions.py --copy sunlight_bench_instructions_copy
  out=$(mktemp)
  valgrind --tool=callgrind --callgrind-out-file="$out" "$python" bench/instructions.py --pass "$n" 2>&1 \
    | grep -E "cases in|refs"
  total[$n]=$(callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
  rm -f "$out"
done
echo "instructions per case: $(( (total[25000] - total[5000]) / 20000 ))"
