#!/usr/bin/env bash
# Install everything the tests need and run the whole suite: lint, types, the web client's
# unit tests and build, then pytest (foundation, protocols, rooms, signaling, media in a
# private network namespace, scheduling, browser tests in Debian's Chromium).
# Extra arguments go to one pytest run instead of the default two. Under CI=true, PostgreSQL, Redis, Chromium and coturn are
# required; elsewhere the tests that need them skip with the reason.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# Exactly the locked versions, each file checked against its sha256 (requirements.lock,
# made by scripts/lock.sh from pyproject.toml); then the project itself, adding nothing.
.venv/bin/python -m pip install -q --require-hashes -r requirements.lock
.venv/bin/python -m pip install -q --no-deps --no-build-isolation -e .

npm --prefix web_client ci --no-audit --no-fund --loglevel=error
npm --prefix web_client run build
npm --prefix web_client test

.venv/bin/ruff check server tests bench
.venv/bin/mypy

# Browser tests drive Chromium through Playwright's synchronous API, which owns an event
# loop of its own: they run in their own pytest process, after everything else.
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
rc=0
run_pytest --ignore=tests/browser || rc=$?
run_pytest tests/browser || rc=$?
exit "$rc"
