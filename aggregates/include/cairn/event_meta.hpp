// Where a committed event sits: which aggregate instance recorded it, at which version of its stream and which
// position of the global log, and when. Typed subscription handlers receive it next to the decoded event:
//
//   [](const orders::line_added& e, const cairn::event_meta& m, cairn::projection_writer& w) {
//     w.put(std::string{m.aggregate_id} + "/" + e.product_id, std::to_string(m.version));
//   }
//
// No CAF and no RocksDB here: it belongs to the programming model.
//
// Thread-safety: a plain value. The string views point into the event being handled: valid during the handler
// call only (copy them to keep them).
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

namespace cairn {

/// The metadata of one committed event.
struct event_meta {
  std::string_view aggregate_type; ///< the recording aggregate's type_name, e.g. "order"
  std::string_view aggregate_id;   ///< the instance's id, e.g. "o-1" (not its stream name "order-o-1")
  std::uint64_t version = 0;       ///< 1-based position of the event in its aggregate's stream
  std::uint64_t position = 0;      ///< 1-based position in the global log (an idempotency key)
  std::chrono::sys_time<std::chrono::microseconds> timestamp{}; ///< when the event was recorded

  friend bool operator==(const event_meta&, const event_meta&) = default;
};

} // namespace cairn
