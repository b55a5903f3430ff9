// Drives one phase of commands through a cairn runtime with a fixed number in flight, without blocking a thread
// per command: each of the `in_flight` slots sends a command, and its callback (on a CAF thread) records the
// latency and sends the slot's next command. This is how a server embedding cairn would use it.
//
// Every answer is checked off against the command it answers: a callback carries (command number, slot), and a
// slot accepts exactly one answer for the command it last sent, so an answer twice or to the wrong command is
// counted as a duplicate; one never given leaves the run unfinished, which the caller reports as a stall.
//
// Thread-safety: run() from one thread; the callbacks from any.
#pragma once

#include "latency.hpp"
#include "progress.hpp"
#include "workload.hpp"

#include <cairn/runtime/runtime.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace cairn::bench {

struct drive_outcome {
  std::uint64_t sent = 0;     ///< the phase's commands 0 .. sent-1
  std::uint64_t answered = 0; ///< first answers to them
  std::uint64_t failed = 0;   ///< answers that were not "accepted"
  std::uint64_t duplicates = 0;
  std::string first_failure;
  double seconds = 0; ///< first send to last answer
};

template <aggregate A>
class command_driver {
public:
  /// A run stops sending at `deadline` (or when the phase has no command left) and ends with the last answer.
  command_driver(runtime& rt, const std::vector<std::string>& ids, const command_phase<A>& phase,
                 std::size_t in_flight, std::chrono::steady_clock::time_point deadline, latency_histogram* latencies)
    : rt_(rt), ids_(ids), phase_(phase), deadline_(deadline), latencies_(latencies),
      slots_(std::make_unique<slot[]>(in_flight)), slot_count_(in_flight) {
  }

  /// Sends every command and waits for every answer. No answer for `stall_limit`: the runtime lost a command;
  /// that is reported and the process ends (its callbacks may still come, so this object must not go away).
  drive_outcome run(const std::string& label, std::chrono::seconds stall_limit = std::chrono::seconds{60}) {
    progress_line progress{label, answered_, phase_.commands == no_limit ? 0 : phase_.commands, "commands"};
    active_.store(slot_count_);
    start_ = std::chrono::steady_clock::now();
    for (std::size_t s = 0; s < slot_count_; ++s)
      send_next(s);
    std::unique_lock lock{mutex_};
    auto last_answered = answered_.load();
    auto last_change = std::chrono::steady_clock::now();
    while (!done_cv_.wait_for(lock, std::chrono::milliseconds{500}, [this] { return done_; })) {
      const auto answered = answered_.load();
      const auto now = std::chrono::steady_clock::now();
      if (answered != last_answered) {
        last_answered = answered;
        last_change = now;
      } else if (now - last_change > stall_limit) {
        std::fprintf(stderr, "check failed: %s: %llu commands sent, %llu answered, no answer for %lld s\n",
                     label.c_str(), static_cast<unsigned long long>(sent_.load()),
                     static_cast<unsigned long long>(answered), static_cast<long long>(stall_limit.count()));
        std::_Exit(2);
      }
    }
    drive_outcome out;
    out.sent = sent_.load();
    out.answered = answered_.load();
    out.failed = failed_.load();
    out.duplicates = duplicates_.load();
    out.first_failure = first_failure_;
    out.seconds = std::chrono::duration<double>(end_ - start_).count();
    return out;
  }

private:
  static constexpr std::uint64_t no_limit = UINT64_MAX;
  static constexpr unsigned slot_bits = 20;
  static constexpr std::uint64_t no_command = UINT64_MAX;

  struct slot {
    std::atomic<std::uint64_t> command{no_command};
    std::chrono::steady_clock::time_point sent;
  };

  void send_next(std::size_t s) {
    const auto now = std::chrono::steady_clock::now();
    if (stopping_.load(std::memory_order_relaxed) || now >= deadline_)
      return slot_finished(now);
    // Checked before a number is taken, so that every number taken is sent: a run executes a prefix.
    const auto i = next_.fetch_add(1, std::memory_order_relaxed);
    if (i >= phase_.commands)
      return slot_finished(now);
    auto& sl = slots_[s];
    sl.command.store(i, std::memory_order_relaxed);
    sl.sent = now;
    sent_.fetch_add(1, std::memory_order_relaxed);
    // Two words of capture: std::function keeps them inline, so the benchmark allocates nothing per command.
    const std::uint64_t tag = (i << slot_bits) | s;
    rt_.send<A>(ids_[phase_.target(i)], phase_.command(i),
                [this, tag](command_result r) { on_answer(tag, std::move(r)); });
  }

  void on_answer(std::uint64_t tag, command_result r) {
    const auto now = std::chrono::steady_clock::now();
    const auto s = static_cast<std::size_t>(tag & ((std::uint64_t{1} << slot_bits) - 1));
    auto expected = tag >> slot_bits;
    auto& sl = slots_[s];
    if (!sl.command.compare_exchange_strong(expected, no_command, std::memory_order_acq_rel)) {
      duplicates_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (latencies_ != nullptr)
      latencies_->record(now - sl.sent);
    if (!r.ok()) {
      if (failed_.fetch_add(1) == 0) {
        std::lock_guard guard{mutex_};
        first_failure_ = "command " + std::to_string(tag >> slot_bits) + " of phase " + phase_.name + ": " +
                         to_string(r);
      }
      // A failing runtime would fail every command; stop sending and report the first.
      stopping_.store(true, std::memory_order_relaxed);
    }
    answered_.fetch_add(1, std::memory_order_relaxed);
    send_next(s);
  }

  void slot_finished(std::chrono::steady_clock::time_point now) {
    if (active_.fetch_sub(1) != 1)
      return;
    std::lock_guard guard{mutex_};
    end_ = now;
    done_ = true;
    done_cv_.notify_all();
  }

  runtime& rt_;
  const std::vector<std::string>& ids_;
  const command_phase<A>& phase_;
  const std::chrono::steady_clock::time_point deadline_;
  latency_histogram* const latencies_;
  const std::unique_ptr<slot[]> slots_;
  const std::size_t slot_count_;

  std::atomic<std::uint64_t> next_{0};
  std::atomic<std::uint64_t> sent_{0};
  std::atomic<std::uint64_t> answered_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::atomic<std::uint64_t> duplicates_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> active_{0};
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point end_;

  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  std::string first_failure_;
};

} // namespace cairn::bench
