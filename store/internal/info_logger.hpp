// Internal: RocksDB's info log of a store, written so that no failure of its file can hurt the process.
//
// RocksDB's own info logger (EnvLogger) writes through a WritableFileWriter, which remembers a failed write and,
// in a build with assertions (Debian's librocksdb), aborts the process on the next line: a full disk under the
// data folder killed the process from inside DB::Open and from DB::Write's error handling. This logger writes
// each line with one plain append through the store's file system and drops the line when that fails; it
// buffers nothing, remembers no error and never asserts.
//
// It appends to <folder>/LOG across opens instead of rotating at every open (RocksDB left an empty LOG.old.<time>
// behind at each failed start); past `max_file_bytes` the file becomes LOG.old (one, replaced each time).
//
// Thread-safety: RocksDB calls it from any thread; lines are written one at a time.
#pragma once

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <atomic>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace cairn::store::internal {

class info_logger final : public rocksdb::Logger {
public:
  /// Appends to `folder`/LOG through `fs`, creating it. Never fails: a file that cannot be opened or written
  /// only makes lines be dropped (and counted).
  info_logger(std::shared_ptr<rocksdb::FileSystem> fs, std::string folder, std::size_t max_file_bytes);

  /// A logger that writes nothing: for read-only opens, which must not write into the folder.
  info_logger();

  ~info_logger() override;

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override;
  size_t GetLogFileSize() const override;

  /// Lines that could not be written (the file refused them or could not be opened).
  std::uint64_t dropped_lines() const noexcept {
    return dropped_.load(std::memory_order_relaxed);
  }

private:
  rocksdb::Status CloseImpl() override;
  void open_file();          // precondition: mutex_ held
  void rotate();             // precondition: mutex_ held

  std::shared_ptr<rocksdb::FileSystem> fs_;
  std::string path_;
  std::size_t max_file_bytes_ = 0;
  mutable std::mutex mutex_;
  std::unique_ptr<rocksdb::FSWritableFile> file_;
  std::uint64_t size_ = 0;
  std::atomic<std::uint64_t> dropped_{0};
};

} // namespace cairn::store::internal
