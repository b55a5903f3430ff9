#include <cairn/runtime/subscription.hpp>

#include <algorithm>
#include <stdexcept>

namespace cairn {

std::optional<std::string> projection_writer::get(const store::event_store& store, std::string_view key) const {
  return get(key, [&](std::string_view k) -> std::optional<std::string> {
    auto stored = store.projection_value(full_key(k));
    if (!stored)
      // Thrown inside the subscription's handler call, where it is caught: the chunk is handled again later.
      throw std::runtime_error{stored.error().to_string()};
    return *stored;
  });
}

std::optional<std::string> projection_writer::get(
  std::string_view key, const std::function<std::optional<std::string>(std::string_view)>& committed) const {
  auto full = full_key(key);
  auto pending = std::find_if(puts_.rbegin(), puts_.rend(), [&](const auto& p) { return p.key == full; });
  if (pending != puts_.rend())
    return pending->value;
  return committed(key);
}

} // namespace cairn
