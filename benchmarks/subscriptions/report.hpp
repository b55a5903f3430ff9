// One measured row of subscription-bench (of cairn or of a baseline), the median of repeated runs, and the two
// ways to print rows: a table for people, one JSON object per line for scripts (keys like cairn-bench's).
//
// Thread-safety: plain values and functions; print from one thread.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cairn::subbench {

/// Absent fields print as null (JSON) or are left out (table).
struct row {
  std::string scenario;   ///< routed, catch-up, slow-subscriber
  std::string system;     ///< "cairn..." or the baseline's name
  std::string durability; ///< durable or buffered
  std::optional<std::uint64_t> subscriptions;
  std::optional<std::uint64_t> events;
  std::optional<std::uint64_t> commands;
  std::optional<double> seconds;
  std::optional<double> events_per_s;
  std::optional<double> commands_per_s;
  /// Baseline name -> this row's headline divided by the baseline's, both from the same run (median over runs).
  std::map<std::string, double> ratio_vs;
  std::optional<std::uint64_t> lag;     ///< slow-subscriber: events committed but not yet handled, at the end
  std::optional<std::uint64_t> max_lag; ///< the largest lag sampled during the run
  std::optional<double> live_fraction;  ///< share of samples in which every subscription was on the live feed
  std::optional<std::uint64_t> rss_bytes; ///< the process's largest resident set sampled during the run
  std::string timed;                      ///< what the seconds measure
  unsigned runs = 1;
  std::optional<double> headline_min;
  std::optional<double> headline_max;
};

/// events_per_s, else commands_per_s.
double headline(const row& r);

/// Groups rows of repeated runs by (scenario, system, durability, subscriptions) and returns, per group in first
/// appearance order, the run with the median headline (lower middle for an even count), with each ratio replaced
/// by the median of that ratio over the runs and the spread of the headline.
std::vector<row> medians(const std::vector<row>& rows);

void print_table(std::ostream& out, const std::vector<row>& rows);
void print_json(std::ostream& out, const row& r);

} // namespace cairn::subbench
