#!/usr/bin/env bash
# Create a virtual environment, install the server, build the web client, migrate the
# embedded SQLite database (./var/), create the demo group and serve it on
# http://127.0.0.1:8080 (CIRCLE_PORT and CIRCLE_HOST change that), with five synthetic
# members (test pattern and tone) already in the room.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e .
npm --prefix web_client ci --no-audit --no-fund --loglevel=error
npm --prefix web_client run build

.venv/bin/circle db upgrade
.venv/bin/circle demo
exec .venv/bin/circle serve --demo-bots 5 "$@"
