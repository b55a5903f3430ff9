// The three measurements of subscription-bench, each with its baselines from the same run:
//   * routed: committed events delivered by the router to live subscriptions, commit to handler;
//   * catch-up: a subscription added after N events reaches the last position, against read_log;
//   * slow-subscriber: commit throughput with a 1 ms-per-event subscriber against the same load without it.
// Each run checks its own results (every event once, in order; counts add up) and reports what failed.
//
// Thread-safety: run one scenario at a time, from one thread.
#pragma once

#include "report.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace cairn::subbench {

struct options {
  std::uint64_t events = 1'000'000;             ///< routed and catch-up: events committed
  std::vector<std::uint64_t> subscriptions{1, 4}; ///< routed: subscription counts
  std::uint64_t streams = 10'000;               ///< routed and catch-up: streams the events go to
  std::uint64_t window = 4096;                  ///< routed: appends submitted and not yet answered
  double seconds = 5;                           ///< slow-subscriber: length of each commit run
  std::uint64_t accounts = 10'000;              ///< slow-subscriber: accounts the deposits go to
  std::uint64_t in_flight = 1000;               ///< slow-subscriber: commands in flight
  double slow_ms = 1;                           ///< slow-subscriber: time the subscriber spends per event
  std::string dir = "/tmp/subscription-bench";  ///< scratch data folders go below it
};

/// What one run of a scenario measured, and every check that failed (empty: all passed).
struct outcome {
  std::vector<row> rows;
  std::vector<std::string> failures;
};

outcome run_routed(const options& opt, bool durable);
outcome run_catch_up(const options& opt, bool durable);
/// `slow_first`: the run with the slow subscriber goes first (main alternates, so that order favours neither).
outcome run_slow_subscriber(const options& opt, bool durable, bool slow_first);

} // namespace cairn::subbench
