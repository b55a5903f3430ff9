#include <cairn/store/fault_injection.hpp>

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <atomic>
#include <string>
#include <string_view>

namespace cairn::store {

struct fault_injection::state {
  std::atomic<bool> fail_writes{false};
  std::atomic<bool> fail_syncs{false};
  std::atomic<bool> disk_full{false};
  std::atomic<fault_scope> scope{fault_scope::all_files};

  std::atomic<std::uint64_t> write_failures{0};
  std::atomic<std::uint64_t> sync_failures{0};
  std::atomic<std::uint64_t> no_space_failures{0};
  std::atomic<std::uint64_t> write_calls{0};
  std::atomic<std::uint64_t> sync_calls{0};

  bool hits(fault_scope kind) const noexcept {
    const auto s = scope.load(std::memory_order_relaxed);
    return s == fault_scope::all_files || s == kind;
  }

  rocksdb::IOStatus on_write(fault_scope kind) noexcept {
    write_calls.fetch_add(1, std::memory_order_relaxed);
    if (!hits(kind))
      return rocksdb::IOStatus::OK();
    if (disk_full.load(std::memory_order_relaxed)) {
      no_space_failures.fetch_add(1, std::memory_order_relaxed);
      return rocksdb::IOStatus::NoSpace("injected fault: no space left on device");
    }
    if (fail_writes.load(std::memory_order_relaxed)) {
      write_failures.fetch_add(1, std::memory_order_relaxed);
      return rocksdb::IOStatus::IOError("injected fault: write failed");
    }
    return rocksdb::IOStatus::OK();
  }

  rocksdb::IOStatus on_sync(fault_scope kind) noexcept {
    sync_calls.fetch_add(1, std::memory_order_relaxed);
    if (!hits(kind) || !fail_syncs.load(std::memory_order_relaxed))
      return rocksdb::IOStatus::OK();
    sync_failures.fetch_add(1, std::memory_order_relaxed);
    return rocksdb::IOStatus::IOError("injected fault: sync failed");
  }
};

// Every call that puts bytes on the disk or makes them durable asks the shared state first; a failed call does
// not reach the file, as when the device refuses it.
class fault_injection::writable_file : public rocksdb::FSWritableFileOwnerWrapper {
public:
  writable_file(std::unique_ptr<rocksdb::FSWritableFile> file, std::shared_ptr<state> st, fault_scope kind)
      : FSWritableFileOwnerWrapper(std::move(file)), state_(std::move(st)), kind_(kind) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    if (auto s = state_->on_write(kind_); !s.ok())
      return s;
    return FSWritableFileOwnerWrapper::Append(data, options, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info, rocksdb::IODebugContext* dbg) override {
    if (auto s = state_->on_write(kind_); !s.ok())
      return s;
    return FSWritableFileOwnerWrapper::Append(data, options, info, dbg);
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, std::uint64_t offset,
                                     const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (auto s = state_->on_write(kind_); !s.ok())
      return s;
    return FSWritableFileOwnerWrapper::PositionedAppend(data, offset, options, dbg);
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, std::uint64_t offset,
                                     const rocksdb::IOOptions& options, const rocksdb::DataVerificationInfo& info,
                                     rocksdb::IODebugContext* dbg) override {
    if (auto s = state_->on_write(kind_); !s.ok())
      return s;
    return FSWritableFileOwnerWrapper::PositionedAppend(data, offset, options, info, dbg);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (auto s = state_->on_sync(kind_); !s.ok())
      return s;
    return FSWritableFileOwnerWrapper::Sync(options, dbg);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (auto s = state_->on_sync(kind_); !s.ok())
      return s;
    return FSWritableFileOwnerWrapper::Fsync(options, dbg);
  }
  rocksdb::IOStatus RangeSync(std::uint64_t offset, std::uint64_t nbytes, const rocksdb::IOOptions& options,
                              rocksdb::IODebugContext* dbg) override {
    if (auto s = state_->on_sync(kind_); !s.ok())
      return s;
    return FSWritableFileOwnerWrapper::RangeSync(offset, nbytes, options, dbg);
  }

private:
  std::shared_ptr<state> state_;
  fault_scope kind_;
};

class fault_injection::file_system : public rocksdb::FileSystemWrapper {
public:
  file_system(const std::shared_ptr<rocksdb::FileSystem>& target, std::shared_ptr<state> st)
      : FileSystemWrapper(target), state_(std::move(st)) {}

