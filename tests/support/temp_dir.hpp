// Test support: a fresh folder under the system temp directory, removed with everything in it at scope exit.
#pragma once

#include <atomic>
#include <filesystem>
#include <random>
#include <string>
#include <system_error>

namespace cairn::test {

class temp_dir {
public:
  temp_dir() {
    static std::atomic<unsigned> counter{0};
    std::random_device rd;
    auto name = "cairn-test-" + std::to_string(rd()) + "-" + std::to_string(counter.fetch_add(1));
    path_ = std::filesystem::temp_directory_path() / name;
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const noexcept {
    return path_;
  }
  /// A path inside the folder (not created).
  std::string sub(const std::string& name) const {
    return (path_ / name).string();
  }

private:
  std::filesystem::path path_;
};

} // namespace cairn::test
