#!/usr/bin/env bash
# Run N `circle serve` nodes behind HAProxy (deploy/haproxy.cfg) on loopback, against PostgreSQL
# and Redis, until Ctrl-C (or SIGTERM): then everything it started stops and its directory goes.
#
#   bash deploy/local-cluster.sh 3
#
# Environment (all optional):
#   DATABASE_URL   PostgreSQL to use (default postgresql://postgres@127.0.0.1:5432/circle_cluster,
#                  created if missing); migrated with `circle db upgrade` first.
#   REDIS_URL      default redis://127.0.0.1:6379/0
#   SECRET_KEY     shared by the nodes (default: a random one for this run)
#   CIRCLE_REDIS_CHANNEL   default circle-cluster-<random> (one cluster, one channel)
#   CLUSTER_DIR    working directory (default: a new temporary one, removed on exit; a given
#                  one is kept)
#   CLUSTER_CMD    how to run the server (default: `circle` on PATH, else .venv/bin/circle,
#                  else `python3 -m server`)
#   CLUSTER_RESTART_DELAY  seconds before a node that exited is started again (default 1)
#   CLUSTER_READY_S        how long to wait for the nodes and the proxy to be ready (default 180)
#   Any other CIRCLE_* setting reaches every node (CIRCLE_ROOM_LEASE_S, CIRCLE_DRAIN_S, ...).
#
# What it prints (one fact per line, for people and for tests/cluster):
#   dir <path>                the working directory: node logs <path>/node<i>.log, the proxy's
#                             state socket <path>/haproxy.sock ("show stat")
#   node <i> <url> <node_id>  each node, directly (bypassing the proxy)
#   proxy <url>               the proxy: use this one
#   ready                     every node and the proxy answer /readyz
#
# Nodes are supervised: a node that exits (SIGTERM drains it, kill -9 crashes it) is started
# again after CLUSTER_RESTART_DELAY seconds, unless the file <dir>/hold<i> exists; then it
# starts once that file is removed. Its process id is in <dir>/node<i>.pid.
set -euo pipefail

N="${1:-3}"
if ! [[ "$N" =~ ^[1-9][0-9]?$ ]]; then
    echo "usage: $0 N   (1 to 99 nodes)" >&2
    exit 2
fi
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"

if [[ -n "${CLUSTER_CMD:-}" ]]; then
    read -r -a CMD <<<"$CLUSTER_CMD"
elif command -v circle >/dev/null 2>&1; then
    CMD=(circle)
elif [[ -x "$ROOT/.venv/bin/circle" ]]; then
    CMD=("$ROOT/.venv/bin/circle")
else
    CMD=(python3 -m server)
fi
command -v haproxy >/dev/null 2>&1 || { echo "haproxy is not installed (apt-get install haproxy)" >&2; exit 2; }

export DATABASE_URL="${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/circle_cluster}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
export SECRET_KEY="${SECRET_KEY:-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
export CIRCLE_REDIS_CHANNEL="${CIRCLE_REDIS_CHANNEL:-circle-cluster-$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
RESTART_DELAY="${CLUSTER_RESTART_DELAY:-1}"

if [[ -n "${CLUSTER_DIR:-}" ]]; then
    DIR="$CLUSTER_DIR"
    mkdir -p "$DIR"
    KEEP=1
else
    DIR="$(mktemp -d -t circle-cluster.XXXXXX)"
    KEEP=0
fi

PIDS=()
cleanup() {
    trap - EXIT INT TERM
    touch "$DIR/stopping"
    # The supervisors first (so nothing restarts), then what they run, then the proxy.
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for i in $(seq 1 "$N"); do
        if [[ -f "$DIR/node$i.pid" ]]; then kill -TERM "$(cat "$DIR/node$i.pid")" 2>/dev/null || true; fi
    done
    if [[ -f "$DIR/haproxy.pid" ]]; then kill -TERM "$(cat "$DIR/haproxy.pid")" 2>/dev/null || true; fi
    local deadline=$((SECONDS + 40))
    for i in $(seq 1 "$N"); do
        if [[ -f "$DIR/node$i.pid" ]]; then
            local p
            p="$(cat "$DIR/node$i.pid")"
            while kill -0 "$p" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
            kill -KILL "$p" 2>/dev/null || true
        fi
    done
    wait 2>/dev/null || true
    if [[ "$KEEP" == 0 ]]; then rm -rf "$DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# The database: created when missing (a local convenience; production runs its own).
python3 - "$DATABASE_URL" <<'PY' || true
import subprocess, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1].replace("+asyncpg", ""))
if u.scheme.startswith("postgres"):
    name = u.path.lstrip("/")
    admin = u._replace(path="/postgres").geturl()
    have = subprocess.run(["psql", admin, "-tAc", f"SELECT 1 FROM pg_database WHERE datname='{name}'"],
                          capture_output=True, text=True)
    if have.returncode == 0 and have.stdout.strip() != "1":
        subprocess.run(["psql", admin, "-qc", f'CREATE DATABASE "{name}"'], check=False)
