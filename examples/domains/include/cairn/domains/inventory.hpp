// The inventory domain: one product's stock, and the units reserved on it for orders (by the order saga).
//
// The product's id is the id of its aggregate_root; orders are referred to by id only.
//
// Thread-safety: plain values and one aggregate type without synchronisation; a product instance belongs to one
// thread (or actor) at a time.
#pragma once

#include <cairn/aggregate.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace cairn::domains::inventory {

/// Units of a product held back for one order.
struct reservation {
  std::string order_id;
  std::int64_t quantity = 0;

  friend bool operator==(const reservation&, const reservation&) = default;
};

template <class Inspector>
auto inspect(Inspector& f, reservation& x) {
  return f(x.order_id, x.quantity);
}

// ---- commands ----

/// Brings a product into the inventory with some stock (zero allowed).
struct register_product {
  static constexpr bool creates_aggregate = true;
  std::string sku;
  std::int64_t initial_stock = 0;

  friend bool operator==(const register_product&, const register_product&) = default;
};

/// Receives units into stock.
struct add_stock {
  std::int64_t quantity = 0;

  friend bool operator==(const add_stock&, const add_stock&) = default;
};

/// Holds back available units for an order; one reservation per order.
struct reserve {
  std::string order_id;
  std::int64_t quantity = 0;

  friend bool operator==(const reserve&, const reserve&) = default;
};

/// Gives an order's reserved units back to the available stock.
struct release {
  std::string order_id;

  friend bool operator==(const release&, const release&) = default;
};

/// An order's reserved units leave the stock for good (shipped).
struct commit_reservation {
  std::string order_id;

  friend bool operator==(const commit_reservation&, const commit_reservation&) = default;
};

template <class Inspector>
auto inspect(Inspector& f, register_product& x) {
  return f(x.sku, x.initial_stock);
}

template <class Inspector>
auto inspect(Inspector& f, add_stock& x) {
  return f(x.quantity);
}

template <class Inspector>
auto inspect(Inspector& f, reserve& x) {
  return f(x.order_id, x.quantity);
}

template <class Inspector>
auto inspect(Inspector& f, release& x) {
  return f(x.order_id);
}

template <class Inspector>
auto inspect(Inspector& f, commit_reservation& x) {
  return f(x.order_id);
}

// ---- events ----

/// The product exists, with `initial_stock` units on hand.
struct product_registered {
  static constexpr std::string_view event_type = "product.registered";
  static constexpr std::uint32_t schema_version = 1;
  std::string sku;
  std::int64_t initial_stock = 0;

  friend bool operator==(const product_registered&, const product_registered&) = default;
};

/// `quantity` units arrived.
struct stock_added {
  static constexpr std::string_view event_type = "product.stock_added";
  static constexpr std::uint32_t schema_version = 1;
  std::int64_t quantity = 0;

  friend bool operator==(const stock_added&, const stock_added&) = default;
};

/// `quantity` units are held back for an order.
struct stock_reserved {
  static constexpr std::string_view event_type = "product.stock_reserved";
  static constexpr std::uint32_t schema_version = 1;
  std::string order_id;
  std::int64_t quantity = 0;

  friend bool operator==(const stock_reserved&, const stock_reserved&) = default;
};

/// Carries the released quantity so that subscribers need not remember the reservation.
struct reservation_released {
  static constexpr std::string_view event_type = "product.reservation_released";
  static constexpr std::uint32_t schema_version = 1;
  std::string order_id;
  std::int64_t quantity = 0;

  friend bool operator==(const reservation_released&, const reservation_released&) = default;
};

/// Carries the committed quantity so that subscribers need not remember the reservation.
struct reservation_committed {
  static constexpr std::string_view event_type = "product.reservation_committed";
  static constexpr std::uint32_t schema_version = 1;
  std::string order_id;
  std::int64_t quantity = 0;

  friend bool operator==(const reservation_committed&, const reservation_committed&) = default;
};

template <class Inspector>
auto inspect(Inspector& f, product_registered& x) {
  return f(x.sku, x.initial_stock);
}

template <class Inspector>
auto inspect(Inspector& f, stock_added& x) {
  return f(x.quantity);
}

template <class Inspector>
auto inspect(Inspector& f, stock_reserved& x) {
  return f(x.order_id, x.quantity);
}

template <class Inspector>
auto inspect(Inspector& f, reservation_released& x) {
  return f(x.order_id, x.quantity);
}

template <class Inspector>
auto inspect(Inspector& f, reservation_committed& x) {
  return f(x.order_id, x.quantity);
}

// ---- the aggregate ----

/// A product's stock. Invariants: 0 <= reserved() <= on_hand(), so available() is never negative; an order holds
/// at most one reservation; every quantity moved is positive.
class product {
public:
  using command = std::variant<register_product, add_stock, reserve, release, commit_reservation>;
  using event =
    std::variant<product_registered, stock_added, stock_reserved, reservation_released, reservation_committed>;

  static constexpr std::string_view type_name = "product";
  static constexpr std::uint32_t snapshot_version = 1;

  decision<event> handle(const register_product& cmd) const;
  decision<event> handle(const add_stock& cmd) const;
  decision<event> handle(const reserve& cmd) const;
  decision<event> handle(const release& cmd) const;
  decision<event> handle(const commit_reservation& cmd) const;

  void apply(const product_registered& e);
  void apply(const stock_added& e);
  void apply(const stock_reserved& e);
  void apply(const reservation_released& e);
  void apply(const reservation_committed& e);

  /// True once registered; the other views mean something only then.
  bool registered() const noexcept {
    return registered_;
  }

  const std::string& sku() const noexcept {
    return sku_;
  }

  /// Units in the warehouse, reserved or not.
  std::int64_t on_hand() const noexcept {
    return on_hand_;
  }

  /// Units held back for orders.
  std::int64_t reserved() const noexcept;

  /// Units that may still be reserved: on_hand() - reserved().
  std::int64_t available() const noexcept {
    return on_hand_ - reserved();
  }

  /// The units reserved for an order (0 when it holds none).
  std::int64_t reservation_for(std::string_view order_id) const noexcept;

  std::span<const reservation> reservations() const noexcept {
    return reservations_;
  }

  friend bool operator==(const product&, const product&) = default;

  template <class Inspector>
  friend auto inspect(Inspector& f, product& x) {
    return f(x.registered_, x.sku_, x.on_hand_, x.reservations_);
  }

private:
  bool registered_ = false;
  std::string sku_;
  std::int64_t on_hand_ = 0;
  std::vector<reservation> reservations_;
};

} // namespace cairn::domains::inventory