  const char* Name() const override {
    return "CairnFaultInjectionFileSystem";
  }

  rocksdb::IOStatus NewWritableFile(const std::string& fname, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    return wrap(fname, FileSystemWrapper::NewWritableFile(fname, options, result, dbg), result);
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& fname, const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override {
    return wrap(fname, FileSystemWrapper::ReopenWritableFile(fname, options, result, dbg), result);
  }
  rocksdb::IOStatus ReuseWritableFile(const std::string& fname, const std::string& old_fname,
                                      const rocksdb::FileOptions& options,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                      rocksdb::IODebugContext* dbg) override {
    return wrap(fname, FileSystemWrapper::ReuseWritableFile(fname, old_fname, options, result, dbg), result);
  }

  // FileSystemWrapper hands NewLogger to the wrapped file system, whose logger would open its file there and
  // never meet the faults; the base class's one opens it through NewWritableFile above.
  rocksdb::IOStatus NewLogger(const std::string& fname, const rocksdb::IOOptions& options,
                              std::shared_ptr<rocksdb::Logger>* result, rocksdb::IODebugContext* dbg) override {
    return rocksdb::FileSystem::NewLogger(fname, options, result, dbg);
  }

private:
  rocksdb::IOStatus wrap(const std::string& fname, rocksdb::IOStatus s,
                         std::unique_ptr<rocksdb::FSWritableFile>* result) const {
    if (s.ok())
      *result = std::make_unique<writable_file>(std::move(*result), state_, kind_of(fname));
    return s;
  }

  // RocksDB's file names (file/filename.cc): <number>.log, LOG and LOG.old.<time>, MANIFEST-<number>,
  // <number>.sst; the rest are CURRENT (written as <number>.dbtmp, then renamed), OPTIONS-<number>, IDENTITY, ...
  static fault_scope kind_of(std::string_view path) noexcept {
    const auto slash = path.rfind('/');
    const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
    if (name.ends_with(".log"))
      return fault_scope::wal;
    if (name == "LOG" || name.starts_with("LOG.old"))
      return fault_scope::info_log;
    if (name.starts_with("MANIFEST-"))
      return fault_scope::manifest;
    if (name.ends_with(".sst"))
      return fault_scope::table;
    return fault_scope::other;
  }

  std::shared_ptr<state> state_;
};

fault_injection::fault_injection()
    : state_(std::make_shared<state>()),
      fs_(std::make_shared<file_system>(rocksdb::FileSystem::Default(), state_)),
      env_(rocksdb::NewCompositeEnv(fs_)) {}

fault_injection::~fault_injection() = default;

rocksdb::Env* fault_injection::env() const noexcept {
  return env_.get();
}

void fault_injection::fail_writes(bool on) noexcept {
  state_->fail_writes.store(on);
}

void fault_injection::fail_syncs(bool on) noexcept {
  state_->fail_syncs.store(on);
}

void fault_injection::disk_full(bool on) noexcept {
  state_->disk_full.store(on);
}

void fault_injection::scope(fault_scope s) noexcept {
  state_->scope.store(s);
}

void fault_injection::clear() noexcept {
  state_->fail_writes.store(false);
  state_->fail_syncs.store(false);
  state_->disk_full.store(false);
}

std::uint64_t fault_injection::injected_write_failures() const noexcept {
  return state_->write_failures.load();
}

std::uint64_t fault_injection::injected_sync_failures() const noexcept {
  return state_->sync_failures.load();
}

std::uint64_t fault_injection::injected_no_space_failures() const noexcept {
  return state_->no_space_failures.load();
}

std::uint64_t fault_injection::write_calls() const noexcept {
  return state_->write_calls.load();
}

std::uint64_t fault_injection::sync_calls() const noexcept {
  return state_->sync_calls.load();
}

} // namespace cairn::store
