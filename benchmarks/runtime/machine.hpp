// What the benchmark needs to know about the machine it runs on: resident memory, the cost of an fdatasync on the
// disk under the data folder, and fresh folders to run in.
#pragma once

#include "latency.hpp"

#include <cstddef>
#include <filesystem>
#include <string>

namespace cairn::bench {

/// Resident bytes of this process (/proc/self/statm).
std::size_t resident_bytes();

/// Hands the allocator's free pages back to the system, so that resident memory counts what is live.
void release_free_memory();

/// Appends 100 bytes and fdatasyncs, `iterations` times, on a new file in `dir`: what one synced commit costs
/// at the least on this disk. The file is removed afterwards.
void measure_fdatasync(const std::filesystem::path& dir, std::size_t iterations, latency_histogram& out);

/// True when `dir` is on a tmpfs, where a sync costs nothing and durable figures mean nothing.
bool on_tmpfs(const std::filesystem::path& dir);

/// A fresh folder "cairn-bench-XXXXXX" inside `parent`, removed with everything in it at scope exit.
class temp_folder {
public:
  explicit temp_folder(const std::filesystem::path& parent);
  ~temp_folder();
  temp_folder(const temp_folder&) = delete;
  temp_folder& operator=(const temp_folder&) = delete;

  const std::filesystem::path& path() const noexcept {
    return path_;
  }

private:
  std::filesystem::path path_;
};

} // namespace cairn::bench
