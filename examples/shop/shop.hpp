// The example shop: orders, products and accounts, the two sagas (order fulfillment with stock, money transfer)
// and two read models, wired onto one cairn runtime. Used by the saga tests, the crash test and the benchmarks.
//
// Read models (projections kept in cairn's store, exactly once in effect):
//   * orders_by_customer: "<customer>/<order id>" for every order created;
//   * stock_levels: "<product id>" -> "<on hand> <reserved>".
//
// Thread-safety: register_shop() before runtime::start(); the queries from any thread.
#pragma once

#include <cairn/domains/inventory.hpp>
#include <cairn/domains/order.hpp>
#include <cairn/runtime/runtime.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <map>
#include <string>
#include <vector>

namespace cairn::shop {

inline constexpr std::string_view orders_by_customer = "orders_by_customer";
inline constexpr std::string_view stock_levels = "stock_levels";

/// Registers the aggregates, the process managers (with the upcasters of transfers stored before cairn::saga, see
/// cairn/domains/transfer_upgrade.hpp) and the projections.
void register_shop(runtime& rt);

/// Reads a read model's committed value of a key (without the projection's prefix).
using projection_lookup = std::function<std::optional<std::string>(std::string_view key)>;

/// The handlers of orders_by_customer (over orders), also usable to rebuild it from the log (typed_events).
struct orders_by_customer_projection {
  void operator()(const domains::orders::order_created& e, const event_meta& m, projection_writer& w) const;
};

/// The handlers of stock_levels (over products); `committed` reads the read model as committed.
struct stock_levels_projection {
  projection_lookup committed;

  void operator()(const domains::inventory::product_registered& e, const event_meta& m, projection_writer& w) const;
  void operator()(const domains::inventory::stock_added& e, const event_meta& m, projection_writer& w) const;
  void operator()(const domains::inventory::stock_reserved& e, const event_meta& m, projection_writer& w) const;
  void operator()(const domains::inventory::reservation_released& e, const event_meta& m,
                  projection_writer& w) const;
  void operator()(const domains::inventory::reservation_committed& e, const event_meta& m,
                  projection_writer& w) const;
};

struct stock_level {
  std::int64_t on_hand = 0;
  std::int64_t reserved = 0;
  friend bool operator==(const stock_level&, const stock_level&) = default;
};

/// The ids of a customer's orders, from the read model.
std::vector<std::string> orders_of(const store::event_store& s, std::string_view customer);

/// A product's stock, from the read model (nullopt when unknown).
std::optional<stock_level> stock_of(const store::event_store& s, std::string_view product);

/// Every key and value of a read model, in key order (for comparisons with a rebuild).
std::map<std::string, std::string> read_model(const store::event_store& s, std::string_view projection);

} // namespace cairn::shop
