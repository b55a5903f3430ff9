// What the routed and catch-up scenarios share: a generator of appends, the counter of their answers, and the
// pieces of the runtime's commit path (store -> committer -> router -> subscription actors) wired as
// runtime::start() wires them, so that events can be committed far faster than aggregates would produce them.
//
// Thread-safety: append_generator from one thread; answer_count::on() from one thread at a time, its reads from
// any; commit_path from the thread that made it.
#pragma once

#include "probe.hpp"

#include <cairn/runtime/command_result.hpp>
#include <cairn/runtime/detail/runtime_core.hpp>
#include <cairn/runtime/detail/subscription_actor.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace cairn::subbench {

/// Appends of one event each, to `streams` streams in turn, each naming the version it expects.
class append_generator {
public:
  explicit append_generator(std::uint64_t streams) : versions_(streams, 0) {}

  store::append_request next() {
    auto s = n_ % versions_.size();
    store::append_request r;
    r.stream = "tick-" + std::to_string(s);
    r.expected_version = versions_[s]++;
    r.events.push_back(bench_event(n_));
    ++n_;
    return r;
  }

private:
  std::vector<std::uint64_t> versions_;
  std::uint64_t n_ = 0;
};

/// Counts the answers to appends and notes when the `target`-th came.
class answer_count {
public:
  explicit answer_count(std::uint64_t target) : target_(target) {}

  void on(const command_result& r);

  /// Blocks while `submitted` minus the answers is `window` or more.
  void wait_below(std::uint64_t submitted, std::uint64_t window) const;

  /// Blocks until every answer came.
  void wait_all() const {
    wait_below(target_, 1);
  }

  std::uint64_t failed() const {
    return failed_.load();
  }

  std::string first_failure() const {
    std::lock_guard guard{mutex_};
    return first_failure_;
  }

  clock::time_point done_at() const {
    return done_at_;
  }

private:
  const std::uint64_t target_;
  std::atomic<std::uint64_t> answered_{0};
  std::atomic<std::uint64_t> failed_{0};
  clock::time_point done_at_{};
  mutable std::mutex mutex_;
  std::string first_failure_;
};

/// The runtime's commit path on a fresh store: committer and router as runtime::start() makes them, and an
/// actor system with one scheduler thread per core.
class commit_path {
public:
  commit_path(const std::string& data_dir, bool durable);
  ~commit_path();
  commit_path(const commit_path&) = delete;
  commit_path& operator=(const commit_path&) = delete;

  /// Adds a subscriber (a detached subscription actor, as runtime::add_subscriber does).
  std::shared_ptr<detail::route> add_subscriber(std::string name, subscriber_handler handler);

  /// An actor that hands every (committed, result) it receives to `answers`.
  caf::actor answer_actor(answer_count& answers);

  detail::runtime_core& core() {
    return core_;
  }

  /// Stops as runtime::stop() does: router first, then the subscriptions, then the committer.
  void stop();

private:
  detail::runtime_core core_;
  caf::actor_system_config config_;
  std::unique_ptr<caf::actor_system> system_;
  std::vector<std::shared_ptr<detail::route>> routes_;
  std::vector<caf::actor> others_;
};

} // namespace cairn::subbench
