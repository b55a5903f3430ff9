// A bounded set of plain threads that run blocking jobs (store reads during activation) off the CAF scheduler,
// or, in deterministic mode, a queue that the test driver runs by hand.
//
// Thread-safety: post() from any thread; run_pending() from the one driving thread (deterministic mode only).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace cairn::detail {

class work_pool {
public:
  /// `threads` == 0: deterministic mode, nothing runs until run_pending().
  explicit work_pool(std::size_t threads);
  ~work_pool();
  work_pool(const work_pool&) = delete;
  work_pool& operator=(const work_pool&) = delete;

  void post(std::function<void()> job);

  /// Runs every queued job on the calling thread; returns how many ran.
  std::size_t run_pending();

  /// Runs what is queued, then joins the threads.
  void stop();

private:
  void work();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

} // namespace cairn::detail
