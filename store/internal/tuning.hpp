// Internal: the RocksDB options of a store, tuned for an append-heavy workload with sequential replays (see
// docs/store.md, "Tuning"). Shared by the store and the benchmark's raw-RocksDB baseline, so that the baseline
// runs on the very same configuration.
#pragma once

#include <cairn/store/event_store.hpp>

#include <rocksdb/options.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace cairn::store::internal {

/// The background errors RocksDB reported (a failed flush, compaction or MANIFEST write), counted by the
/// listener that also turns RocksDB's own recovery off: the store recovers when it sees the count move.
class background_errors {
public:
  void record(std::string message) {
    std::lock_guard lock{mutex_};
    last_ = std::move(message);
    count_.fetch_add(1, std::memory_order_release);
  }
  std::uint64_t count() const noexcept {
    return count_.load(std::memory_order_acquire);
  }
  std::string last() const {
    std::lock_guard lock{mutex_};
    return last_;
  }

private:
  std::atomic<std::uint64_t> count_{0};
  mutable std::mutex mutex_;
  std::string last_;
};

struct tuning {
  rocksdb::DBOptions db;
  rocksdb::ColumnFamilyOptions stream_cf;  ///< streams: appended to per stream, read by range scans
  rocksdb::ColumnFamilyOptions log_cf;     ///< log: appended to at the end, read by range scans
  rocksdb::ColumnFamilyOptions point_cf;   ///< meta, heads, snapshots, tracking, causations, projections
  rocksdb::ColumnFamilyOptions foreign_cf; ///< column families that are not cairn's
  std::shared_ptr<rocksdb::Env> env;        ///< owns `db.env` (the WAL-preallocating file system over the given Env)
  std::shared_ptr<background_errors> errors; ///< filled by a listener in `db.listeners`

  /// The options of the column family called `name`.
  rocksdb::ColumnFamilyOptions for_cf(std::string_view name) const;
};

/// The options for a store opened with `opts` (create flags are left to the caller).
tuning make_tuning(const options& opts);

} // namespace cairn::store::internal
