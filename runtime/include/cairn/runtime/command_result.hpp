// What a command to an aggregate comes back as: accepted (its new version, its events committed), or exactly one
// error value.
//
// Thread-safety: value types.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cairn {

/// Why a command was not accepted.
enum class command_errc : std::uint8_t {
  none = 0,         ///< accepted
  rejected,         ///< an invariant refused it; the message says which
  conflict,         ///< the stream moved under the command (another writer); nothing was written
  not_found,        ///< the aggregate does not exist (or was discarded) and the command does not create it
  overloaded,       ///< too many commands in flight; try again later
  storage_failure,  ///< the store failed to write or read; nothing was written
  timeout,          ///< not started in time; nothing was written
  shutting_down,    ///< the runtime is stopping or not started
  invalid_argument, ///< a malformed request (empty id, id too long, unregistered aggregate type), or events over
                    ///< the store's size limits (the message starts "too_large"): the same request fails again
  unavailable,      ///< the aggregate's partition is owned by another node of the cluster, which this node cannot
                    ///< reach (docs/cluster.md); nothing was written here
};

/// The stable name of a code, e.g. "rejected".
std::string_view to_string(command_errc code) noexcept;

/// The answer to one command.
struct command_result {
  command_errc code = command_errc::none;
  std::string message;             ///< empty when accepted
  std::uint64_t version = 0;       ///< the aggregate's version after the command (when accepted)
  std::uint64_t first_position = 0; ///< global position of its first event (0 when it recorded none)
  std::uint64_t last_position = 0;  ///< global position of its last event

  bool ok() const noexcept {
    return code == command_errc::none;
  }

  static command_result failure(command_errc code, std::string message) {
    command_result r;
    r.code = code;
    r.message = std::move(message);
    return r;
  }

  friend bool operator==(const command_result&, const command_result&) = default;
};

/// Makes a command idempotent. `sequence` must increase per (source, target aggregate): a command sent again with a
/// (source, sequence) the target has already handled takes effect once and gets the first answer again. Policies
/// and process managers use the causing event's position or their step number.
struct causation {
  std::string source;
  std::uint64_t sequence = 0;
};

/// "accepted at version 3" or "rejected: order is not a draft".
std::string to_string(const command_result& r);

template <class Inspector>
auto inspect(Inspector& f, command_result& x) {
  return f(x.code, x.message, x.version, x.first_position, x.last_position);
}

} // namespace cairn
