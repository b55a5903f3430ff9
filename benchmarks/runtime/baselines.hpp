// What cairn is measured against, on the same workload, disk and durability, in the same invocation:
//
//   rocksdb-raw    one thread writing one WriteBatch per command, laid out as cairn's store lays it out (each
//                  event under its stream key and its log position, plus the stream's head), synced when
//                  durable. No decision, no read: the ceiling of one writer.
//   rocksdb-group  the same from --in-flight threads at once: RocksDB's own group commit (its leader syncs the
//                  WAL once for every writer that queued behind it).
//   mutex-pool     what a user would build without cairn: a pool of --threads threads serving --in-flight
//                  clients, a mutex per aggregate, and under it the real domain decision, the encoding and one
//                  RocksDB write per command, synced when durable.
//
// Each baseline runs the scenario's timed commands, but stops after `budget_seconds` (the time cairn took in the
// same run): a baseline that is 30 times slower would otherwise take 30 times as long. Rates are rates.
#pragma once

#include "options.hpp"
#include "report.hpp"
#include "run.hpp"

#include <array>
#include <string>
#include <string_view>

namespace cairn::bench {

inline constexpr std::array<std::string_view, 3> baseline_names{"rocksdb-raw", "rocksdb-group", "mutex-pool"};

/// One run of baseline `name` in opt.scenario (one that sends commands) on ctx.dir. Throws check_failed when
/// what it wrote does not add up.
result run_baseline(const bench_options& opt, const std::string& name, const run_context& ctx,
                    double budget_seconds);

} // namespace cairn::bench
