// The order service's own counters (commands by type and result, command latency, HTTP responses, connections)
// and their rendering, with the runtime's figures, in the Prometheus text format (version 0.0.4).
//
// Thread-safety: every record_* and set_* may be called from any thread at once (relaxed atomics); render() from
// any thread while the runtime runs.
#pragma once

#include <cairn/runtime/command_result.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace cairn {
class runtime;
}

namespace cairn::order_service {

/// The commands the service sends, one per endpoint that changes something.
enum class command_kind : std::uint8_t { create_order, add_line, remove_line, submit_order, register_product };
inline constexpr std::size_t command_kind_count = 5;

/// "create_order", "add_line", ...
std::string_view to_string(command_kind kind) noexcept;

class service_metrics {
public:
  /// Upper bounds of the latency histogram's buckets, in seconds (+Inf is implied).
  static constexpr std::array<double, 14> latency_bounds{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                         0.025,  0.05,    0.1,    0.25,  0.5,    1.0,  5.0};

  /// One command answered: its kind, its result and the time from the request to the answer.
  void record_command(command_kind kind, command_errc result, std::chrono::nanoseconds latency) noexcept;
  /// One response sent (or handed to the server), by status code.
  void record_response(unsigned status) noexcept;
  /// A connection opened or closed; a connection refused because the limit was reached; one closed at the limit
  /// to make room because it had waited too long for a request.
  void connection_opened() noexcept;
  void connection_closed() noexcept;
  void connection_refused() noexcept;
  void connection_reclaimed() noexcept;

  std::uint64_t commands(command_kind kind, command_errc result) const noexcept;
  std::uint64_t responses(unsigned status) const noexcept;
  /// Connections holding a slot (at most max_connections): a reclaimed one leaves the count when reclaimed.
  std::int64_t open_connections() const noexcept;
  std::uint64_t reclaimed_connections() const noexcept;

  /// The whole exposition: these counters and the runtime's (commit batches, fsyncs, active aggregates,
  /// commands in flight, subscription positions and lag).
  std::string render(const runtime& rt) const;

private:
  static constexpr std::size_t result_count = 9; // command_errc::none .. invalid_argument
  static constexpr std::size_t status_slots = 600;

  std::array<std::array<std::atomic<std::uint64_t>, result_count>, command_kind_count> commands_{};
  std::array<std::atomic<std::uint64_t>, latency_bounds.size() + 1> latency_buckets_{};
  std::atomic<std::uint64_t> latency_sum_ns_{0};
  std::array<std::atomic<std::uint64_t>, status_slots> responses_{};
  std::atomic<std::int64_t> connections_{0};
  std::atomic<std::uint64_t> connections_refused_{0};
  std::atomic<std::uint64_t> connections_reclaimed_{0};
};

} // namespace cairn::order_service
