// TEST SUPPORT ONLY (library cairn::store_power_cut, not installed): a RocksDB Env that can lose power.
//
// A process killed with SIGKILL leaves its written bytes in the OS page cache, so a missing fsync goes unnoticed
// by a kill test. This Env keeps what the OS would lose in a power cut apart, in the spirit of RocksDB's
// FaultInjectionTestFS:
//   * bytes appended to a file since its last Sync / Fsync / RangeSync stay in a buffer of this process; a sync
//     writes them to the real file (and syncs it);
//   * a file closed without a sync is written out (so that it can be read back) but remembers how much of it was
//     synced;
//   * a file created or renamed into a folder since that folder's last fsync is new to the disk: a power cut removes
//     it again (a renamed-over file gets its previous contents back).
//
//   cairn::store::power_cut power;
//   cairn::store::options opts{.path = dir, .env = power.env()};
//   ... run load; at a random moment:
//   power.freeze();                 // the power is off: nothing reaches the disk any more
//   ... close the database (every write, sync, create, rename or delete is accepted and dropped)
//   auto report = power.cut();      // the files are now what a disk would hold after the cut
//   ... reopen with the default Env and check what survived
//
// The model is strict: everything unsynced is lost, nothing of it survives partially (a real disk may keep some
// of it, in pages written back early). Files the Env did not write (there before it was created) count as synced.
//
// Thread-safety: every member may be called from any thread while RocksDB runs; cut() only after every database
// opened with env() is closed. The object must outlive those databases.
#pragma once

#include <cstdint>
#include <memory>

namespace rocksdb {
class Env;
class FileSystem;
} // namespace rocksdb

namespace cairn::store {

/// What a power cut took away.
struct power_cut_report {
  std::uint64_t unsynced_bytes_dropped = 0; ///< bytes written but never synced (buffered or in closed files)
  std::uint64_t files_truncated = 0;        ///< closed files cut back to their last synced size
  std::uint64_t files_removed = 0;          ///< files created since their folder's last fsync
  std::uint64_t files_restored = 0;         ///< renamed-over files given their previous contents back
};

/// A RocksDB Env over the real file system whose unsynced writes are lost at a simulated power cut.
class power_cut {
public:
  power_cut();
  ~power_cut();
  power_cut(const power_cut&) = delete;
  power_cut& operator=(const power_cut&) = delete;

  /// The Env to pass in cairn::store::options::env (or runtime_config::store_env).
  rocksdb::Env* env() const noexcept;

  /// Turns the power off: from now on nothing reaches the disk. Writes, syncs, file creations, renames, deletions
  /// and folder syncs fail with an IO error and change nothing, as if the machine had stopped at this moment and
  /// the process saw a dead disk; reads still see what was written. Idempotent.
  void freeze() noexcept;
  bool frozen() const noexcept;

  /// Makes the files what the disk holds after the cut: unsynced bytes gone, files new to their folder removed.
  /// Freezes first if not frozen. Call once every database opened with env() is closed.
  power_cut_report cut();

private:
  struct state;
  class file_system;
  class writable_file;
  class directory;

  std::shared_ptr<state> state_;
  std::shared_ptr<rocksdb::FileSystem> fs_;
  std::unique_ptr<rocksdb::Env> env_;
};

} // namespace cairn::store
