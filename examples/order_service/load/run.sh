#!/usr/bin/env bash
# Loads the order service with wrk and prints the figures for docs/order_service.md:
#   1. baseline: GET /healthz (the HTTP layer alone, no command), then
#   2. POST /orders/{id}/lines across many orders (load/lines.lua), durable, then the same buffered.
# Each on a fresh data folder, wrk -t2 -c64 for DURATION (default 30s). Needs build/bin/order-service and wrk
# (Debian: apt-get install wrk).
#
#   examples/order_service/load/run.sh [DURATION]
set -euo pipefail
cd "$(dirname "$0")/../../.."
duration=${1:-30s}
server=${CAIRN_BUILD_DIR:-build}/bin/order-service
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 2; }
[ -x "$server" ] || { echo "$server is missing: ./dev build" >&2; exit 2; }
scratch=$(mktemp -d)
pid=
# Whatever happens (wrk failing included), the server does not outlive the script.
trap '[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid"; rm -rf "$scratch"' EXIT

# start_server DURABILITY: starts the service on a fresh folder, sets $url and $pid.
start_server() {
  rm -rf "$scratch/db"
  "$server" --listen 127.0.0.1:0 --data-dir "$scratch/db" --durability "$1" >"$scratch/out" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    url=$(grep -o 'http://[0-9.:]*' "$scratch/out" || true)
    [ -n "$url" ] && return 0
    sleep 0.1
  done
  echo "the service did not start: $(cat "$scratch/out")" >&2
  exit 1
}

stop_server() {
  kill -TERM "$pid"
  wait "$pid"
  pid=
}

echo "== baseline: GET /healthz, wrk -t2 -c64 -d$duration --latency"
start_server durable
wrk -t2 -c64 -d"$duration" --latency "$url/healthz"
stop_server

for durability in durable buffered; do
  echo "== POST lines ($durability): wrk -t2 -c64 -d$duration --latency -s examples/order_service/load/lines.lua"
  start_server "$durability"
  wrk -t2 -c64 -d"$duration" --latency -s examples/order_service/load/lines.lua "$url"
  curl -s "$url/metrics" | grep -E '^cairn_(commit_batch_size_(sum|count|max)|store_fsyncs_total|active_aggregates) '
  stop_server
done
