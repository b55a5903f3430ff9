// Stream names: where an aggregate instance's events are stored. The one place that builds and parses them.
//
//   auto stream = cairn::stream_name<orders::order>("o-1");        // "order-o-1"
//   auto ref = cairn::parse_stream_name(stream);                    // {type_name "order", id "o-1"}
//
// A stream is named "<type_name>-<id>". Type names are restricted (valid_type_name: lower-case letters, digits,
// '_' and '.', no '-') so that the first '-' always ends the type name: "order-line-1" could otherwise be order
// "line-1" or instance "1" of a type "order-line", and two types' streams would collide. Ids may contain anything
// but NUL (the runtime bounds their length).
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace cairn {

/// Ends the type name in a stream name.
inline constexpr char stream_separator = '-';

/// The longest type name: stream names stay short keys.
inline constexpr std::size_t max_type_name_bytes = 64;

/// True for a type name that keeps stream names unambiguous: 1 to 64 bytes of [a-z0-9_.], starting with a letter.
constexpr bool valid_type_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > max_type_name_bytes || name.front() < 'a' || name.front() > 'z')
    return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.'))
      return false;
  return true;
}

/// "<type_name>-": the prefix shared by every stream of one aggregate type.
inline std::string stream_prefix(std::string_view type_name) {
  std::string prefix;
  prefix.reserve(type_name.size() + 1);
  prefix.append(type_name).push_back(stream_separator);
  return prefix;
}

/// The stream of instance `id` of the aggregate type named `type_name`.
inline std::string stream_name(std::string_view type_name, std::string_view id) {
  std::string name;
  name.reserve(type_name.size() + 1 + id.size());
  name.append(type_name).push_back(stream_separator);
  name.append(id);
  return name;
}

/// The stream of instance `id` of aggregate type `A`.
template <class A>
std::string stream_name(std::string_view id) {
  return stream_name(A::type_name, id);
}

/// The parts of a stream name; views into the parsed string.
struct stream_ref {
  std::string_view type_name;
  std::string_view id;
};

/// Splits a stream name into type name and id; nullopt when it is not one (no separator, an invalid type name or
/// an empty id).
inline std::optional<stream_ref> parse_stream_name(std::string_view stream) noexcept {
  auto separator = stream.find(stream_separator);
  if (separator == std::string_view::npos || separator + 1 == stream.size())
    return std::nullopt;
  auto type = stream.substr(0, separator);
  if (!valid_type_name(type))
    return std::nullopt;
  return stream_ref{type, stream.substr(separator + 1)};
}

/// The id of `stream` when it is a stream of the type named `type_name`, else nullopt.
inline std::optional<std::string_view> id_in_stream(std::string_view stream, std::string_view type_name) noexcept {
  if (stream.size() <= type_name.size() + 1 || !stream.starts_with(type_name) ||
      stream[type_name.size()] != stream_separator)
    return std::nullopt;
  return stream.substr(type_name.size() + 1);
}

} // namespace cairn
