#include "shop.hpp"

#include <cairn/domains/account.hpp>
#include <cairn/domains/inventory.hpp>
#include <cairn/domains/order.hpp>
#include <cairn/domains/order_fulfillment.hpp>
#include <cairn/domains/transfer.hpp>
#include <cairn/store/codec.hpp>

#include <charconv>
#include <stdexcept>

namespace cairn::shop {

namespace {

template <class Event>
Event decode_or_throw(const store::stored_event& e) {
  Event out;
  if (auto st = store::decode(e.event.payload, out); !st)
    throw std::runtime_error{"cannot decode " + e.event.type + " at position " + std::to_string(e.position) + ": " +
                             st.error().to_string()};
  return out;
}

std::string_view id_in(const store::stored_event& e, std::string_view type_name) {
  std::string_view stream = e.stream;
  return stream.substr(type_name.size() + 1);
}

stock_level parse_stock(const std::string& text) {
  stock_level level;
  auto space = text.find(' ');
  std::from_chars(text.data(), text.data() + space, level.on_hand);
  std::from_chars(text.data() + space + 1, text.data() + text.size(), level.reserved);
  return level;
}

std::string format_stock(const stock_level& level) {
  return std::to_string(level.on_hand) + " " + std::to_string(level.reserved);
}

} // namespace

void project_orders_by_customer(const store::stored_event& e, projection_writer& w) {
  if (e.event.type != domains::orders::order_created::event_type)
    return;
  auto created = decode_or_throw<domains::orders::order_created>(e);
  w.put(created.customer_id + "/" + std::string{id_in(e, domains::orders::order::type_name)}, std::string{});
}

void project_stock_levels(const store::stored_event& e, projection_writer& w, const projection_lookup& committed) {
  using namespace domains::inventory;
  std::string_view type = e.event.type;
  if (!type.starts_with("product."))
    return;
  auto product_id = std::string{id_in(e, product::type_name)};
  auto current = w.get(product_id, committed);
  auto level = current ? parse_stock(*current) : stock_level{};
  if (type == product_registered::event_type)
    level.on_hand = decode_or_throw<product_registered>(e).initial_stock;
  else if (type == stock_added::event_type)
    level.on_hand += decode_or_throw<stock_added>(e).quantity;
  else if (type == stock_reserved::event_type)
    level.reserved += decode_or_throw<stock_reserved>(e).quantity;
  else if (type == reservation_released::event_type)
    level.reserved -= decode_or_throw<reservation_released>(e).quantity;
  else if (type == reservation_committed::event_type) {
    auto q = decode_or_throw<reservation_committed>(e).quantity;
    level.reserved -= q;
    level.on_hand -= q;
  } else {
    return;
  }
  w.put(product_id, format_stock(level));
}

void register_shop(runtime& rt) {
  using namespace domains;
  rt.register_aggregate<orders::order>();
  rt.register_aggregate<inventory::product>();
  rt.register_aggregate<accounts::account>();
  rt.register_process_manager<fulfillment::order_fulfillment, inventory::product, orders::order>();
  rt.register_process_manager<transfers::transfer, accounts::account>();
  rt.add_projection(std::string{orders_by_customer}, project_orders_by_customer);
  rt.add_projection(std::string{stock_levels}, [&rt](const store::stored_event& e, projection_writer& w) {
    project_stock_levels(e, w, [&](std::string_view key) { return w.get(rt.store(), key); });
  });
}

std::vector<std::string> orders_of(const store::event_store& s, std::string_view customer) {
  auto prefix = projection_key(orders_by_customer, customer) + "/";
  std::vector<std::string> ids;
  std::string after;
  for (;;) {
    auto page = s.scan_projection(prefix, after, 1024);
    if (!page || page->empty())
      return ids;
    for (const auto& [key, value] : *page)
      ids.push_back(key.substr(prefix.size()));
    after = page->back().first;
  }
}

std::optional<stock_level> stock_of(const store::event_store& s, std::string_view product) {
  auto v = s.projection_value(projection_key(stock_levels, product));
  if (!v || !*v)
    return std::nullopt;
  return parse_stock(**v);
}

std::map<std::string, std::string> read_model(const store::event_store& s, std::string_view projection) {
  std::map<std::string, std::string> out;
  auto prefix = std::string{projection} + "/";
  std::string after;
  for (;;) {
    auto page = s.scan_projection(prefix, after, 1024);
    if (!page || page->empty())
      return out;
    for (auto& [key, value] : *page)
      out.emplace(key.substr(prefix.size()), value);
    after = page->back().first;
  }
}

} // namespace cairn::shop
