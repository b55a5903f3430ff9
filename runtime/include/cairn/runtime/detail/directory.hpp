// The activation directory of one aggregate type: aggregate id -> the actor of its active instance.
//
// A command is handed to an instance's actor while the directory's shard lock is held, and the instance's
// `queued` counter counts what it was handed and has not taken yet. An instance passivates only through
// try_remove(), under the same lock and only when nothing is queued for it; so a command that races with a
// passivation either reaches the old instance before it checks, or finds no entry and activates a new one.
// Nothing is lost and at most one instance of an id accepts commands.
//
// Thread-safety: every member may be called from any thread.
#pragma once

#include <caf/actor.hpp>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>
#include <string>
#include <string_view>
#include <unordered_map>

namespace cairn::detail {

/// What the directory knows of one active instance.
struct directory_entry {
  caf::actor actor;
  directory_entry* lru_prev = nullptr;   ///< towards more recently used
  directory_entry* lru_next = nullptr;   ///< towards less recently used
  std::atomic<std::uint32_t> queued{0}; ///< handed to the actor, not yet taken by it
  std::uint32_t shard = 0;
  std::uint32_t last_used_tick = 0;    ///< the directory's tick at the last dispatch (guarded by the shard lock)
  bool passivation_requested = false; ///< asked to stop (guarded by the shard lock)
  bool retired = false;                ///< forgotten by shutdown() while its actor may still run (shard lock)
};

/// Counts active instances across all aggregate types of a runtime.
struct activation_budget {
  std::atomic<std::size_t> active{0};
  std::size_t max_active = 0;
};

class directory {
public:
  /// Spawns the actor of a new instance (not yet scheduled: it runs on its first message).
  using spawn_function = std::function<caf::actor(const std::string& id, directory_entry* entry)>;

  directory(spawn_function spawn, activation_budget& budget);
  ~directory();
  directory(const directory&) = delete;
  directory& operator=(const directory&) = delete;

  /// Finds or activates the instance of `id` and calls `hand(actor)` for one message while no passivation can
  /// intervene; `hand` must only enqueue (it runs under a lock).
  template <class Hand>
  void dispatch(std::string_view id, Hand&& hand) {
    auto& s = shard_of(id);
    bool activated = false;
    {
      std::lock_guard guard{s.mutex};
      auto* e = find_or_activate(s, id, activated);
      e->queued.fetch_add(1, std::memory_order_relaxed);
      e->last_used_tick = tick_.load(std::memory_order_relaxed);
      hand(e->actor);
    }
    if (activated)
      enforce_budget(static_cast<std::size_t>(&s - shards_.data()));
  }

  /// Called by an instance's actor that wants to stop: removes it when nothing is queued for it. `id` is the
  /// instance's id (the entry does not keep a copy of its key). Returns true when removed (the actor must then
  /// quit and not touch `entry` again).
  bool try_remove(directory_entry* entry, std::string_view id);

  /// Called by an instance's actor for each message it takes from its mailbox.
  static void taken(directory_entry* entry) noexcept {
    entry->queued.fetch_sub(1, std::memory_order_relaxed);
  }

  /// Advances the coarse clock that stamps each dispatch (called by the runtime's housekeeping thread).
  void tick() noexcept {
    tick_.fetch_add(1, std::memory_order_relaxed);
  }

  /// Asks every instance not used during the last `idle_ticks` ticks to passivate. The LRU order makes this a walk
  /// from each shard's least recently used end that stops at the first recent entry.
  void passivate_idle(std::uint32_t idle_ticks);

  /// Active instances of this type.
  std::size_t size() const;

  /// Sends an exit to every active instance and forgets them all (used at stop).
  void shutdown();

private:
  static constexpr std::size_t shard_count = 64;

  struct hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };

  struct shard {
    mutable std::mutex mutex;
    /// The entries live in the map's nodes (node-stable): one allocation per instance, not two.
    using entry_map = std::unordered_map<std::string, directory_entry, hash, std::equal_to<>>;
    entry_map entries;
    directory_entry* lru_head = nullptr; ///< most recently used
    directory_entry* lru_tail = nullptr; ///< least recently used
    // Entries forgotten by shutdown(): their actors still hold them until they take the exit, so they are freed
    // with the directory (after the actor system is gone), not at shutdown.
    std::vector<entry_map> retired;
  };

  shard& shard_of(std::string_view id) {
    return shards_[hash{}(id) % shard_count];
  }

  directory_entry* find_or_activate(shard& s, std::string_view id, bool& activated);
  void enforce_budget(std::size_t start_shard);
  static void request_passivation(directory_entry* e);
  static void lru_unlink(shard& s, directory_entry* e);
  static void lru_push_front(shard& s, directory_entry* e);

  spawn_function spawn_;
  activation_budget& budget_;
  std::array<shard, shard_count> shards_;
  std::atomic<std::size_t> next_victim_shard_{0};
  std::atomic<std::uint32_t> tick_{0};
};

} // namespace cairn::detail
