// Test support: the process's resident memory, for tests that state a memory bound.
#pragma once

#include <cstddef>
#include <fstream>
#include <unistd.h>

namespace cairn::test {

/// Resident set size of this process, in bytes (from /proc/self/statm).
inline std::size_t resident_bytes() {
  std::ifstream statm{"/proc/self/statm"};
  std::size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

/// How many times a sanitizer multiplies the memory growth a test sees (shadow memory, redzones, quarantine): a
/// bound measured without one is stated times this.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr std::size_t sanitizer_memory_factor = 3;
#elif defined(__SANITIZE_THREAD__)
inline constexpr std::size_t sanitizer_memory_factor = 8;
#else
inline constexpr std::size_t sanitizer_memory_factor = 1;
#endif

} // namespace cairn::test
