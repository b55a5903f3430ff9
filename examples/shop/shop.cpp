#include "shop.hpp"

#include "fulfillment_history.hpp"

#include <cairn/domains/account.hpp>
#include <cairn/domains/inventory.hpp>
#include <cairn/domains/order.hpp>
#include <cairn/domains/order_fulfillment.hpp>
#include <cairn/domains/transfer.hpp>
#include <cairn/domains/transfer_upgrade.hpp>

#include <charconv>
#include <stdexcept>

namespace cairn::shop {

namespace {

stock_level parse_stock(const std::string& text) {
  stock_level level;
  auto space = text.find(' ');
  std::from_chars(text.data(), text.data() + space, level.on_hand);
  std::from_chars(text.data() + space + 1, text.data() + text.size(), level.reserved);
  return level;
}

/// Changes a product's stock line with `change`, from what this chunk or the committed model says.
template <class Change>
void update_stock(const projection_lookup& committed, std::string_view product, projection_writer& w,
                  Change change) {
  auto current = w.get(product, committed);
  auto level = current ? parse_stock(*current) : stock_level{};
  change(level);
  w.put(product, std::to_string(level.on_hand) + " " + std::to_string(level.reserved));
}

} // namespace

using namespace domains::inventory;

void orders_by_customer_projection::operator()(const domains::orders::order_created& e, const event_meta& m,
                                               projection_writer& w) const {
  w.put(e.customer_id + "/" + std::string{m.aggregate_id}, std::string{});
}

void stock_levels_projection::operator()(const product_registered& e, const event_meta& m,
                                         projection_writer& w) const {
  update_stock(committed, m.aggregate_id, w, [&](stock_level& s) { s.on_hand = e.initial_stock; });
}

void stock_levels_projection::operator()(const stock_added& e, const event_meta& m, projection_writer& w) const {
  update_stock(committed, m.aggregate_id, w, [&](stock_level& s) { s.on_hand += e.quantity; });
}

void stock_levels_projection::operator()(const stock_reserved& e, const event_meta& m, projection_writer& w) const {
  update_stock(committed, m.aggregate_id, w, [&](stock_level& s) { s.reserved += e.quantity; });
}

void stock_levels_projection::operator()(const reservation_released& e, const event_meta& m,
                                         projection_writer& w) const {
  update_stock(committed, m.aggregate_id, w, [&](stock_level& s) { s.reserved -= e.quantity; });
}

void stock_levels_projection::operator()(const reservation_committed& e, const event_meta& m,
                                         projection_writer& w) const {
  update_stock(committed, m.aggregate_id, w, [&](stock_level& s) {
    s.reserved -= e.quantity;
    s.on_hand -= e.quantity;
  });
}

void register_shop(runtime& rt) {
  using namespace domains;
  rt.register_aggregate<orders::order>();
  rt.register_aggregate<inventory::product>();
  rt.register_aggregate<accounts::account>();
  rt.register_process_manager<fulfillment::order_fulfillment, inventory::product, orders::order>();
  add_fulfillment_upcasters(rt.codec<fulfillment::order_fulfillment>());
  rt.register_process_manager<transfers::transfer, accounts::account>();
  transfers::add_upcasters(rt.codec<transfers::transfer>()); // transfers stored before cairn::saga
  rt.add_projection<orders::order>(std::string{orders_by_customer}, orders_by_customer_projection{});
  rt.add_projection<inventory::product>(
    std::string{stock_levels}, stock_levels_projection{[&rt](std::string_view key) {
      auto stored = rt.store().projection_value(projection_key(stock_levels, key));
      if (!stored)
        throw std::runtime_error{stored.error().to_string()}; // caught by the subscription: retried later
      return *stored;
    }});
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
