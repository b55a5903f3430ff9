// The order domain: a customer's order of product lines, drafted, submitted, then confirmed or rejected (by the
// stock saga). It is the worked example of docs/aggregates.md.
//
// The order's id is the id of its aggregate_root; the order refers to its customer and products by id only.
//
// Thread-safety: plain values and one aggregate type without synchronisation; an order instance belongs to one
// thread (or actor) at a time.
#pragma once

#include <cairn/aggregate.hpp>
#include <cairn/money.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace cairn::domains::orders {

/// The most an order may total (10,000.00); an order of exactly this total is allowed.
inline constexpr money max_order_total = money::from_minor(1'000'000);

/// The most lines an order may hold. It keeps the aggregate small: with ids and names of 200 bytes, the largest
/// `order.submitted` event (it carries every line) stays near 4 MiB, well under the store's 16 MiB per append.
inline constexpr std::size_t max_order_lines = 10'000;

/// One line of an order: a quantity of one product at a unit price.
struct order_line {
  std::string product_id;
  std::string name;
  std::int64_t quantity = 0;
  money unit_price;

  /// quantity * unit_price. Every line an order accepted fits; for a line built by hand whose product overflows,
  /// throws std::bad_optional_access rather than wrap.
  money total() const;

  friend bool operator==(const order_line&, const order_line&) = default;
};

template <class Inspector>
auto inspect(Inspector& f, order_line& x) {
  return f(x.product_id, x.name, x.quantity, x.unit_price);
}

/// Where an order is in its life. New values go at the end: the numbers are stored.
enum class order_status : std::uint8_t {
  draft,     ///< lines may be added and removed
  submitted, ///< waiting for the stock saga
  confirmed, ///< stock reserved
  rejected,  ///< stock could not be reserved (or the order was refused otherwise)
};

/// "draft", "submitted", "confirmed" or "rejected".
std::string_view to_string(order_status status) noexcept;

// ---- commands ----

/// Opens a draft order for a customer.
struct create_order {
  static constexpr bool creates_aggregate = true;
  std::string customer_id;

  friend bool operator==(const create_order&, const create_order&) = default;
};

/// Adds a line to a draft order (several lines may name the same product).
struct add_line {
  std::string product_id;
  std::string name;
  std::int64_t quantity = 0;
  money unit_price;

  friend bool operator==(const add_line&, const add_line&) = default;
};

/// Removes every line of a product from a draft order.
struct remove_line {
  std::string product_id;

  friend bool operator==(const remove_line&, const remove_line&) = default;
};

/// Submits a non-empty draft order.
struct submit_order {
  friend bool operator==(const submit_order&, const submit_order&) = default;
};

/// Confirms a submitted order (its stock is reserved).
struct confirm_order {
  friend bool operator==(const confirm_order&, const confirm_order&) = default;
};

/// Rejects a submitted order, saying why.
struct reject_order {
  std::string reason;

  friend bool operator==(const reject_order&, const reject_order&) = default;
};

template <class Inspector>
auto inspect(Inspector& f, create_order& x) {
  return f(x.customer_id);
}

template <class Inspector>
auto inspect(Inspector& f, add_line& x) {
  return f(x.product_id, x.name, x.quantity, x.unit_price);
}

template <class Inspector>
auto inspect(Inspector& f, remove_line& x) {
  return f(x.product_id);
}

template <class Inspector>
auto inspect(Inspector& f, submit_order&) {
  return f();
}

template <class Inspector>
auto inspect(Inspector& f, confirm_order&) {
  return f();
}

template <class Inspector>
auto inspect(Inspector& f, reject_order& x) {
  return f(x.reason);
}

// ---- events ----

/// A draft order for a customer exists.
struct order_created {
  static constexpr std::string_view event_type = "order.created";
  static constexpr std::uint32_t schema_version = 1;
  std::string customer_id;

  friend bool operator==(const order_created&, const order_created&) = default;
};

/// A line was added to the draft.
struct line_added {
  static constexpr std::string_view event_type = "order.line_added";
  static constexpr std::uint32_t schema_version = 1;
  std::string product_id;
  std::string name;
  std::int64_t quantity = 0;
  money unit_price;

