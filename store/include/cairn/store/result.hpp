// Errors of the event store as values: `error` (a code and a message naming what failed) and `result<T>`.
//
// Thread-safety: value types.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace cairn::store {

/// What went wrong, coarse enough to act on.
enum class errc : std::uint8_t {
  conflict = 1,           ///< the stream is not at the expected version; nothing was written
  storage_failure,        ///< RocksDB failed to write or sync; nothing of that write is visible
  corrupt_data,           ///< stored bytes do not decode; the message names the stream and version
  unknown_event_type,     ///< no decoder is registered for a stored event's type name
  unknown_schema_version, ///< a stored event's schema version has neither a decoder nor an upcaster
  invalid_argument,       ///< the request itself is malformed (empty stream name, oversized batch, ...)
  not_a_database,         ///< the path exists but is not a cairn database
  unknown_format,         ///< a cairn database of a store format this build does not read
  locked,                 ///< another process holds the database open
  io_error,               ///< any other failure of the file system or of RocksDB
  duplicate,              ///< the causation (source, sequence) is already recorded on the stream; nothing written
  too_large,              ///< over the store's size limits (events per append, payload, snapshot): a client's error,
                          ///< the same request always fails so; nothing written
};

/// The stable name of a code, e.g. "conflict".
std::string_view to_string(errc code) noexcept;

/// A failure: its code and a message for people.
class error {
public:
  error(errc code, std::string message) : code_(code), message_(std::move(message)) {}

  errc code() const noexcept {
    return code_;
  }
  const std::string& message() const noexcept {
    return message_;
  }

  /// "conflict: stream order-7 is at version 3, expected 2"
  std::string to_string() const;

private:
  errc code_;
  std::string message_;
};

/// A value or an error.
template <class T>
class [[nodiscard]] result {
public:
  result(T value) : value_(std::in_place_index<0>, std::move(value)) {}
  result(store::error err) : value_(std::in_place_index<1>, std::move(err)) {}

  bool has_value() const noexcept {
    return value_.index() == 0;
  }
  explicit operator bool() const noexcept {
    return has_value();
  }

  T& value() & {
    return std::get<0>(value_);
  }
  const T& value() const& {
    return std::get<0>(value_);
  }
  T&& value() && {
    return std::get<0>(std::move(value_));
  }
  T& operator*() & {
    return value();
  }
  const T& operator*() const& {
    return value();
  }
  T* operator->() {
    return &value();
  }
  const T* operator->() const {
    return &value();
  }

  const store::error& error() const {
    return std::get<1>(value_);
  }

private:
  std::variant<T, store::error> value_;
};

/// Success without a value.
struct ok_t {};
inline constexpr ok_t ok{};

/// result<void>: success, or an error.
using status = result<ok_t>;

} // namespace cairn::store
