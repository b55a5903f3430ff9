// Small measuring tools of subscription-bench: the process's resident memory, a scratch data folder, and the
// check that counts every event a subscription is handed (once each, in position order).
//
// Thread-safety: event_check::on() from one thread at a time (a subscription's handler); its atomics and done()
// from any thread. scratch_dir is owned by one thread.
#pragma once

#include <cairn/store/event_store.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>

namespace cairn::subbench {

using clock = std::chrono::steady_clock;

/// The resident set size of this process now, in bytes (0 when /proc is unreadable).
std::uint64_t current_rss_bytes();

/// Seconds between two instants.
inline double seconds_between(clock::time_point a, clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

/// A folder removed on construction (if left over) and on destruction.
class scratch_dir {
public:
  explicit scratch_dir(std::filesystem::path path);
  ~scratch_dir();
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;

  std::string str() const {
    return path_.string();
  }

private:
  std::filesystem::path path_;
};

/// Checks the events handed to one subscription: positions first, first+1, ... with no gap and no repeat, and
/// notes when the `target`-th event arrived.
class event_check {
public:
  event_check(std::uint64_t first_position, std::uint64_t target)
    : expected_(first_position), target_(target) {}

  void on(const store::stored_event& e) {
    if (e.position != expected_ && errors_.fetch_add(1, std::memory_order_relaxed) == 0) {
      std::lock_guard guard{mutex_};
      first_error_ = "expected position " + std::to_string(expected_) + ", got " + std::to_string(e.position);
    }
    expected_ = e.position + 1;
    auto n = seen_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (n == target_) {
      done_at_ = clock::now();
      done_.store(true, std::memory_order_release);
      done_.notify_all();
    }
  }

  std::uint64_t seen() const {
    return seen_.load(std::memory_order_relaxed);
  }

  /// Waits until the target-th event was handled or `limit` passed; true when it was.
  bool wait_done(std::chrono::seconds limit) const;

  /// When the target-th event was handled (valid after wait_done() returned true).
  clock::time_point done_at() const {
    return done_at_;
  }

  std::uint64_t errors() const {
    return errors_.load(std::memory_order_relaxed);
  }

  std::string first_error() const {
    std::lock_guard guard{mutex_};
    return first_error_;
  }

private:
  std::uint64_t expected_; ///< touched by the handler's thread only
  const std::uint64_t target_;
  std::atomic<std::uint64_t> seen_{0};
  std::atomic<std::uint64_t> errors_{0};
  std::atomic<bool> done_{false};
  clock::time_point done_at_{};
  mutable std::mutex mutex_;
  std::string first_error_;
};

/// The n-th event the benchmarks commit: 16 bytes of payload.
store::event_record bench_event(std::uint64_t n);

} // namespace cairn::subbench
