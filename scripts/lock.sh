#!/usr/bin/env bash
# Regenerate requirements.lock from pyproject.toml: the runtime dependencies, the "test"
# extra and the build backend (setuptools, wheel: `pip install --no-build-isolation`),
# each pinned with the sha256 of every file PyPI has for that version, resolved for any
# platform with CPython >= 3.11 (uv's universal resolution). Only PyPI is asked, whatever
# this machine's pip or uv configuration says. Extra arguments are added requirements.
#   scripts/lock.sh            # after changing dependencies in pyproject.toml
# Installs then use: pip install --require-hashes -r requirements.lock
#                    pip install --no-deps --no-build-isolation -e .
set -euo pipefail
cd "$(dirname "$0")/.."
UV=${UV:-uv}
if ! command -v "$UV" >/dev/null; then
  echo "scripts/lock.sh needs uv (pip install uv)" >&2
  exit 1
fi
printf '%s\n' "setuptools>=77" "wheel" "$@" |
  "$UV" pip compile --no-config --quiet \
    --index-url https://pypi.org/simple \
    --universal --python-version 3.11 \
    --generate-hashes \
    --extra test \
    --custom-compile-command scripts/lock.sh \
    --output-file requirements.lock \
    pyproject.toml -
