#include "internal/info_logger.hpp"

#include <sys/time.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <pthread.h>
#include <vector>

namespace cairn::store::internal {

info_logger::info_logger(std::shared_ptr<rocksdb::FileSystem> fs, std::string folder, std::size_t max_file_bytes)
    : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL), fs_(std::move(fs)), path_(std::move(folder) + "/LOG"),
      max_file_bytes_(max_file_bytes) {
  std::lock_guard lock{mutex_};
  open_file();
}

info_logger::info_logger() : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL) {}

info_logger::~info_logger() {
  static_cast<void>(Close());
}

rocksdb::Status info_logger::CloseImpl() {
  std::lock_guard lock{mutex_};
  if (file_)
    static_cast<void>(file_->Close(rocksdb::IOOptions{}, nullptr));
  file_.reset();
  return rocksdb::Status::OK();
}

void info_logger::open_file() {
  if (!fs_)
    return;
  // Appends after what earlier opens wrote (RocksDB's logger rotated the file at every open instead).
  std::unique_ptr<rocksdb::FSWritableFile> file;
  if (!fs_->ReopenWritableFile(path_, rocksdb::FileOptions{}, &file, nullptr).ok())
    return;
  std::uint64_t size = 0;
  if (!fs_->GetFileSize(path_, rocksdb::IOOptions{}, &size, nullptr).ok())
    size = 0;
  file_ = std::move(file);
  size_ = size;
}

void info_logger::rotate() {
  if (file_)
    static_cast<void>(file_->Close(rocksdb::IOOptions{}, nullptr));
  file_.reset();
  static_cast<void>(fs_->RenameFile(path_, path_ + ".old", rocksdb::IOOptions{}, nullptr));
  open_file();
}

void info_logger::Logv(const char* format, va_list ap) {
  if (!fs_) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  // The same line format as RocksDB's own logger: local time, thread, message.
  char stack[512];
  std::vector<char> heap;
  char* line = stack;
  std::size_t capacity = sizeof(stack);
  struct timeval now{};
  gettimeofday(&now, nullptr);
  struct tm t{};
  const time_t seconds = now.tv_sec;
  localtime_r(&seconds, &t);
  const int prefix = std::snprintf(line, capacity, "%04d/%02d/%02d-%02d:%02d:%02d.%06d %llu ", t.tm_year + 1900,
                                   t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                                   static_cast<int>(now.tv_usec),
                                   static_cast<unsigned long long>(pthread_self()));
  if (prefix < 0) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  va_list copy;
  va_copy(copy, ap);
  int body = std::vsnprintf(line + prefix, capacity - static_cast<std::size_t>(prefix), format, copy);
  va_end(copy);
  if (body < 0) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  // A long line (a stats dump) is formatted again into a buffer of its size, bounded as RocksDB bounds it.
  constexpr std::size_t max_line = 64u << 10;
  std::size_t length = static_cast<std::size_t>(prefix) + static_cast<std::size_t>(body);
  if (length + 2 > capacity) {
    capacity = std::min(length + 2, max_line);
    heap.assign(stack, stack + prefix);
    heap.resize(capacity);
    line = heap.data();
    va_copy(copy, ap);
    body = std::vsnprintf(line + prefix, capacity - static_cast<std::size_t>(prefix), format, copy);
    va_end(copy);
    if (body < 0) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    length = std::min(static_cast<std::size_t>(prefix) + static_cast<std::size_t>(body), capacity - 2);
  }
  if (length == 0 || line[length - 1] != '\n')
    line[length++] = '\n';

  std::lock_guard lock{mutex_};
  if (!file_)
    open_file();
  if (!file_ || !file_->Append(rocksdb::Slice{line, length}, rocksdb::IOOptions{}, nullptr).ok()) {
    // Nothing is remembered: the next line tries again, and lands once the disk takes it.
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  size_ += length;
  if (max_file_bytes_ > 0 && size_ >= max_file_bytes_)
    rotate();
}

size_t info_logger::GetLogFileSize() const {
  std::lock_guard lock{mutex_};
  return size_;
}

} // namespace cairn::store::internal
