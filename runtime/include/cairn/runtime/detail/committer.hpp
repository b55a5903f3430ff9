// The committer: the one writer of the runtime. It drains every queued append into one group append (one
// RocksDB write, one fsync in durable mode), answers each submitter with a `committed` message, and hands the
// committed events, in position order, to the router.
//
// It runs on its own plain thread so that a blocking write never occupies a CAF scheduler thread; in
// deterministic mode the test driver calls run_once() instead.
//
// Thread-safety: submit() from any thread; run_once() from one thread at a time.
#pragma once

#include <cairn/runtime/detail/router.hpp>
#include <cairn/store/event_store.hpp>

#include <caf/actor.hpp>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace cairn::detail {

struct committer_stats {
  std::uint64_t batches = 0; ///< RocksDB writes
  std::uint64_t appends = 0; ///< appends submitted and answered
  std::uint64_t largest_batch = 0;
};

class committer {
public:
  /// `threaded` false: deterministic mode, nothing is written until run_once().
  committer(store::event_store& store, router& feed, std::size_t max_batch, bool threaded);
  ~committer();
  committer(const committer&) = delete;
  committer& operator=(const committer&) = delete;

  /// Queues an append; `reply_to` receives (committed_atom, command_result) once it is written or failed.
  void submit(store::append_request request, caf::actor reply_to);

  /// Writes everything queued (in batches of at most max_batch); returns the number of appends answered.
  std::size_t run_once();

  /// Writes what is queued, then stops the thread.
  void stop();

  committer_stats stats() const;

private:
  void work();
  std::size_t write_batch(std::vector<store::append_request>& requests, std::vector<caf::actor>& reply_to);
  void publish(std::span<store::append_request> requests,
               const std::vector<store::result<store::append_receipt>>& results);

  store::event_store& store_;
  router& feed_;
  const std::size_t max_batch_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<store::append_request> queued_requests_;
  std::vector<caf::actor> queued_reply_to_;
  bool stopping_ = false;
  bool stopped_ = false; ///< after stop(): submissions are answered shutting_down at once
  committer_stats stats_;
  /// Used by whoever writes (one at a time): the first answers of the duplicates of the last write.
  std::vector<std::optional<store::causation_record>> priors_;
  std::thread thread_;
};

} // namespace cairn::detail
