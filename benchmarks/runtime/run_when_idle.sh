#!/bin/bash
# Runs a benchmark only while nothing else uses the machine, for figures that can be compared run to run on a
# shared machine. Waits until other processes use less than 0.05 of a core over 3 seconds, runs the command, and
# measures what everything but the command used meanwhile; above 0.1 of a core the run is thrown away and tried
# again (up to 8 times). The command's stdout is printed once, from the accepted run.
#
#   benchmarks/runtime/run_when_idle.sh build/bin/cairn-bench --scenario uniform --repeat 5 --json
set -u
cores=$(nproc)
hz=$(getconf CLK_TCK)
busy() { awk '/^cpu /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat; }
times=$(mktemp)
trap 'rm -f "$times"' EXIT
for attempt in 1 2 3 4 5 6 7 8; do
  while true; do
    read -r b1 t1 < <(busy); sleep 3; read -r b2 t2 < <(busy)
    awk -v b=$((b2 - b1)) -v t=$((t2 - t1)) -v n="$cores" 'BEGIN { exit !(n * b / t < 0.05) }' && break
  done
  read -r b1 _ < <(busy)
  start=$(date +%s.%N)
  out=$(/usr/bin/time -f "%U %S" -o "$times" "$@")
  rc=$?
  end=$(date +%s.%N)
  read -r b2 _ < <(busy)
  read -r user sys < "$times"
  other=$(awk -v b=$((b2 - b1)) -v u="$user" -v s="$sys" -v hz="$hz" -v st="$start" -v en="$end" \
    'BEGIN { printf "%.3f", (b / hz - u - s) / (en - st) }')
  echo "run_when_idle: other processes used $other cores (attempt $attempt)" >&2
  if awk -v o="$other" 'BEGIN { exit !(o < 0.1) }'; then
    echo "$out"
    exit $rc
  fi
done
echo "run_when_idle: the machine was never idle for a whole run; the last run is printed anyway" >&2
echo "$out"
exit $rc
