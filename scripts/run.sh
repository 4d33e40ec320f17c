#!/usr/bin/env bash
# Set up a virtual environment, create the local SQLite database, load the directory and serve
# on http://127.0.0.1:8000. Extra arguments go to `referralnet serve` (e.g. --port 8080).
# REFERRALNET_DEMO=1 also loads the fictional demo organisations (data/demo/) to try matching.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .
.venv/bin/referralnet migrate
.venv/bin/referralnet seed
if [ "${REFERRALNET_DEMO:-0}" = "1" ]; then .venv/bin/referralnet seed --demo; fi
exec .venv/bin/referralnet serve "$@"
