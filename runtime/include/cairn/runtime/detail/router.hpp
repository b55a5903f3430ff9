// The router: hands each committed batch, in position order, to the live subscriptions, each with a bounded number
// of batches outstanding. A subscription without credit left is dropped from the live feed and catches up from the
// global log, so that a slow subscriber never blocks the committer and never grows an unbounded queue.
//
// Thread-safety: every member may be called from any thread.
#pragma once

#include <cairn/store/event_store.hpp>

#include <caf/actor.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace cairn::detail {

using committed_batch = std::shared_ptr<const std::vector<store::stored_event>>;

/// The router's view of one subscription.
struct route {
  std::string name;
  caf::actor actor;
  bool live = false;   ///< guarded by the router's mutex
  int credits = 0;     ///< batches it may still be sent; guarded by the router's mutex
  std::atomic<std::uint64_t> position{0}; ///< last position processed (for the lag metric)
};

class router {
public:
  /// Batches in flight to one live subscription before it is dropped from the live feed.
  static constexpr int max_outstanding_batches = 8;

  explicit router(std::uint64_t last_position) : last_published_(last_position) {}

  /// True when there is a subscription: the committer builds batches only then.
  bool has_routes() const noexcept {
    return route_count_.load(std::memory_order_relaxed) != 0;
  }

  void add(std::shared_ptr<route> r);

  /// Called by the committer after each successful write, in write order.
  void publish(const committed_batch& batch);

  /// Called by a subscription that has processed everything up to `position`. Puts it on the live feed when
  /// nothing was published past `position`; returns whether it is live.
  bool try_go_live(route& r, std::uint64_t position);

  /// Called by a live subscription when it has processed a batch it was sent. Returns whether it is still live
  /// (false: it was dropped meanwhile and must catch up from the log).
  bool done_with_batch(route& r);

  std::uint64_t last_published() const;

  bool is_live(const route& r) const;

  /// Forgets every route (at stop).
  void clear();

private:
  mutable std::mutex mutex_;
  std::uint64_t last_published_;
  std::vector<std::shared_ptr<route>> routes_;
  std::atomic<std::size_t> route_count_{0};
};

} // namespace cairn::detail
