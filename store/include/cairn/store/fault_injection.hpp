// TEST SUPPORT ONLY (library cairn::store_fault_injection, not installed): a RocksDB Env whose file writes and
// syncs fail on demand, so that tests can prove what the store and the runtime do when the disk fails.
//
//   cairn::store::fault_injection faults;
//   cairn::store::options opts{.path = dir, .env = faults.env()};
//   auto store = cairn::store::event_store::open(opts);
//   faults.fail_syncs(true);   // the next durable append answers storage_failure
//   faults.fail_syncs(false);  // and the store works again
//
// It wraps the default (POSIX) file system: files are real, only the failures are injected, at the moment RocksDB
// calls Append / PositionedAppend (fail_writes, disk_full) or Sync / Fsync / RangeSync (fail_syncs) on a file
// opened for writing. Nothing is written by a failed call. By default every writable file is affected; a scope
// narrows the faults to one kind of file (told apart by RocksDB's file names): fault_scope::wal only the
// write-ahead log (the *.log files), so that flushes and compactions keep working; fault_scope::info_log only
// RocksDB's info LOG; fault_scope::manifest only the MANIFEST; fault_scope::table only table files (*.sst,
// written by flushes and compactions); fault_scope::other every other file (CURRENT and its temporary file,
// OPTIONS, IDENTITY, ...).
//
// Thread-safety: the switches and counters may be used from any thread while RocksDB runs; the object must
// outlive every database opened with its env().
#pragma once

#include <cstdint>
#include <memory>

namespace rocksdb {
class Env;
class FileSystem;
} // namespace rocksdb

namespace cairn::store {

/// Which files the injected faults hit.
enum class fault_scope : std::uint8_t {
  all_files, ///< every file RocksDB writes (WAL, SST, MANIFEST, ...)
  wal,       ///< only the write-ahead log (*.log)
  info_log,  ///< only the info log (LOG, LOG.old*)
  manifest,  ///< only the MANIFEST (MANIFEST-*)
  table,     ///< only table files (*.sst): flushes and compactions
  other,     ///< every file that is none of the above (CURRENT, *.dbtmp, OPTIONS-*, IDENTITY, ...)
};

/// A fault-injecting RocksDB Env over the real file system.
class fault_injection {
public:
  fault_injection();
  ~fault_injection();
  fault_injection(const fault_injection&) = delete;
  fault_injection& operator=(const fault_injection&) = delete;

  /// The Env to pass in cairn::store::options::env (or rocksdb::Options::env).
  rocksdb::Env* env() const noexcept;

  /// Appends fail with an I/O error while on.
  void fail_writes(bool on) noexcept;
  /// Sync, Fsync and RangeSync fail with an I/O error while on.
  void fail_syncs(bool on) noexcept;
  /// Appends fail with "no space left on device" (IOStatus::NoSpace) while on.
  void disk_full(bool on) noexcept;
  /// Which files are hit (default: fault_scope::all_files).
  void scope(fault_scope s) noexcept;
  /// Turns every fault off (counters are kept).
  void clear() noexcept;

  /// Failures injected so far.
  std::uint64_t injected_write_failures() const noexcept;
  std::uint64_t injected_sync_failures() const noexcept;
  std::uint64_t injected_no_space_failures() const noexcept;

  /// Calls that reached the files so far (injected failures included).
  std::uint64_t write_calls() const noexcept;
  std::uint64_t sync_calls() const noexcept;

private:
  struct state;
  class file_system;
  class writable_file;

  std::shared_ptr<state> state_;
  std::shared_ptr<rocksdb::FileSystem> fs_;
  std::unique_ptr<rocksdb::Env> env_;
};

} // namespace cairn::store
