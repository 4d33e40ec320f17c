#!/usr/bin/env bash
# The installed package works outside the checkout: build the wheel, install it into a fresh virtual
# environment in a temporary folder, and there run `referralnet migrate`, `seed` (and `seed --demo`),
# `serve` (until /health answers) and `match` with the packaged example profile, on the default
# database (the platform data folder, pointed into the temporary folder through XDG_DATA_HOME).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
PY=${PYTHON:-python3.11}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/referralnet-wheel.XXXXXX")
SERVER=""
cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "wheel-check: $*" >&2; exit 1; }

echo "wheel-check: building the wheel in $WORK"
"$PY" -m pip wheel --quiet --no-deps --wheel-dir "$WORK/dist" "$REPO"
WHEEL=$(ls "$WORK"/dist/referralnet-*.whl)
"$PY" - "$WHEEL" <<'PYTHON' || fail "the wheel lacks the migrations or data files"
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
wanted = ["referralnet/migrations/", "referralnet/data/geo/localities.csv", "referralnet/data/organisations/",
          "referralnet/data/institutions/", "referralnet/data/demo/", "referralnet/data/examples/profile.toml"]
missing = [w for w in wanted if not any(n.startswith(w) for n in names)]
sys.exit(f"missing from the wheel: {missing}" if missing else 0)
PYTHON

"$PY" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install --quiet "$WHEEL"

# Outside the checkout, with no REFERRALNET_* variable: the defaults must find everything.
mkdir "$WORK/elsewhere"
cd "$WORK/elsewhere"
for name in $(env | grep -o '^REFERRALNET_[A-Z_]*' || true); do unset "$name"; done
export XDG_DATA_HOME="$WORK/xdg" PYTHONPATH=""
RN="$WORK/venv/bin/referralnet"
DEFAULT_DB="$XDG_DATA_HOME/referralnet/referralnet.sqlite"

"$RN" --help | grep -qF "sqlite:///$DEFAULT_DB" || fail "--help does not name the default database $DEFAULT_DB"
"$RN" migrate 2>"$WORK/migrate.err" || { cat "$WORK/migrate.err" >&2; fail "migrate failed"; }
grep -qF "database sqlite:///$DEFAULT_DB" "$WORK/migrate.err" || fail "migrate does not say which database it uses"
[ -f "$DEFAULT_DB" ] || fail "migrate did not create $DEFAULT_DB"
"$RN" seed
"$RN" seed --demo
ls ./*.sqlite >/dev/null 2>&1 && fail "a database was created in the working folder"
TOKEN=$("$RN" token create --role admin --name "wheel check" | tail -n 1)

PORT=$("$WORK/venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$RN" serve --port "$PORT" >"$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 60); do
  if "$WORK/venv/bin/python" -c "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:$PORT/health', timeout=2).status != 200)" 2>/dev/null; then
    HEALTHY=1; break
  fi
  kill -0 "$SERVER" 2>/dev/null || break
  sleep 1
done
[ "${HEALTHY:-0}" = 1 ] || { cat "$WORK/serve.log" >&2; fail "serve did not answer /health on port $PORT"; }
grep -qF "links in messages point to http://127.0.0.1:$PORT" "$WORK/serve.log" || { cat "$WORK/serve.log" >&2; fail "serve does not link to its own port"; }
# The token made by the CLI works against the server: both use the same default database.
"$WORK/venv/bin/python" - "http://127.0.0.1:$PORT/api/v1/organisations?limit=500" "$TOKEN" <<'PYTHON' || fail "the server refused the token made by the CLI, or lists no organisations"
import json, sys, urllib.request
request = urllib.request.Request(sys.argv[1], headers={"Authorization": f"Bearer {sys.argv[2]}"})
body = json.load(urllib.request.urlopen(request, timeout=10))
sys.exit(0 if body["total"] >= 40 else f"only {body['total']} organisations")
PYTHON
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""

PROFILE=$("$WORK/venv/bin/python" -c 'from referralnet.resources import data_dir; print(data_dir() / "examples" / "profile.toml")')
case "$PROFILE" in "$WORK/venv/"*) ;; *) fail "the example profile comes from $PROFILE, not from the installed package" ;; esac
"$RN" match "$PROFILE" >"$WORK/match.out"
grep -q "Shelter for women (demo)" "$WORK/match.out" || { cat "$WORK/match.out" >&2; fail "match did not find the demo shelter"; }
echo "wheel-check: $(basename "$WHEEL") installs, migrates, seeds, serves and matches outside the checkout"
