#include <cairn/runtime/command_result.hpp>

namespace cairn {

std::string_view to_string(command_errc code) noexcept {
  switch (code) {
    case command_errc::none:
      return "accepted";
    case command_errc::rejected:
      return "rejected";
    case command_errc::conflict:
      return "conflict";
    case command_errc::not_found:
      return "not_found";
    case command_errc::overloaded:
      return "overloaded";
    case command_errc::storage_failure:
      return "storage_failure";
    case command_errc::timeout:
      return "timeout";
    case command_errc::shutting_down:
      return "shutting_down";
    case command_errc::invalid_argument:
      return "invalid_argument";
    case command_errc::unavailable:
      return "unavailable";
  }
  return "unknown";
}

std::string to_string(const command_result& r) {
  if (r.ok())
    return "accepted at version " + std::to_string(r.version);
  return std::string{to_string(r.code)} + ": " + r.message;
}

} // namespace cairn
