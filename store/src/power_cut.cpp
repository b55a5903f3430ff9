#include <cairn/store/power_cut.hpp>

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

namespace cairn::store {

namespace {

namespace fs = std::filesystem;

// A renamed-over or overwritten file is given its previous contents back at a cut when it is at most this big
// (RocksDB overwrites only small files: CURRENT, IDENTITY, OPTIONS).
constexpr std::uintmax_t max_restorable_bytes = 1u << 20;

std::string normal(const std::string& name) {
  return fs::path{name}.lexically_normal().string();
}

std::pair<std::string, std::string> folder_and_name(const std::string& name) {
  const fs::path p{normal(name)};
  return {p.parent_path().string(), p.filename().string()};
}

// What a file held before it was overwritten; nullopt when it did not exist (or was too big to keep).
std::optional<std::string> contents_before(const std::string& name) {
  std::error_code ec;
  const auto size = fs::file_size(name, ec);
  if (ec || size > max_restorable_bytes)
    return std::nullopt;
  std::ifstream in{name, std::ios::binary};
  if (!in)
    return std::nullopt;
  return std::string{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

// After the freeze every write fails: the process sees a dead disk (its reads still work), so that neither it
// nor the store's recovery builds on files that will not exist, and nothing is acknowledged after the cut.
rocksdb::IOStatus powered_off() {
  return rocksdb::IOStatus::IOError("power_cut: the power is off");
}

} // namespace

struct power_cut::state {
  std::atomic<bool> frozen{false};
  std::atomic<std::uint64_t> dropped_bytes{0}; // buffered bytes thrown away after the freeze

  std::mutex mutex;
  struct file_record {
    std::uint64_t written = 0; ///< bytes in the real file (written out by a sync or a close)
    std::uint64_t synced = 0;  ///< of which synced
  };
  /// Files written through the Env, by normalised path.
  std::map<std::string, file_record> files;
  /// Per folder, the names created or renamed into it since its last fsync, with what they replaced.
  std::map<std::string, std::map<std::string, std::optional<std::string>>> new_names;

  bool is_frozen() const noexcept {
    return frozen.load();
  }

  void track_new(const std::string& name, std::optional<std::string> previous) {
    const auto [folder, base] = folder_and_name(name);
    std::lock_guard lock{mutex};
    files[normal(name)] = file_record{};
    // A name already new keeps what it replaced first: that is what the disk still holds.
    new_names[folder].emplace(base, std::move(previous));
  }

  void track_reopened(const std::string& name, std::uint64_t size) {
    std::lock_guard lock{mutex};
    files.emplace(normal(name), file_record{size, size});
  }

  void written(const std::string& name, std::uint64_t size, bool is_synced) {
    std::lock_guard lock{mutex};
    auto& f = files[name];
    f.written = size;
    if (is_synced)
      f.synced = size;
  }

  void renamed(const std::string& from, const std::string& to, std::optional<std::string> previous) {
    const auto [from_folder, from_base] = folder_and_name(from);
    const auto [to_folder, to_base] = folder_and_name(to);
    std::lock_guard lock{mutex};
    if (auto i = files.find(normal(from)); i != files.end()) {
      auto record = i->second;
      files.erase(i);
      files[normal(to)] = record;
    }
    // As RocksDB's model: only a rename of a name that is itself new to the disk is undone by a cut.
    if (new_names[from_folder].erase(from_base) != 0)
      new_names[to_folder].emplace(to_base, std::move(previous));
  }

  void deleted(const std::string& name) {
    const auto [folder, base] = folder_and_name(name);
    std::lock_guard lock{mutex};
    files.erase(normal(name));
    new_names[folder].erase(base);
  }

  void folder_synced(const std::string& folder) {
    std::lock_guard lock{mutex};
    new_names.erase(folder);
  }
};

// Unsynced bytes live in buffer_ (the "page cache" a power cut loses); a sync writes them to the real file and
// syncs it. RangeSync is only a hint to the OS (no durability), so it syncs nothing here.
class power_cut::writable_file : public rocksdb::FSWritableFileOwnerWrapper {
public:
  writable_file(std::unique_ptr<rocksdb::FSWritableFile> file, std::shared_ptr<state> st, std::string name,
                std::uint64_t on_disk)
      : FSWritableFileOwnerWrapper(std::move(file)), state_(std::move(st)), name_(normal(name)),
        on_disk_(on_disk) {}

  ~writable_file() override {
    std::lock_guard lock{mutex_};
    drop();
  }

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions&, rocksdb::IODebugContext*) override {
    std::lock_guard lock{mutex_};
    if (state_->is_frozen()) {
      drop();
      dropped_after_freeze_ += data.size();
      state_->dropped_bytes.fetch_add(data.size());
      return powered_off();
    }
    buffer_.append(data.data(), data.size());
    return rocksdb::IOStatus::OK();
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo&, rocksdb::IODebugContext* dbg) override {
    return Append(data, options, dbg);
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, std::uint64_t offset,
                                     const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (offset != GetFileSize(options, dbg))
      return rocksdb::IOStatus::NotSupported("power_cut: a positioned append must append");
    return Append(data, options, dbg);
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, std::uint64_t offset,
                                     const rocksdb::IOOptions& options, const rocksdb::DataVerificationInfo&,
                                     rocksdb::IODebugContext* dbg) override {
    return PositionedAppend(data, offset, options, dbg);
  }
  rocksdb::IOStatus Truncate(std::uint64_t size, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override {
    std::lock_guard lock{mutex_};
    if (state_->is_frozen())
      return powered_off();
    if (auto s = write_out(options, dbg); !s.ok())
      return s;
    auto s = target()->Truncate(size, options, dbg);
    if (s.ok())
      on_disk_ = size;
    return s;
  }
  rocksdb::IOStatus Flush(const rocksdb::IOOptions&, rocksdb::IODebugContext*) override {
    return rocksdb::IOStatus::OK();
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    return sync(options, dbg, false);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    return sync(options, dbg, true);
  }
  rocksdb::IOStatus RangeSync(std::uint64_t, std::uint64_t, const rocksdb::IOOptions&,
                              rocksdb::IODebugContext*) override {
    return rocksdb::IOStatus::OK();
  }
  bool IsSyncThreadSafe() const override {
    return true;
  }
  std::uint64_t GetFileSize(const rocksdb::IOOptions&, rocksdb::IODebugContext*) override {
    std::lock_guard lock{mutex_};
    return on_disk_ + buffer_.size() + dropped_after_freeze_;
  }
  // Closing writes the buffer out (the file can be read back) without syncing it: a cut still takes it away.
  rocksdb::IOStatus Close(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    std::lock_guard lock{mutex_};
    if (state_->is_frozen()) {
      drop();
      return target()->Close(options, dbg);
    }
    if (auto s = write_out(options, dbg); !s.ok())
      return s;
    return target()->Close(options, dbg);
  }

private:
  rocksdb::IOStatus write_out(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) {
    if (buffer_.empty())
      return rocksdb::IOStatus::OK();
    auto s = target()->Append(buffer_, options, dbg);
    if (s.ok()) {
      on_disk_ += buffer_.size();
      buffer_.clear();
      state_->written(name_, on_disk_, false);
    }
    return s;
  }

  rocksdb::IOStatus sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg, bool full) {
    std::lock_guard lock{mutex_};
    if (state_->is_frozen()) {
      drop();
      return powered_off();
    }
    if (auto s = write_out(options, dbg); !s.ok())
      return s;
    auto s = full ? target()->Fsync(options, dbg) : target()->Sync(options, dbg);
    if (s.ok()) {
      state_->written(name_, on_disk_, true);
    }
    return s;
  }

  void drop() {
    state_->dropped_bytes.fetch_add(buffer_.size());
    dropped_after_freeze_ += buffer_.size();
    buffer_.clear();
  }

  std::shared_ptr<state> state_;
  std::string name_;
  mutable std::mutex mutex_;
  std::string buffer_;
  std::uint64_t on_disk_ = 0;               // bytes written to the real file
  std::uint64_t dropped_after_freeze_ = 0; // keeps the size RocksDB sees growing after the freeze
};

class power_cut::directory : public rocksdb::FSDirectoryWrapper {
public:
  directory(std::unique_ptr<rocksdb::FSDirectory> dir, std::shared_ptr<state> st, std::string name)
      : FSDirectoryWrapper(std::move(dir)), state_(std::move(st)), name_(normal(name)) {
    // "a/b/" and "a/b" are the same folder.
    while (name_.size() > 1 && name_.back() == '/')
      name_.pop_back();
  }

  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (state_->is_frozen())
      return powered_off();
    return synced(FSDirectoryWrapper::Fsync(options, dbg));
  }
  rocksdb::IOStatus FsyncWithDirOptions(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg,
                                        const rocksdb::DirFsyncOptions& dir_options) override {
    if (state_->is_frozen())
      return powered_off();
    return synced(FSDirectoryWrapper::FsyncWithDirOptions(options, dbg, dir_options));
  }

private:
  rocksdb::IOStatus synced(rocksdb::IOStatus s) {
    if (s.ok())
      state_->folder_synced(name_);
    return s;
  }