PY
"${CMD[@]}" db upgrade >"$DIR/migrate.log" 2>&1 || { cat "$DIR/migrate.log" >&2; exit 1; }

PROXY_PORT="${CLUSTER_PROXY_PORT:-$(free_port)}"
PROXY_URL="http://127.0.0.1:$PROXY_PORT"
export CIRCLE_PUBLIC_URL="${CIRCLE_PUBLIC_URL:-$PROXY_URL}"
export CIRCLE_TRUSTED_PROXIES="${CIRCLE_TRUSTED_PROXIES:-[\"127.0.0.1/32\"]}"
echo "dir $DIR"

PORTS=()
SERVERS=""
for i in $(seq 1 "$N"); do
    PORTS[i]="$(free_port)"
    SERVERS+="    server node$i 127.0.0.1:${PORTS[i]}"$'\n'
done

# The reference configuration with this run's bind address and servers.
awk -v bind="    bind 127.0.0.1:$PROXY_PORT" -v servers="$SERVERS" \
    -v stats="    stats socket $DIR/haproxy.sock mode 600 level user" '
    /^[[:space:]]*bind[[:space:]]/ { print bind; next }
    /^[[:space:]]*stats socket[[:space:]]/ { print stats; next }
    /^[[:space:]]*server[[:space:]]/ { if (!done) { printf "%s", servers; done = 1 } next }
    { print }
' "$HERE/haproxy.cfg" >"$DIR/haproxy.cfg"
haproxy -c -q -f "$DIR/haproxy.cfg"

supervise() {  # node index, port: run the node, start it again when it exits
    local i="$1" port="$2"
    trap 'exit 0' TERM
    while [[ ! -e "$DIR/stopping" ]]; do
        while [[ -e "$DIR/hold$i" && ! -e "$DIR/stopping" ]]; do sleep 0.1; done
        [[ -e "$DIR/stopping" ]] && break
        CIRCLE_NODE_ID="node$i" "${CMD[@]}" serve --host 127.0.0.1 --port "$port" \
            >>"$DIR/node$i.log" 2>&1 &
        echo $! >"$DIR/node$i.pid"
        wait $! || true
        [[ -e "$DIR/stopping" ]] && break
        echo "--- node$i exited at $(date -u +%T.%N); restarting" >>"$DIR/node$i.log"
        sleep "$RESTART_DELAY"
    done
}

for i in $(seq 1 "$N"); do
    supervise "$i" "${PORTS[i]}" &
    PIDS+=($!)
    echo "node $i http://127.0.0.1:${PORTS[i]} node$i"
done

haproxy -db -f "$DIR/haproxy.cfg" >"$DIR/haproxy.log" 2>&1 &
echo $! >"$DIR/haproxy.pid"
PIDS+=($!)

wait_ready() {  # url, log: until it answers /readyz with 200 (CLUSTER_READY_S, default 180 s)
    local deadline=$((SECONDS + ${CLUSTER_READY_S:-180}))
    until curl -fsS -o /dev/null "$1/readyz" 2>/dev/null; do
        if ((SECONDS >= deadline)); then
            echo "not ready: $1" >&2
            tail -n 20 "$2" >&2 2>/dev/null || true
            return 1
        fi
        sleep 0.2
    done
}
for i in $(seq 1 "$N"); do wait_ready "http://127.0.0.1:${PORTS[i]}" "$DIR/node$i.log"; done
wait_ready "$PROXY_URL" "$DIR/haproxy.log"
echo "proxy $PROXY_URL"
echo "ready"

# Until a signal, or the proxy dies.
wait "$(cat "$DIR/haproxy.pid")"
