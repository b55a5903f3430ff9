// A progress line on stderr while a measurement runs ("[uniform cairn 1/3] 41,200 / 200,000 commands"), redrawn a
// few times a second and erased at the end. Only when stderr is a terminal: logs and pipes get no carriage
// returns.
//
// Thread-safety: the counter is read from the line's own thread; everything else from the owning thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace cairn::bench {

class progress_line {
public:
  /// Shows `done` (of `total`, when not 0) counted in `unit`s until destroyed.
  progress_line(std::string label, const std::atomic<std::uint64_t>& done, std::uint64_t total, std::string unit);
  ~progress_line();
  progress_line(const progress_line&) = delete;
  progress_line& operator=(const progress_line&) = delete;

private:
  void draw();

  const std::string label_;
  const std::atomic<std::uint64_t>& done_;
  const std::uint64_t total_;
  const std::string unit_;
  std::mutex mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread thread_;
};

} // namespace cairn::bench
