#!/usr/bin/env bash
# Create a virtual environment, install the server, build the web client, migrate the
# embedded SQLite database (./var/), create the demo group and serve it on
# http://127.0.0.1:8080 (CIRCLE_PORT and CIRCLE_HOST change that), with five synthetic
# members (test pattern and tone) already in the room.
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

# Media on this machine only: the server uses no private or loopback address for media
# unless told to (docs/deployment.md). To try the demo from another machine on your LAN, set
# CIRCLE_MEDIA_ALLOWED_NETWORKS to that network too, e.g. '["127.0.0.0/8","192.168.1.0/24"]'.
export CIRCLE_MEDIA_ALLOWED_NETWORKS=${CIRCLE_MEDIA_ALLOWED_NETWORKS:-'["127.0.0.0/8"]'}

.venv/bin/circle db upgrade
.venv/bin/circle demo
exec .venv/bin/circle serve --demo-bots 5 "$@"
