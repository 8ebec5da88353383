#!/usr/bin/env bash
# Quick start on the embedded default (SQLite under ./data, notices as .eml files):
# install into .venv, create data/sunlight.db with demo data relative to today (`demo` is one
# of the commands that may create a database), run a first pass, create the demo accounts
# and three 督办 (one awaiting the reply, one the ruling, one ruled), start the console
# (`sunlight web`) and run the daemon beside it.
# Run again, it keeps the data and accounts of the first time (`sunlight demo --reset`
# replaces the data; the accounts' passwords stay in data/demo-accounts.txt).
# Console: web.base_url (http://127.0.0.1:8080). Metrics: http://127.0.0.1:9308/metrics.
# Stop with Ctrl-C (the console stops with the daemon).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e .
.venv/bin/sunlight demo --if-empty
# A first pass, so that the demo accounts find alerts to show the 督办 loop on.
.venv/bin/sunlight run --once
.venv/bin/python -m monitor.users.demo
.venv/bin/sunlight web &
web_pid=$!
trap 'kill "$web_pid" 2>/dev/null || true' EXIT
sleep 1
if ! kill -0 "$web_pid" 2>/dev/null; then
  echo "the console did not start (see above)" >&2
  exit 2
fi
.venv/bin/sunlight run
