// One measured result (of cairn or of a baseline), the choice of the median of repeated runs, and the two ways to
// print results: a table for people, one JSON object per line for scripts.
#pragma once

#include "options.hpp"

#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cairn::bench {

/// Absent fields print as null (JSON) or are left out (table): not every figure applies to every scenario.
struct result {
  std::string scenario;
  std::string system; ///< "cairn" or the baseline's name
  std::string durability;
  std::optional<std::uint64_t> aggregates;
  std::optional<std::uint64_t> in_flight;
  std::optional<std::uint64_t> threads;
  std::optional<std::uint64_t> commands;
  std::optional<std::uint64_t> events;
  std::optional<double> seconds;
  std::optional<double> commands_per_s;
  std::optional<double> events_per_s;
  std::optional<double> p50_us;
  std::optional<double> p99_us;
  std::optional<double> p999_us;
  std::optional<double> events_per_fsync;
  std::optional<double> rss_bytes_per_aggregate;
  /// Baseline name -> cairn's throughput divided by the baseline's, measured in the same invocation.
  std::map<std::string, double> ratio_vs;
  /// RocksDB writes per command batch of the committer (cairn only): how well the group commit groups.
  std::optional<double> appends_per_write;
  std::optional<double> activation_ms;       ///< recovery: first query of an aggregate with --events events
  std::optional<double> replay_events_per_s; ///< recovery: the global log read back in chunks
  std::optional<double> fdatasync_p50_us;    ///< lone: 100 bytes + fdatasync on a file in the data folder
  std::optional<double> p50_vs_fdatasync;    ///< lone: p50_us / fdatasync_p50_us
  std::optional<std::uint64_t> max_active;   ///< churn: --max-active
  std::optional<std::uint64_t> activations;  ///< churn: instances activated (stream replayed) while timed
  std::optional<std::uint64_t> peak_active;  ///< churn: most instances active at once (sampled every 5 ms)
  std::optional<std::uint64_t> transfers_completed;   ///< transfers: money moved
  std::optional<std::uint64_t> transfers_compensated; ///< transfers: credit refused, debit refunded
  /// transfers: appends per second, every command of the saga (start, debit, credit, refund and the recording
  /// of each answer) being one.
  std::optional<double> appends_per_s;
  /// With --repeat: how many runs, and the smallest and largest headline figure among them (the spread that
  /// the median hides).
  unsigned runs = 1;
  std::optional<double> headline_min;
  std::optional<double> headline_max;
};

/// A result of `system` with the fields every scenario fills.
result make_result(const bench_options& opt, std::string system);

/// The run whose headline figure is the median of `runs` (the lower middle one for an even count), with the
/// spread of all of them. The headline is what the scenario is about: throughput, lone latency, activation time
/// or memory.
result median_run(std::vector<result> runs);

/// Fills cairn's ratio_vs from the baselines' results.
void add_ratios(result& cairn, const std::vector<result>& baselines);

void print_json(std::ostream& out, const result& r);

/// A table of one scenario's results; columns that no row fills are left out.
void print_table(std::ostream& out, const bench_options& opt, const std::vector<result>& rows);

} // namespace cairn::bench
