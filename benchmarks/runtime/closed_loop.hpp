// The baselines' load: `clients` clients each with one command outstanding, served by `workers` threads that
// block on every command (clients >= workers). With as many clients as workers each worker is its own client;
// with more, the clients wait in a FIFO for a free worker and their latency counts that wait, as cairn's counts
// the wait in an aggregate's mailbox.
//
// Thread-safety: run() from one thread at a time; `execute` is called from all the workers at once.
#pragma once

#include "latency.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace cairn::bench {

struct loop_outcome {
  std::uint64_t executed = 0; ///< commands 0 .. executed-1
  double seconds = 0;         ///< the first command taken to the last one done
};

/// Runs commands 0, 1, 2, ... (`execute(i)` each) until `limit` or `deadline`, and records each one's latency.
/// An exception from `execute` stops the run and is rethrown.
loop_outcome run_closed_loop(std::size_t workers, std::size_t clients, std::uint64_t limit,
                             std::chrono::steady_clock::time_point deadline,
                             const std::function<void(std::uint64_t)>& execute, latency_histogram& latencies,
                             const std::string& label);

} // namespace cairn::bench
