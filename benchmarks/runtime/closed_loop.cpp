#include "closed_loop.hpp"

#include "progress.hpp"

#include <algorithm>
#include <atomic>
#include <deque>
#include <exception>
#include <latch>
#include <mutex>
#include <thread>
#include <vector>

namespace cairn::bench {

loop_outcome run_closed_loop(std::size_t workers, std::size_t clients, std::uint64_t limit,
                             std::chrono::steady_clock::time_point deadline,
                             const std::function<void(std::uint64_t)>& execute, latency_histogram& latencies,
                             const std::string& label) {
  using clock = std::chrono::steady_clock;
  const bool queued = clients > workers;
  std::mutex queue_mutex;
  // When each waiting client sent its command. A worker always finds one: at most workers - 1 of the clients
  // are being served by the others.
  std::deque<clock::time_point> waiting;
  std::atomic<std::uint64_t> next{0};
  std::atomic<std::uint64_t> done{0};
  std::atomic<bool> stop{false};
  std::mutex failure_mutex;
  std::exception_ptr failure;
  std::vector<clock::time_point> finished(workers);
  std::latch ready{static_cast<std::ptrdiff_t>(workers + 1)};
  clock::time_point start;

  const auto work = [&](std::size_t w) {
    ready.arrive_and_wait();
    finished[w] = clock::now();
    for (;;) {
      clock::time_point sent;
      if (queued) {
        std::lock_guard guard{queue_mutex};
        sent = waiting.front();
        waiting.pop_front();
      }
      const auto now = clock::now();
      // Checked before a number is taken, so that every number taken is executed: a run executes a prefix.
      if (stop.load(std::memory_order_relaxed) || now >= deadline)
        return;
      const auto i = next.fetch_add(1, std::memory_order_relaxed);
      if (i >= limit)
        return;
      if (!queued)
        sent = now;
      try {
        execute(i);
      } catch (...) {
        std::lock_guard guard{failure_mutex};
        if (!failure)
          failure = std::current_exception();
        stop.store(true);
        return;
      }
      const auto end = clock::now();
      latencies.record(end - sent);
      finished[w] = end;
      done.fetch_add(1, std::memory_order_relaxed);
      if (queued) {
        std::lock_guard guard{queue_mutex};
        waiting.push_back(end);
      }
    }
  };

  {
    progress_line progress{label, done, limit == UINT64_MAX ? 0 : limit, "commands"};
    std::vector<std::jthread> threads;
    threads.reserve(workers);
    for (std::size_t w = 0; w < workers; ++w)
      threads.emplace_back(work, w);
    start = clock::now();
    waiting.assign(clients, start);
    ready.arrive_and_wait();
  }
  if (failure)
    std::rethrow_exception(failure);
  const auto last = *std::max_element(finished.begin(), finished.end());
  return loop_outcome{std::min(next.load(), limit), std::chrono::duration<double>(last - start).count()};
}

} // namespace cairn::bench
