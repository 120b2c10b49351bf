#!/usr/bin/env bash
# Install everything the tests need and run the whole suite: lint, types, the web client's
# unit tests and build, then pytest (foundation, protocols, rooms, signaling, media in a
# private network namespace, scheduling, browser tests in Debian's Chromium).
# Extra arguments go to pytest. Under CI=true, PostgreSQL, Redis, Chromium and coturn are
# required; elsewhere the tests that need them skip with the reason.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'

npm --prefix web_client ci --no-audit --no-fund --loglevel=error
npm --prefix web_client run build
npm --prefix web_client test

.venv/bin/ruff check server tests bench
.venv/bin/mypy

set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure, not a pass" >&2
  exit 1
fi
exit "$rc"
