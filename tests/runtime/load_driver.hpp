// Test support: drives many commands through a runtime asynchronously, keeping a fixed number in flight, and
// counts every answer, so that tests can check "each answered exactly once" without one blocking round trip per
// command.
#pragma once

#include <cairn/runtime/runtime.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace cairn::test {

class load_driver {
public:
  /// `issue(i, done)` must send command number i and pass `done` as its callback.
  using issue_function = std::function<void(std::size_t index, std::function<void(command_result)> done)>;

  load_driver(std::size_t total, std::size_t in_flight, issue_function issue)
    : state_(std::make_shared<state>(total, std::move(issue))), in_flight_(in_flight) {
  }

  /// Sends everything and waits for every answer, at most `limit`; returns the answers by command index. Past the
  /// limit it throws std::runtime_error naming how many and which commands were still unanswered (a lost answer
  /// fails the test instead of hanging it).
  const std::vector<command_result>& run(std::chrono::milliseconds limit = std::chrono::seconds{120}) {
    auto first = std::min(in_flight_, state_->total);
    state_->next = first;
    for (std::size_t i = 0; i < first; ++i)
      issue_one(state_, i);
    std::unique_lock lock{state_->mutex};
    if (!state_->done_cv.wait_for(lock, limit, [this] { return state_->answered == state_->total; })) {
      state_->abandoned = true; // late answers issue nothing more
      throw std::runtime_error{unanswered(limit)};
    }
    return state_->results;
  }

  /// How many times command `i` was answered (must be 1).
  unsigned answers_of(std::size_t i) const {
    return state_->answers[i].load();
  }

  /// Answers by code.
  std::map<command_errc, std::size_t> tally() const {
    std::map<command_errc, std::size_t> counts;
    for (const auto& r : state_->results)
      ++counts[r.code];
    return counts;
  }

private:
  /// Shared with the callbacks: an answer that comes after run() gave up must not touch a destroyed driver.
  struct state {
    state(std::size_t n, issue_function f) : total(n), issue(std::move(f)), answers(n), results(n) {
      for (auto& a : answers)
        a.store(0);
    }
    const std::size_t total;
    issue_function issue;
    std::vector<std::atomic<unsigned>> answers;
    std::vector<command_result> results;
    std::atomic<std::size_t> next{0};
    std::atomic<bool> abandoned{false};
    std::mutex mutex;
    std::condition_variable done_cv;
    std::size_t answered = 0;
  };

  static void issue_one(const std::shared_ptr<state>& s, std::size_t i) {
    s->issue(i, [s, i](command_result r) {
      s->answers[i].fetch_add(1);
      s->results[i] = std::move(r);
      auto n = s->next.fetch_add(1);
      if (n < s->total && !s->abandoned)
        issue_one(s, n);
      std::lock_guard guard{s->mutex};
      if (++s->answered == s->total)
        s->done_cv.notify_all();
    });
  }

  std::string unanswered(std::chrono::milliseconds limit) const {
    std::string out = "load_driver: " + std::to_string(state_->total - state_->answered) + " of " +
                      std::to_string(state_->total) + " commands unanswered after " + std::to_string(limit.count()) +
                      " ms (" + std::to_string(std::min(state_->next.load(), state_->total)) + " sent); first ones:";
    std::size_t listed = 0;
    for (std::size_t i = 0; i < state_->total && listed < 10; ++i)
      if (i < state_->next.load() && state_->answers[i].load() == 0) {
        out += " #" + std::to_string(i);
        ++listed;
      }
    return out;
  }

  std::shared_ptr<state> state_;
  const std::size_t in_flight_;
};

} // namespace cairn::test
