#include "probe.hpp"

#include <cstdio>
#include <thread>
#include <unistd.h>

namespace cairn::subbench {

std::uint64_t current_rss_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr)
    return 0;
  unsigned long long size = 0;
  unsigned long long resident = 0;
  int got = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  return got == 2 ? resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE)) : 0;
}

scratch_dir::scratch_dir(std::filesystem::path path) : path_(std::move(path)) {
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_.parent_path());
}

scratch_dir::~scratch_dir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

bool event_check::wait_done(std::chrono::seconds limit) const {
  auto deadline = clock::now() + limit;
  while (!done_.load(std::memory_order_acquire)) {
    if (clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::microseconds{200});
  }
  return true;
}

store::event_record bench_event(std::uint64_t n) {
  store::event_record e;
  e.type = "bench.tick";
  e.timestamp_us = static_cast<std::int64_t>(n);
  e.payload = std::string(16, static_cast<char>('a' + n % 26));
  return e;
}

} // namespace cairn::subbench
