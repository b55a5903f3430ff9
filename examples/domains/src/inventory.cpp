#include <cairn/domains/inventory.hpp>

#include <algorithm>
#include <limits>
#include <optional>

namespace cairn::domains::inventory {

namespace {

using event = product::event;

std::optional<rejection> check_registered(const product& p) {
  if (!p.registered())
    return reject("product does not exist");
  return std::nullopt;
}

std::optional<rejection> check_positive(std::int64_t quantity) {
  if (quantity <= 0)
    return reject("quantity must be positive, got " + std::to_string(quantity));
  return std::nullopt;
}

std::optional<rejection> check_order_id(const std::string& order_id) {
  if (order_id.empty())
    return reject("order_id must not be empty");
  return std::nullopt;
}

auto by_order(std::string_view order_id) {
  return [order_id](const reservation& r) { return r.order_id == order_id; };
}

} // namespace

std::int64_t product::reserved() const noexcept {
  // Never overflows: the reservations together never exceed on_hand_.
  std::int64_t sum = 0;
  for (const auto& r : reservations_)
    sum += r.quantity;
  return sum;
}

std::int64_t product::reservation_for(std::string_view order_id) const noexcept {
  const auto it = std::ranges::find_if(reservations_, by_order(order_id));
  return it == reservations_.end() ? 0 : it->quantity;
}

decision<event> product::handle(const register_product& cmd) const {
  if (registered_)
    return reject("product already exists");
  if (cmd.sku.empty())
    return reject("sku must not be empty");
  if (cmd.initial_stock < 0)
    return reject("initial_stock must not be negative, got " + std::to_string(cmd.initial_stock));
  return event{product_registered{cmd.sku, cmd.initial_stock}};
}

decision<event> product::handle(const add_stock& cmd) const {
  if (auto why = check_registered(*this))
    return *why;
  if (auto why = check_positive(cmd.quantity))
    return *why;
  if (cmd.quantity > std::numeric_limits<std::int64_t>::max() - on_hand_)
    return reject("stock would overflow: " + std::to_string(on_hand_) + " on hand, adding " +
                  std::to_string(cmd.quantity));
  return event{stock_added{cmd.quantity}};
}

decision<event> product::handle(const reserve& cmd) const {
  if (auto why = check_registered(*this))
    return *why;
  if (auto why = check_order_id(cmd.order_id))
    return *why;
  if (auto why = check_positive(cmd.quantity))
    return *why;
  if (reservation_for(cmd.order_id) > 0)
    return reject("order '" + cmd.order_id + "' already holds a reservation");
  if (cmd.quantity > available())
    return reject("not enough stock: " + std::to_string(cmd.quantity) + " requested, " +
                  std::to_string(available()) + " available");
  return event{stock_reserved{cmd.order_id, cmd.quantity}};
}

decision<event> product::handle(const release& cmd) const {
  if (auto why = check_registered(*this))
    return *why;
  const auto quantity = reservation_for(cmd.order_id);
  if (quantity == 0)
    return reject("order '" + cmd.order_id + "' holds no reservation");
  return event{reservation_released{cmd.order_id, quantity}};
}

decision<event> product::handle(const commit_reservation& cmd) const {
  if (auto why = check_registered(*this))
    return *why;
  const auto quantity = reservation_for(cmd.order_id);
  if (quantity == 0)
    return reject("order '" + cmd.order_id + "' holds no reservation");
  return event{reservation_committed{cmd.order_id, quantity}};
}

void product::apply(const product_registered& e) {
  registered_ = true;
  sku_ = e.sku;
  on_hand_ = e.initial_stock;
}

void product::apply(const stock_added& e) {
  on_hand_ += e.quantity;
}

void product::apply(const stock_reserved& e) {
  reservations_.push_back(reservation{e.order_id, e.quantity});
}

void product::apply(const reservation_released& e) {
  std::erase_if(reservations_, by_order(e.order_id));
}

void product::apply(const reservation_committed& e) {
  std::erase_if(reservations_, by_order(e.order_id));
  on_hand_ -= e.quantity;
}

} // namespace cairn::domains::inventory
