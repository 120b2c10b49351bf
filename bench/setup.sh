#!/usr/bin/env bash
# The Debian packages the benchmarks use, installed where missing (as root, with apt-get):
#   janus    bench/media.py's side-by-side column (Janus 1.1.2 VideoRoom, bench/media_janus.py)
#   haproxy  bench/cluster.py (deploy/local-cluster.sh puts HAProxy in front of the nodes)
# Without them (no root, no apt-get) the benchmarks still run: bench/media.py prints why the
# Janus column is skipped, and bench/cluster.py says what is missing.
#   bash bench/setup.sh && .venv/bin/python bench/media.py
set -euo pipefail
missing=()
for pkg in janus haproxy; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "bench/setup.sh: janus and haproxy are installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "bench/setup.sh: missing ${missing[*]}; install as root: apt-get install ${missing[*]}" >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
echo "bench/setup.sh: installed ${missing[*]}"
