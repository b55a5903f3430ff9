// Test support: a real small file system, a tmpfs mounted on a fresh folder (needs root: CI runs as root), and a
// way to fill it up and free it again.
//
//   cairn::test::tmpfs_mount disk{2u << 20};
//   if (!disk.mounted()) { WARN("skipped: " << disk.why_not()); return; }
//   cairn::test::filler fill{disk.path() / "filler"};   // writes until the disk is full
//   fill.release();                                     // deletes the file: the space is back
//
// The mount is undone (lazily, so that a busy mount does not stay) and its folder removed at scope exit.
#pragma once

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <system_error>
#include <vector>

namespace cairn::test {

class tmpfs_mount {
public:
  explicit tmpfs_mount(std::size_t bytes) {
    if (::geteuid() != 0) {
      why_not_ = "mounting a tmpfs needs root (this test runs as uid " + std::to_string(::geteuid()) + ")";
      return;
    }
    static std::atomic<unsigned> counter{0};
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("cairn-tmpfs-" + std::to_string(rd()) + "-" + std::to_string(counter.fetch_add(1)));
    std::error_code ec;
    std::filesystem::create_directories(path_, ec);
    if (ec) {
      why_not_ = "cannot create " + path_.string() + ": " + ec.message();
      return;
    }
    const std::string data = "size=" + std::to_string(bytes) + ",mode=0700";
    if (::mount("tmpfs", path_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, data.c_str()) != 0) {
      why_not_ = "mount -t tmpfs -o " + data + " on " + path_.string() + " failed: " + std::strerror(errno);
      std::filesystem::remove(path_, ec);
      return;
    }
    mounted_ = true;
  }
  ~tmpfs_mount() {
    if (mounted_)
      static_cast<void>(::umount2(path_.c_str(), MNT_DETACH));
    std::error_code ignored;
    if (!path_.empty())
      std::filesystem::remove(path_, ignored);
  }
  tmpfs_mount(const tmpfs_mount&) = delete;
  tmpfs_mount& operator=(const tmpfs_mount&) = delete;

  bool mounted() const noexcept {
    return mounted_;
  }
  /// Why it is not mounted (empty when it is).
  const std::string& why_not() const noexcept {
    return why_not_;
  }
  const std::filesystem::path& path() const noexcept {
    return path_;
  }

private:
  std::filesystem::path path_;
  bool mounted_ = false;
  std::string why_not_;
};

/// A file that takes every free byte of its file system, until release().
class filler {
public:
  explicit filler(std::filesystem::path file) : file_(std::move(file)) {
    const int fd = ::open(file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
      return;
    std::vector<char> chunk(64u << 10, 'f');
    // Smaller and smaller writes take what the larger ones left.
    for (std::size_t size = chunk.size(); size > 0; size /= 2) {
      for (;;) {
        const ssize_t n = ::write(fd, chunk.data(), size);
        if (n <= 0)
          break;
        bytes_ += static_cast<std::uint64_t>(n);
      }
    }
    ::close(fd);
  }
  ~filler() {
    release();
  }
  filler(const filler&) = delete;
  filler& operator=(const filler&) = delete;

  /// Bytes it took.
  std::uint64_t bytes() const noexcept {
    return bytes_;
  }
  /// Frees the space.
  void release() {
    std::error_code ignored;
    std::filesystem::remove(file_, ignored);
  }

private:
  std::filesystem::path file_;
  std::uint64_t bytes_ = 0;
};

} // namespace cairn::test
