#include <cairn/runtime/subscription.hpp>

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
  if (auto pending = pending_.find(full_key(key)); pending != pending_.end())
    return puts_[pending->second].value;
  return committed(key);
}

void projection_writer::write(std::string_view key, std::optional<std::string> value) {
  auto full = full_key(key);
  if (auto pending = pending_.find(full); pending != pending_.end()) {
    puts_[pending->second].value = std::move(value);
    return;
  }
  pending_.emplace(full, puts_.size());
  puts_.push_back(store::projection_put{std::move(full), std::move(value)});
}

} // namespace cairn
