// Test helper: waits (bounded) until every subscription of a runtime has processed everything committed.
#pragma once

#include <cairn/runtime/runtime.hpp>

#include <chrono>
#include <thread>

namespace cairn::test {

/// True once every subscription's position is the store's last position; false at the deadline.
inline bool wait_caught_up(runtime& rt, std::chrono::seconds limit = std::chrono::seconds{30}) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    bool all = true;
    for (const auto& s : rt.subscriptions())
      all = all && s.position == rt.store().last_position();
    if (all)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
  }
  return false;
}

} // namespace cairn::test
