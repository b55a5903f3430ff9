// The baselines' RocksDB: the column families cairn's store writes (streams, log, heads), options close to the
// store's own, and the same keys and value bytes for one command (see store/internal/layout.hpp): so that a
// baseline writes what cairn writes, and differs only in how the writing is organised.
//
// Thread-safety: add() and write() from any number of threads (RocksDB serialises the writes).
#pragma once

#include <cairn/store/event_store.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class Statistics;
class WriteBatch;
} // namespace rocksdb

namespace cairn::bench {

class raw_db {
public:
  raw_db(const std::filesystem::path& path, bool durable);
  ~raw_db();
  raw_db(const raw_db&) = delete;
  raw_db& operator=(const raw_db&) = delete;

  /// Adds one command's events to `batch`: each under "<stream>\0<be64 version>" and under its be64 global
  /// position, versions and positions counting up from the given first ones; then the stream's new head.
  void add(rocksdb::WriteBatch& batch, std::string_view stream, std::uint64_t first_version,
           std::uint64_t first_position, std::span<const store::event_record> events) const;

  /// Writes `batch` (synced in the durable mode, unless `sync` is false); throws on failure.
  void write(rocksdb::WriteBatch& batch, bool sync = true) const;

  /// Syncs the WAL: after unsynced bulk loading, so that the timed part starts from a clean state.
  void sync_wal() const;

  /// WAL syncs since open.
  std::uint64_t wal_syncs() const;

  /// Entries in the global log (by counting them).
  std::uint64_t log_entries() const;

  /// The stream's head version (0 when it has none).
  std::uint64_t head(std::string_view stream) const;

private:
  bool durable_;
  std::shared_ptr<rocksdb::Statistics> statistics_;
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* streams_ = nullptr;
  rocksdb::ColumnFamilyHandle* log_ = nullptr;
  rocksdb::ColumnFamilyHandle* heads_ = nullptr;
  rocksdb::ColumnFamilyHandle* default_ = nullptr;
};

} // namespace cairn::bench
