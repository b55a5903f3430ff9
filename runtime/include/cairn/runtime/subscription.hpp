// Subscriptions: how committed events reach projections and other subscribers, in global-position order, after
// commit, with nothing lost.
//
// Each subscription has a name and a tracked position in the store (the last global position it processed). On
// start it catches up from the global log, then goes live: the committer hands it each committed batch as a CAF
// message, with at most a few batches outstanding; a subscriber that falls behind is dropped from the live feed and
// reads the log itself until it has caught up again. No gap and no duplicate at the seam: the switch to live and
// the publication of a batch happen under one lock, and events at or before the tracked position are skipped.
//
// Three kinds, by where the effect goes:
//   * projection (add_projection): the handler writes its read model into cairn's own RocksDB through a
//     projection_writer; the writes of a chunk of events are committed in the same WriteBatch as the new tracked
//     position, so each event takes effect exactly once, across crashes.
//   * policy (add_policy): the handler turns an event into commands to aggregates, each carrying a causation
//     (the policy's name, the event's position): the target stores it with the command's events, so a command
//     sent again after a crash takes effect once. The position is tracked once every command of a chunk has been
//     answered; an answer that says nothing about the command (overloaded, timeout, storage_failure) makes the
//     policy send the chunk's commands again later.
//   * subscriber (add_subscriber): the handler's effect is elsewhere; the position is tracked after the handler
//     returned, so after a crash an event may be handled again (at least once). The event's global position is the
//     idempotency key to dedup with.
//
// Handlers run on the subscription's own thread (a detached actor), never on a scheduler thread: a slow handler
// slows only its subscription, never the commits.
//
// Thread-safety: a handler is called by one thread at a time, in position order.
#pragma once

#include <cairn/runtime/command_result.hpp>
#include <cairn/store/event_store.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace cairn {

/// Collects a projection's writes for the events of one chunk; committed with the tracked position. The pending
/// writes are indexed by key, so that get() costs one lookup however many writes the chunk holds; a key written
/// again in the same chunk keeps one pending write, its last (last write wins, as applying them in order would).
class projection_writer {
public:
  explicit projection_writer(std::string prefix) : prefix_(std::move(prefix)) {}

  /// Sets `key` (within this projection's key space) to `value`.
  void put(std::string_view key, std::string value) {
    write(key, std::move(value));
  }

  /// Removes `key`.
  void erase(std::string_view key) {
    write(key, std::nullopt);
  }

  /// The value as this chunk left it, else as committed (nullopt when absent).
  std::optional<std::string> get(const store::event_store& store, std::string_view key) const;

  /// The value as this chunk left it, else what `committed(key)` says (for rebuilds outside the store).
  std::optional<std::string> get(std::string_view key,
                                 const std::function<std::optional<std::string>(std::string_view)>& committed) const;

  /// The chunk's writes (one per key written), leaving the writer empty for the next chunk.
  std::vector<store::projection_put> take() {
    pending_.clear();
    return std::exchange(puts_, {});
  }

private:
  void write(std::string_view key, std::optional<std::string> value);

  std::string full_key(std::string_view key) const {
    std::string k;
    k.reserve(prefix_.size() + key.size());
    k.append(prefix_).append(key);
    return k;
  }

  std::string prefix_;
  std::vector<store::projection_put> puts_;
  /// Full key -> its write in puts_.
  std::unordered_map<std::string, std::size_t> pending_;
};

/// Handles one committed event of a projection kept in cairn's store.
using projection_handler = std::function<void(const store::stored_event&, projection_writer&)>;

/// Handles one committed event whose effect is outside cairn's store (at least once).
using subscriber_handler = std::function<void(const store::stored_event&)>;

/// What a policy does with one event: zero or more idempotent commands, sent once the event's chunk is handled.
class policy_actions {
public:
  /// Sends one command; `send(done)` must call `done` exactly once with the command's answer.
  using action = std::function<void(std::function<void(const command_result&)> done)>;

  void add(action a) {
    actions_.push_back(std::move(a));
  }

  std::vector<action> take() {
    return std::exchange(actions_, {});
  }

private:
  std::vector<action> actions_;
};

/// Turns one committed event into commands to aggregates (a policy; process managers' inputs are routed so).
using policy_handler = std::function<void(const store::stored_event&, policy_actions&)>;

/// The projection `name`'s key `key` as stored by its writer: "<name>/<key>".
inline std::string projection_key(std::string_view name, std::string_view key) {
  std::string k;
  k.reserve(name.size() + 1 + key.size());
  k.append(name).append("/").append(key);
  return k;
}

/// Progress of one subscription.
struct subscription_status {
  std::string name;
  std::uint64_t position = 0; ///< last global position processed (and tracked)
  std::uint64_t lag = 0;      ///< committed events not yet processed
  bool live = false;          ///< fed by the committer (else reading the log)
};

} // namespace cairn