  friend bool operator==(const line_added&, const line_added&) = default;
};

/// Every line of the product is gone.
struct line_removed {
  static constexpr std::string_view event_type = "order.line_removed";
  static constexpr std::uint32_t schema_version = 1;
  std::string product_id;

  friend bool operator==(const line_removed&, const line_removed&) = default;
};

/// The draft was submitted, with its lines as they now stand: the stock saga learns them from this event alone.
struct order_submitted {
  static constexpr std::string_view event_type = "order.submitted";
  static constexpr std::uint32_t schema_version = 1;
  std::vector<order_line> lines;

  friend bool operator==(const order_submitted&, const order_submitted&) = default;
};

/// The submitted order was confirmed.
struct order_confirmed {
  static constexpr std::string_view event_type = "order.confirmed";
  static constexpr std::uint32_t schema_version = 1;

  friend bool operator==(const order_confirmed&, const order_confirmed&) = default;
};

/// The submitted order was rejected, for `reason`.
struct order_rejected {
  static constexpr std::string_view event_type = "order.rejected";
  static constexpr std::uint32_t schema_version = 1;
  std::string reason;

  friend bool operator==(const order_rejected&, const order_rejected&) = default;
};

template <class Inspector>
auto inspect(Inspector& f, order_created& x) {
  return f(x.customer_id);
}

template <class Inspector>
auto inspect(Inspector& f, line_added& x) {
  return f(x.product_id, x.name, x.quantity, x.unit_price);
}

template <class Inspector>
auto inspect(Inspector& f, line_removed& x) {
  return f(x.product_id);
}

template <class Inspector>
auto inspect(Inspector& f, order_submitted& x) {
  return f(x.lines);
}

template <class Inspector>
auto inspect(Inspector& f, order_confirmed&) {
  return f();
}

template <class Inspector>
auto inspect(Inspector& f, order_rejected& x) {
  return f(x.reason);
}

// ---- the aggregate ----

/// An order. Invariants: only a draft changes its lines; a draft never totals more than max_order_total nor
/// holds more than max_order_lines lines; only a non-empty draft is submitted; only a submitted order is confirmed or rejected.
class order {
public:
  using command = std::variant<create_order, add_line, remove_line, submit_order, confirm_order, reject_order>;
  using event =
    std::variant<order_created, line_added, line_removed, order_submitted, order_confirmed, order_rejected>;

  static constexpr std::string_view type_name = "order";
  static constexpr std::uint32_t snapshot_version = 1;

  decision<event> handle(const create_order& cmd) const;
  decision<event> handle(const add_line& cmd) const;
  decision<event> handle(const remove_line& cmd) const;
  decision<event> handle(const submit_order& cmd) const;
  decision<event> handle(const confirm_order& cmd) const;
  decision<event> handle(const reject_order& cmd) const;

  void apply(const order_created& e);
  void apply(const line_added& e);
  void apply(const line_removed& e);
  void apply(const order_submitted& e);
  void apply(const order_confirmed& e);
  void apply(const order_rejected& e);

  /// True once created; the other views mean something only then.
  bool created() const noexcept {
    return created_;
  }

  const std::string& customer_id() const noexcept {
    return customer_id_;
  }

  std::span<const order_line> lines() const noexcept {
    return lines_;
  }

  order_status status() const noexcept {
    return status_;
  }

  /// Why the order was rejected; empty unless status() is rejected.
  const std::string& rejection_reason() const noexcept {
    return rejection_reason_;
  }

  /// The sum of the line totals (at most max_order_total).
  money total() const;

  friend bool operator==(const order&, const order&) = default;

  template <class Inspector>
  friend auto inspect(Inspector& f, order& x) {
    return f(x.created_, x.customer_id_, x.lines_, x.status_, x.rejection_reason_);
  }

private:
  bool created_ = false;
  std::string customer_id_;
  std::vector<order_line> lines_;
  order_status status_ = order_status::draft;
  std::string rejection_reason_;
};

} // namespace cairn::domains::orders
