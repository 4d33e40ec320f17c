#!/usr/bin/env bash
# Set up a virtual environment with the test extras and run the whole test suite.
# Integration tests run on SQLite, and on PostgreSQL too when REFERRALNET_TEST_POSTGRES_URL is set
# (e.g. postgresql://postgres@127.0.0.1:5432/test). Browser tests use /usr/bin/chromium.
# Lint (ruff) and type check (mypy on src/) run first; any finding fails the run. Settings: pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'
.venv/bin/ruff check .
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
