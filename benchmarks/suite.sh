#!/usr/bin/env bash
# The standard benchmark suite: what `./dev bench` runs (about 4 minutes on a 2-core machine). Runs cairn-bench
# on every scenario with its baselines, a sweep of commands in flight, store-bench and store-micro-bench, writes
# every result as a JSON line into OUT_DIR/results.jsonl, then regenerates docs/benchmarks.md and docs/img/*.png
# with bench-report and gnuplot. A run whose own correctness checks fail stops the suite: no doc is written.
#
#   benchmarks/suite.sh BUILD_DIR [OUT_DIR]      (from the repository's root; OUT_DIR defaults to BUILD_DIR/bench)
#
# Lines of results.jsonl, by "kind":
#   machine  cores, cpu, memory_kb, kernel, compiler, filesystem, commit, dirty, date, load_start
#   run      id, command, wall_seconds (of the whole invocation), result (one cairn-bench --json line; an
#            invocation gives one line per system)
#   store    command, result (one store-bench --json line)
#   micro    command (the Google Benchmark output is OUT_DIR/micro.json)
#   suite    wall_seconds, load_end
set -euo pipefail
build_dir=${1:?usage: benchmarks/suite.sh BUILD_DIR [OUT_DIR]}
out_dir=${2:-$build_dir/bench}
bin=$build_dir/bin
mkdir -p "$out_dir" docs/img
results=$out_dir/results.jsonl
: > "$results"
start=$(date +%s.%N)

log() { printf '[bench] %s\n' "$*" >&2; }
# No quotes or backslashes in what is written: enough for the values below.
clean() { tr -d '"\\' <<<"$1"; }
seconds_since() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'; }
compiler=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build_dir/CMakeCache.txt")
filesystem=$(findmnt -n -o FSTYPE --target "${TMPDIR:-/tmp}" 2>/dev/null || stat -f -c %T "${TMPDIR:-/tmp}")

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=false
git diff --quiet HEAD 2>/dev/null || dirty=true
printf '{"kind":"machine","cores":%d,"cpu":"%s","memory_kb":%d,"kernel":"%s","compiler":"%s","filesystem":"%s","commit":"%s","dirty":%s,"date":"%s","load_start":"%s"}\n' \
  "$(nproc)" "$(clean "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)")" \
  "$(awk '/^MemTotal/ {print $2}' /proc/meminfo)" "$(uname -r)" "$(clean "$("${compiler:-c++}" --version | head -1)")" \
  "$filesystem" "$commit" "$dirty" "$(date -u '+%Y-%m-%d %H:%M UTC')" \
  "$(cut -d' ' -f1-3 /proc/loadavg)" >> "$results"

# run ID ARGS...: one cairn-bench invocation; its result lines, wrapped with the id and the exact command.
run() {
  local id=$1
  shift
  local command="$bin/cairn-bench $* --json"
  log "$id: $command"
  local lines began wall
  began=$(date +%s.%N)
  lines=$("$bin/cairn-bench" "$@" --json)
  wall=$(seconds_since "$began")
  log "$id: $wall s"
  while IFS= read -r line; do
    printf '{"kind":"run","id":"%s","command":"%s","wall_seconds":%s,"result":%s}\n' "$id" "$command" "$wall" \
      "$line" >> "$results"
  done <<<"$lines"
}

all_baselines=(--baseline rocksdb-raw --baseline rocksdb-group --baseline mutex-pool)
run probe-fdatasync --scenario lone --commands 200
run uniform-durable --scenario uniform --durability durable --aggregates 10000 --in-flight 1000 --commands 100000 \
  "${all_baselines[@]}" --repeat 3
run uniform-buffered --scenario uniform --durability buffered --aggregates 10000 --in-flight 1000 \
  --commands 100000 "${all_baselines[@]}" --repeat 3
for durability in durable buffered; do
  for in_flight in 1 10 100 1000; do
    run "sweep-$durability-$in_flight" --scenario uniform --durability "$durability" --aggregates 10000 \
      --in-flight "$in_flight" --seconds 1 --baseline rocksdb-group --baseline mutex-pool
  done
done
run orders --scenario orders --baseline rocksdb-group --baseline mutex-pool --repeat 3
run hotspot --scenario hotspot --seconds 1 --baseline rocksdb-group --baseline mutex-pool --repeat 3
run lone --scenario lone --baseline rocksdb-raw --repeat 3
run transfers --scenario transfers --aggregates 10000 --in-flight 1000 --commands 20000 --repeat 3
run churn --scenario churn --aggregates 10000 --max-active 100 --in-flight 1000 --commands 50000 --repeat 3
run recovery --scenario recovery --events 10000 --repeat 3
run idle-memory-100k --scenario idle-memory --aggregates 100000 --repeat 3
run idle-memory-1m --scenario idle-memory --aggregates 1000000

store_command="$bin/store-bench --reps 1 --json"
log "store: $store_command"
began=$(date +%s.%N)
store_lines=$("$bin/store-bench" --reps 1 --json | grep '^{')
wall=$(seconds_since "$began")
while IFS= read -r line; do
  printf '{"kind":"store","command":"%s","wall_seconds":%s,"result":%s}\n' "$store_command" "$wall" "$line" \
    >> "$results"
done <<<"$store_lines"
micro_args=()
if [ -x "$bin/store-micro-bench" ]; then
  micro_command="$bin/store-micro-bench --benchmark_min_time=0.2 --benchmark_out=$out_dir/micro.json --benchmark_out_format=json"
  log "micro: $micro_command"
  began=$(date +%s.%N)
  # Its console report goes nowhere: the JSON file has everything, and set -e still sees a failure.
  $micro_command > /dev/null 2>&1
  printf '{"kind":"micro","command":"%s","wall_seconds":%s}\n' "$micro_command" "$(seconds_since "$began")" \
    >> "$results"
  micro_args=(--micro "$out_dir/micro.json")
fi

printf '{"kind":"suite","wall_seconds":%s,"load_end":"%s"}\n' "$(seconds_since "$start")" \
  "$(cut -d' ' -f1-3 /proc/loadavg)" >> "$results"

log "writing docs/benchmarks.md and docs/img/"
"$bin/bench-report" --results "$results" "${micro_args[@]}" --template benchmarks/report/benchmarks.md.in \
  --out docs/benchmarks.md --work-dir "$out_dir" --image-dir docs/img --image-link img
gnuplot "$out_dir/plots.gp"
log "done in $(seconds_since "$start") s: docs/benchmarks.md"
