#include "progress.hpp"

#include <chrono>
#include <cstdio>

#include <unistd.h>

namespace cairn::bench {

progress_line::progress_line(std::string label, const std::atomic<std::uint64_t>& done, std::uint64_t total,
                             std::string unit)
  : label_(std::move(label)), done_(done), total_(total), unit_(std::move(unit)) {
  if (::isatty(STDERR_FILENO) == 1)
    thread_ = std::thread{[this] { draw(); }};
}

progress_line::~progress_line() {
  if (!thread_.joinable())
    return;
  {
    std::lock_guard guard{mutex_};
    stopping_ = true;
  }
  stop_cv_.notify_all();
  thread_.join();
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
}

void progress_line::draw() {
  const auto start = std::chrono::steady_clock::now();
  std::unique_lock lock{mutex_};
  while (!stop_cv_.wait_for(lock, std::chrono::milliseconds{250}, [this] { return stopping_; })) {
    const auto done = done_.load(std::memory_order_relaxed);
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    if (total_ != 0)
      std::fprintf(stderr, "\r\033[K[%s] %llu / %llu %s, %.1f s", label_.c_str(),
                   static_cast<unsigned long long>(done), static_cast<unsigned long long>(total_), unit_.c_str(),
                   elapsed.count());
    else
      std::fprintf(stderr, "\r\033[K[%s] %llu %s, %.1f s", label_.c_str(), static_cast<unsigned long long>(done),
                   unit_.c_str(), elapsed.count());
    std::fflush(stderr);
  }
}

} // namespace cairn::bench
