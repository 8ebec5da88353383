#!/usr/bin/env bash
# Quick start on the embedded default (SQLite under ./data, notices as .eml files):
# install into .venv, create data/sunlight.db with demo data relative to today (`demo` is one
# of the commands that may create a database), then run the daemon on it.
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
