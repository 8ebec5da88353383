#!/usr/bin/env bash
# Quick start on the embedded default (SQLite under ./data, notices as .eml files):
# install into .venv, load demo data relative to today, then run the daemon.
# Run again, it keeps the data it loaded the first time (`sunlight demo --reset` replaces it).
# Metrics: http://127.0.0.1:9308/metrics. Stop with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e .
.venv/bin/sunlight demo --if-empty
exec .venv/bin/sunlight run
