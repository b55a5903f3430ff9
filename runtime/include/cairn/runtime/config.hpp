// The settings of one cairn runtime: where the data lives, how durable a commit is, and the bounds that keep
// memory and latency in check under any load.
//
// Thread-safety: a value type.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

namespace rocksdb {
class Env;
}

namespace cairn {

class runtime;
class cluster_map;

/// How durable an acknowledged command is (see docs/store.md).
enum class commit_mode : std::uint8_t {
  durable,  ///< "accepted" only after the WAL is fsynced: survives power loss
  buffered, ///< "accepted" after the WAL is written to the OS: survives a process crash
};

struct runtime_config {
  /// The RocksDB folder (created when missing).
  std::string data_dir = "data";
  commit_mode durability = commit_mode::durable;
  /// CAF scheduler threads; 0 = one per core.
  std::size_t scheduler_threads = 0;
  /// A snapshot is written (in the same batch) each time a stream's version crosses a multiple of this; 0 = never.
  std::uint64_t snapshot_interval = 1000;
  /// An aggregate instance with no message for this long is passivated (its actor stops; the next command
  /// activates it again).
  std::chrono::milliseconds idle_timeout{std::chrono::seconds{60}};
  /// At most this many instances are active; beyond it the least recently used idle ones are passivated.
  std::size_t max_active = 100'000;
  /// Commands admitted but not yet answered; a command beyond it is answered `overloaded` at once.
  std::size_t max_in_flight = 65'536;
  /// Activations that read the store at once (each replays a stream in chunks).
  std::size_t max_recoveries = 2;
  /// A command not started within this time after it was sent is answered `timeout` and changes nothing.
  std::chrono::milliseconds command_timeout{std::chrono::seconds{30}};
  /// stop() waits at most this long for the requests in flight to be answered, then stops anyway and reports
  /// what was still outstanding; execute() and get() wait at most command_timeout plus this for their answer.
  std::chrono::milliseconds stop_timeout{std::chrono::seconds{10}};
  /// At most this many appends go into one RocksDB write.
  std::size_t max_batch_appends = 4096;
  /// A node of a cluster (docs/cluster.md): the map every node reads from the same cluster file, and this node's
  /// id in it. start() refuses an id the map does not list, and a store that holds streams of partitions this
  /// node does not own. nullptr: a single node that owns everything.
  std::shared_ptr<const cluster_map> cluster;
  std::string node_id;
  /// nullptr: the default RocksDB Env (tests pass a fault-injecting one).
  rocksdb::Env* store_env = nullptr;
  /// Deterministic mode, for test kits (cairn::testing::deterministic_config sets it to
  /// cairn::testing::run_until_idle): no worker threads; actors, activations and commits run only when a test calls
  /// this function on its thread (stop() calls it too). Empty: the normal, threaded mode.
  std::function<std::size_t(runtime&)> drive_until_idle;

  bool deterministic() const noexcept {
    return static_cast<bool>(drive_until_idle);
  }
};

} // namespace cairn
