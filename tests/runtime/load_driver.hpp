// Test support: drives many commands through a runtime asynchronously, keeping a fixed number in flight, and
// counts every answer, so that tests can check "each answered exactly once" without one blocking round trip per
// command.
#pragma once

#include <cairn/runtime/runtime.hpp>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace cairn::test {

class load_driver {
public:
  /// `issue(i, done)` must send command number i and pass `done` as its callback.
  using issue_function = std::function<void(std::size_t index, std::function<void(command_result)> done)>;

  load_driver(std::size_t total, std::size_t in_flight, issue_function issue)
    : total_(total), in_flight_(in_flight), issue_(std::move(issue)), answers_(total) {
    for (auto& a : answers_)
      a.store(0);
  }

  /// Sends everything and waits for every answer; returns the answers by command index.
  const std::vector<command_result>& run() {
    results_.resize(total_);
    auto first = std::min(in_flight_, total_);
    next_ = first;
    for (std::size_t i = 0; i < first; ++i)
      issue_one(i);
    std::unique_lock lock{mutex_};
    done_cv_.wait(lock, [this] { return answered_ == total_; });
    return results_;
  }

  /// How many times command `i` was answered (must be 1).
  unsigned answers_of(std::size_t i) const {
    return answers_[i].load();
  }

  /// Answers by code.
  std::map<command_errc, std::size_t> tally() const {
    std::map<command_errc, std::size_t> counts;
    for (const auto& r : results_)
      ++counts[r.code];
    return counts;
  }

private:
  void issue_one(std::size_t i) {
    issue_(i, [this, i](command_result r) {
      answers_[i].fetch_add(1);
      results_[i] = std::move(r);
      auto n = next_.fetch_add(1);
      if (n < total_)
        issue_one(n);
      std::lock_guard guard{mutex_};
      if (++answered_ == total_)
        done_cv_.notify_all();
    });
  }

  const std::size_t total_;
  const std::size_t in_flight_;
  issue_function issue_;
  std::vector<std::atomic<unsigned>> answers_;
  std::vector<command_result> results_;
  std::atomic<std::size_t> next_{0};
  std::mutex mutex_;
  std::condition_variable done_cv_;
  std::size_t answered_ = 0;
};

} // namespace cairn::test
