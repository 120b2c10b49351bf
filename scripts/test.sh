#!/usr/bin/env bash
# Install everything the tests need and run the whole suite: lint, types, the web client's
# unit tests and build, then pytest (foundation, protocols, rooms, signaling, media in a
# private network namespace, scheduling, browser tests in Debian's Chromium).
# Extra arguments go to one pytest run instead of the default two. Under CI=true, PostgreSQL,
# Redis, Chromium and coturn are required; elsewhere the tests that need them skip with the reason.
# Lint and types run beside the web client's build and unit tests (their output is printed
# whole afterwards); the run fails if any step fails.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# Exactly the locked versions, each file checked against its sha256 (requirements.lock,
# made by scripts/lock.sh from pyproject.toml); then the project itself, adding nothing.
.venv/bin/python -m pip install -q --require-hashes -r requirements.lock
.venv/bin/python -m pip install -q --no-deps --no-build-isolation -e .

LOGS=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$LOGS"' EXIT

# Wait for background job $1 and print its log $2: its exit status is returned.
finish() {
  local rc=0
  wait "$1" || rc=$?
  cat "$2"
  return "$rc"
}

npm --prefix web_client ci --no-audit --no-fund --loglevel=error
# Lint and types read only the Python sources: they run while the web client builds.
(.venv/bin/ruff check server tests bench && .venv/bin/mypy) >"$LOGS/lint" 2>&1 &
lint=$!
npm --prefix web_client run build
npm --prefix web_client test
echo "---- ruff and mypy ----"
finish "$lint" "$LOGS/lint"

# Browser tests drive Chromium through Playwright's synchronous API, which owns an event
# loop of its own: they run in their own pytest process, after the other tests. (Run beside
# them, both took longer on a 2-core machine: 25 min for the whole CI against 21.5.)
run_pytest() {
  set +e
  .venv/bin/python -m pytest "$@"
  local rc=$?
  set -e
  if [ "$rc" -eq 5 ]; then
    echo "pytest collected no tests in: $* (that is a failure, not a pass)" >&2
    return 1
  fi
  return "$rc"
}
if [ "$#" -gt 0 ]; then
  run_pytest "$@"
  exit $?
fi
# Most other tests run in pytest-xdist workers (much of their time is waiting: on servers,
# subprocesses, PostgreSQL); with loadgroup, tests/conftest.py's scheduler keeps the cluster
# module on one worker. PYTEST_WORKERS overrides the count (3: more starved the CLI tests'
# subprocesses on a loaded 2-core machine). The media tests (real-time frame rates and
# timings, one namespace batch) run after them in a pytest of their own, so nothing competes.
rc=0
run_pytest --ignore=tests/browser --ignore=tests/media -n "${PYTEST_WORKERS:-3}" --dist loadgroup || rc=$?
run_pytest tests/media || rc=$?
run_pytest tests/browser || rc=$?
exit "$rc"
