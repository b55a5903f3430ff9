#include <cairn/store/result.hpp>

namespace cairn::store {

std::string_view to_string(errc code) noexcept {
  switch (code) {
    case errc::conflict:
      return "conflict";
    case errc::storage_failure:
      return "storage_failure";
    case errc::corrupt_data:
      return "corrupt_data";
    case errc::unknown_event_type:
      return "unknown_event_type";
    case errc::unknown_schema_version:
      return "unknown_schema_version";
    case errc::invalid_argument:
      return "invalid_argument";
    case errc::not_a_database:
      return "not_a_database";
    case errc::unknown_format:
      return "unknown_format";
    case errc::locked:
      return "locked";
    case errc::io_error:
      return "io_error";
    case errc::duplicate:
      return "duplicate";
    case errc::too_large:
      return "too_large";
  }
  return "unknown_error";
}

std::string error::to_string() const {
  std::string out{store::to_string(code_)};
  if (!message_.empty()) {
    out += ": ";
    out += message_;
  }
  return out;
}

} // namespace cairn::store
