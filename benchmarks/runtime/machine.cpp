#include "machine.hpp"

#include <cerrno>
#include <chrono>
#include <fstream>
#include <stdexcept>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <linux/magic.h>
#include <malloc.h>
#include <sys/vfs.h>
#include <unistd.h>

namespace cairn::bench {

namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::system_error{errno, std::generic_category(), what};
}

} // namespace

std::size_t resident_bytes() {
  std::ifstream statm{"/proc/self/statm"};
  std::size_t pages = 0;
  std::size_t resident = 0;
  if (!(statm >> pages >> resident))
    throw std::runtime_error{"cannot read /proc/self/statm"};
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

void release_free_memory() {
  malloc_trim(0);
}

void measure_fdatasync(const std::filesystem::path& dir, std::size_t iterations, latency_histogram& out) {
  const auto file = dir / "fdatasync-probe";
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
  if (fd < 0)
    fail("cannot create " + file.string());
  const char record[100] = {};
  for (std::size_t i = 0; i < iterations; ++i) {
    const auto start = std::chrono::steady_clock::now();
    if (::write(fd, record, sizeof record) != static_cast<ssize_t>(sizeof record) || ::fdatasync(fd) != 0) {
      const int err = errno;
      ::close(fd);
      errno = err;
      fail("cannot write and fdatasync " + file.string());
    }
    out.record(std::chrono::steady_clock::now() - start);
  }
  ::close(fd);
  std::filesystem::remove(file);
}

bool on_tmpfs(const std::filesystem::path& dir) {
  struct statfs fs {};
  return ::statfs(dir.c_str(), &fs) == 0 && fs.f_type == TMPFS_MAGIC;
}

temp_folder::temp_folder(const std::filesystem::path& parent) {
  auto pattern = (parent / "cairn-bench-XXXXXX").string();
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  if (::mkdtemp(name.data()) == nullptr)
    fail("cannot create a folder in " + parent.string());
  path_ = name.data();
}

temp_folder::~temp_folder() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

} // namespace cairn::bench