  std::shared_ptr<state> state_;
  std::string name_;
};

class power_cut::file_system : public rocksdb::FileSystemWrapper {
public:
  file_system(const std::shared_ptr<rocksdb::FileSystem>& target, std::shared_ptr<state> st)
      : FileSystemWrapper(target), state_(std::move(st)) {}

  const char* Name() const override {
    return "CairnPowerCutFileSystem";
  }

  rocksdb::IOStatus NewWritableFile(const std::string& fname, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    if (state_->is_frozen())
      return powered_off();
    auto previous = contents_before(fname);
    auto s = FileSystemWrapper::NewWritableFile(fname, options, result, dbg);
    if (s.ok()) {
      state_->track_new(fname, std::move(previous));
      *result = std::make_unique<writable_file>(std::move(*result), state_, fname, 0);
    }
    return s;
  }

  rocksdb::IOStatus ReopenWritableFile(const std::string& fname, const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override {
    if (state_->is_frozen())
      return powered_off();
    std::uint64_t size = 0;
    if (auto s = target()->GetFileSize(fname, rocksdb::IOOptions{}, &size, dbg); !s.ok() && !s.IsNotFound())
      return s;
    auto s = FileSystemWrapper::ReopenWritableFile(fname, options, result, dbg);
    if (s.ok()) {
      state_->track_reopened(fname, size);
      *result = std::make_unique<writable_file>(std::move(*result), state_, fname, size);
    }
    return s;
  }

  // Only used to recycle WAL files (recycle_log_file_num), which cairn does not.
  rocksdb::IOStatus ReuseWritableFile(const std::string&, const std::string&, const rocksdb::FileOptions&,
                                      std::unique_ptr<rocksdb::FSWritableFile>*, rocksdb::IODebugContext*) override {
    return rocksdb::IOStatus::NotSupported("power_cut: reusing a writable file");
  }

  rocksdb::IOStatus NewRandomRWFile(const std::string& fname, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSRandomRWFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    if (state_->is_frozen())
      return rocksdb::IOStatus::IOError("power_cut: the power is off");
    return FileSystemWrapper::NewRandomRWFile(fname, options, result, dbg);
  }

  rocksdb::IOStatus NewDirectory(const std::string& name, const rocksdb::IOOptions& io_opts,
                                 std::unique_ptr<rocksdb::FSDirectory>* result,
                                 rocksdb::IODebugContext* dbg) override {
    auto s = FileSystemWrapper::NewDirectory(name, io_opts, result, dbg);
    if (s.ok())
      *result = std::make_unique<directory>(std::move(*result), state_, name);
    return s;
  }

  rocksdb::IOStatus RenameFile(const std::string& src, const std::string& dst, const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override {
    if (state_->is_frozen())
      return powered_off();
    auto previous = contents_before(dst);
    auto s = FileSystemWrapper::RenameFile(src, dst, options, dbg);
    if (s.ok())
      state_->renamed(src, dst, std::move(previous));
    return s;
  }

  rocksdb::IOStatus DeleteFile(const std::string& fname, const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override {
    if (state_->is_frozen())
      return powered_off();
    auto s = FileSystemWrapper::DeleteFile(fname, options, dbg);
    if (s.ok())
      state_->deleted(fname);
    return s;
  }

  rocksdb::IOStatus LinkFile(const std::string& src, const std::string& dst, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override {
    if (state_->is_frozen())
      return powered_off();
    return FileSystemWrapper::LinkFile(src, dst, options, dbg);
  }

  rocksdb::IOStatus Truncate(const std::string& fname, std::size_t size, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override {
    if (state_->is_frozen())
      return powered_off();
    return FileSystemWrapper::Truncate(fname, size, options, dbg);
  }

  rocksdb::IOStatus CreateDir(const std::string& dirname, const rocksdb::IOOptions& options,
                              rocksdb::IODebugContext* dbg) override {
    if (state_->is_frozen())
      return powered_off();
    return FileSystemWrapper::CreateDir(dirname, options, dbg);
  }

  rocksdb::IOStatus CreateDirIfMissing(const std::string& dirname, const rocksdb::IOOptions& options,
                                       rocksdb::IODebugContext* dbg) override {
    if (state_->is_frozen())
      return powered_off();
    return FileSystemWrapper::CreateDirIfMissing(dirname, options, dbg);
  }

  rocksdb::IOStatus DeleteDir(const std::string& dirname, const rocksdb::IOOptions& options,
                              rocksdb::IODebugContext* dbg) override {
    if (state_->is_frozen())
      return powered_off();
    return FileSystemWrapper::DeleteDir(dirname, options, dbg);
  }

private:
  std::shared_ptr<state> state_;
};

power_cut::power_cut()
    : state_(std::make_shared<state>()),
      fs_(std::make_shared<file_system>(rocksdb::FileSystem::Default(), state_)),
      env_(rocksdb::NewCompositeEnv(fs_)) {}

power_cut::~power_cut() = default;

rocksdb::Env* power_cut::env() const noexcept {
  return env_.get();
}

void power_cut::freeze() noexcept {
  state_->frozen.store(true);
}

bool power_cut::frozen() const noexcept {
  return state_->is_frozen();
}

power_cut_report power_cut::cut() {
  freeze();
  power_cut_report report;
  std::lock_guard lock{state_->mutex};
  auto lose = [&](const std::string& path) {
    if (auto i = state_->files.find(path); i != state_->files.end()) {
      report.unsynced_bytes_dropped += i->second.written - i->second.synced;
      state_->files.erase(i);
    }
  };
  // Names their folder never recorded: what they replaced comes back, or they disappear.
  for (const auto& [folder, names] : state_->new_names) {
    for (const auto& [base, previous] : names) {
      const auto path = (fs::path{folder} / base).string();
      lose(path);
      std::error_code ec;
      if (previous) {
        std::ofstream out{path, std::ios::binary | std::ios::trunc};
        out.write(previous->data(), static_cast<std::streamsize>(previous->size()));
        ++report.files_restored;
      } else if (fs::remove(path, ec)) {
        ++report.files_removed;
      }
    }
  }
  state_->new_names.clear();
  // The rest keep their synced part. (A file larger than that holds unsynced bytes, or zeros preallocated past
  // its end: either is gone after the cut.)
  for (const auto& [path, record] : state_->files) {
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    if (ec || size <= record.synced)
      continue;
    fs::resize_file(path, record.synced, ec);
    if (!ec && record.written > record.synced) {
      ++report.files_truncated;
      report.unsynced_bytes_dropped += record.written - record.synced;
    }
  }
  state_->files.clear();
  report.unsynced_bytes_dropped += state_->dropped_bytes.exchange(0);
  return report;
}

} // namespace cairn::store
