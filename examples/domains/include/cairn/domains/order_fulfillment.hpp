// The order fulfillment saga: a process manager (see process_manager.hpp) that turns a submitted order into stock
// reservations, then confirms the order and commits the reservations, or releases them and rejects the order.
//
// One instance per order; its id is the order's id. It is started by the order's `order.submitted` event (route)
// and sends commands to the products and to the order. It is run by the framework (saga.hpp): `apply` sends, the
// framework numbers the steps (in the order sent: the reservations are steps 1..N), keeps the outbox and records
// each answer (`order_fulfillment.step_answered`); `on_result` decides what an answer causes.
//
//   reserving   one reserve{order_id, quantity} per product of the order (lines of the same product merged, since
//               a product holds one reservation per order), all at once. It waits for every answer, so that an
//               acceptance arriving after a refusal is released too.
//   confirming  every reservation accepted: one commit_reservation per product and confirm_order, all at once.
//   releasing   some reservation refused: one release per accepted reservation, all at once.
//   rejecting   every release answered (or nothing to release): reject_order{reason}, naming each refused product
//               and its refusal.
//   confirmed / rejected: every step answered; the outbox is empty for good.
//
// A reserve refused because "order 'O' already holds a reservation" (a repeat that the runtime's dedup did not
// catch) counts as accepted: only this saga reserves for its order. A refused release, commit_reservation,
// confirm_order or reject_order is recorded (with its message, in steps()) and the saga goes on: none of them can
// succeed by being sent again, and nothing after depends on it (see docs/aggregates.md, "Process managers").
//
// Streams written before the saga ran on the framework (steps numbered in the events, `fulfillment.result_recorded`)
// are upcast by the shop (examples/shop/fulfillment_history.hpp); the numbers come out the same.
//
// Thread-safety: plain values and one aggregate type without synchronisation; an instance belongs to one thread
// (or actor) at a time.
#pragma once

#include <cairn/aggregate.hpp>
#include <cairn/domains/inventory.hpp>
#include <cairn/domains/order.hpp>
#include <cairn/saga.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <variant>
#include <vector>

namespace cairn::domains::fulfillment {

/// A quantity of one product that the order needs.
struct fulfillment_line {
  std::string product_id;
  std::int64_t quantity = 0;

  friend bool operator==(const fulfillment_line&, const fulfillment_line&) = default;
};

template <class Inspector>
auto inspect(Inspector& f, fulfillment_line& x) {
  return f(x.product_id, x.quantity);
}

/// Where the saga is. New values go at the end: the numbers are stored.
enum class fulfillment_status : std::uint8_t {
  reserving,  ///< reservations sent, waiting for every answer
  confirming, ///< all reserved: committing the reservations and confirming the order
  releasing,  ///< some reservation refused: releasing the accepted ones
  rejecting,  ///< rejecting the order
  confirmed,  ///< done: the order was confirmed
  rejected,   ///< done: the order was rejected
};

/// "reserving", "confirming", "releasing", "rejecting", "confirmed" or "rejected".
std::string_view to_string(fulfillment_status status) noexcept;

/// What a step sends. New values go at the end: the numbers are stored.
enum class step_kind : std::uint8_t {
  reserve, ///< inventory::reserve to a product
  release, ///< inventory::release to a product
  commit,  ///< inventory::commit_reservation to a product
  confirm, ///< orders::confirm_order to the order
  reject,  ///< orders::reject_order to the order
};

/// "reserve", "release", "commit", "confirm" or "reject".
std::string_view to_string(step_kind kind) noexcept;

/// What became of a step. New values go at the end: the numbers are stored.
enum class step_outcome : std::uint8_t {
  pending,  ///< sent (due in the outbox), no answer yet
  accepted, ///< the target accepted it
  refused,  ///< the target refused it (see the message)
};

/// One command the saga sent, and its answer.
struct fulfillment_step {
  std::uint64_t step = 0;
  step_kind kind = step_kind::reserve;
  std::string target_id;     ///< the product (reserve, release, commit) or the order (confirm, reject)
  std::int64_t quantity = 0; ///< the units to reserve (reserve only; 0 otherwise)
  step_outcome outcome = step_outcome::pending;
  std::string message; ///< the target's answer (a refusal's reason)

  friend bool operator==(const fulfillment_step&, const fulfillment_step&) = default;
};

template <class Inspector>
auto inspect(Inspector& f, fulfillment_step& x) {
  return f(x.step, x.kind, x.target_id, x.quantity, x.outcome, x.message);
}

// ---- commands ----

/// Starts the saga for a submitted order (routed from orders::order_submitted). `order_id` is the instance's id.
struct start_fulfillment {
  static constexpr bool creates_aggregate = true;
  std::string order_id;
  std::vector<fulfillment_line> lines;

  friend bool operator==(const start_fulfillment&, const start_fulfillment&) = default;
};

template <class Inspector>
auto inspect(Inspector& f, start_fulfillment& x) {
  return f(x.order_id, x.lines);
}

// ---- events (version 2: the step numbers are the framework's, no longer in the events) ----

/// The saga started for an order: one reservation per product, in this order. None when the order cannot be
/// reserved at all (then a rejection_scheduled follows in the same command).
struct fulfillment_started {
  static constexpr std::string_view event_type = "fulfillment.started";
  static constexpr std::uint32_t schema_version = 2;
  std::string order_id;
  std::vector<fulfillment_line> reservations;

  friend bool operator==(const fulfillment_started&, const fulfillment_started&) = default;
};

/// Every reservation was accepted: commit each one (the products, in the order reserved), and confirm the order.
struct confirmation_scheduled {
  static constexpr std::string_view event_type = "fulfillment.confirmation_scheduled";
  static constexpr std::uint32_t schema_version = 2;
  std::vector<std::string> commits;

  friend bool operator==(const confirmation_scheduled&, const confirmation_scheduled&) = default;
};

/// Some reservation was refused: release the accepted ones (the products, in the order reserved); the order will
/// be rejected for `reason`.
struct release_scheduled {
  static constexpr std::string_view event_type = "fulfillment.release_scheduled";
  static constexpr std::uint32_t schema_version = 2;
  std::vector<std::string> releases;
  std::string reason;

  friend bool operator==(const release_scheduled&, const release_scheduled&) = default;
};

/// Nothing (more) to release: reject the order for `reason`.
struct rejection_scheduled {
  static constexpr std::string_view event_type = "fulfillment.rejection_scheduled";
  static constexpr std::uint32_t schema_version = 2;
  std::string reason;

  friend bool operator==(const rejection_scheduled&, const rejection_scheduled&) = default;
};

/// Done: the reservations were committed and the order confirmed (each step's answer is in steps()).
struct fulfillment_confirmed {
  static constexpr std::string_view event_type = "fulfillment.confirmed";
  static constexpr std::uint32_t schema_version = 1;

  friend bool operator==(const fulfillment_confirmed&, const fulfillment_confirmed&) = default;
};

/// Done: the accepted reservations were released and the order rejected for `reason`.
struct fulfillment_rejected {
  static constexpr std::string_view event_type = "fulfillment.rejected";
  static constexpr std::uint32_t schema_version = 1;
  std::string reason;

  friend bool operator==(const fulfillment_rejected&, const fulfillment_rejected&) = default;
};

template <class Inspector>
auto inspect(Inspector& f, fulfillment_started& x) {
  return f(x.order_id, x.reservations);
}

template <class Inspector>
auto inspect(Inspector& f, confirmation_scheduled& x) {
  return f(x.commits);
}

template <class Inspector>
auto inspect(Inspector& f, release_scheduled& x) {
  return f(x.releases, x.reason);
}

template <class Inspector>
auto inspect(Inspector& f, rejection_scheduled& x) {
  return f(x.reason);
}

template <class Inspector>
auto inspect(Inspector& f, fulfillment_confirmed&) {
  return f();
}

template <class Inspector>
auto inspect(Inspector& f, fulfillment_rejected& x) {
  return f(x.reason);
}

// ---- the process manager ----

/// The fulfillment of one order. Invariants: the outbox holds exactly the steps without an answer; the order is
/// confirmed only when every reservation was accepted, and rejected only after every accepted reservation was
/// released (or its release answered); an answer is recorded once.
///
/// After the saga is done (confirmed or rejected), a result is accepted and records nothing (it can only be a
/// repeat), and start_fulfillment is rejected. The saga is never discarded, so that a late repeated result is
/// not refused by the runtime.
class order_fulfillment
    : public saga<order_fulfillment, std::variant<inventory::reserve, inventory::release,
                                                  inventory::commit_reservation, orders::confirm_order,
                                                  orders::reject_order>> {
public:
  using command = std::variant<start_fulfillment, saga_result>;
  using event = std::variant<fulfillment_started, confirmation_scheduled, release_scheduled, rejection_scheduled,
                             fulfillment_confirmed, fulfillment_rejected, step_answered<order_fulfillment>>;
  using inputs = std::tuple<orders::order>;

  static constexpr std::string_view type_name = "order_fulfillment";
  /// 3: the outbox is the framework's (saga.hpp).
  static constexpr std::uint32_t snapshot_version = 3;

  /// A submitted order starts its fulfillment: instance id = the order's id.
  static std::optional<routed<command>> route(const orders::order_submitted& e, std::string_view source_id);

  decision<event> handle(const start_fulfillment& cmd) const;
  /// The framework's recording of an answer; refused before the saga started.
  decision<event> handle(const saga_result& answer) const;

  /// What the answer to each step causes: once the last step outstanding is answered, the next phase.
  std::vector<event> on_result(const inventory::reserve& sent, const saga_result& answer) const;
  std::vector<event> on_result(const inventory::release& sent, const saga_result& answer) const;
  std::vector<event> on_result(const inventory::commit_reservation& sent, const saga_result& answer) const;
  std::vector<event> on_result(const orders::confirm_order& sent, const saga_result& answer) const;
  std::vector<event> on_result(const orders::reject_order& sent, const saga_result& answer) const;

  void apply(const fulfillment_started& e);
  void apply(const confirmation_scheduled& e);
  void apply(const release_scheduled& e);
  void apply(const rejection_scheduled& e);
  void apply(const fulfillment_confirmed& e);
  void apply(const fulfillment_rejected& e);
  /// The framework's (the step leaves the outbox), and the answer kept in steps().
  void apply(const step_answered<order_fulfillment>& e);

  /// True once started; the other views mean something only then.
  bool started() const noexcept {
    return started_;
  }

  const std::string& order_id() const noexcept {
    return order_id_;
  }

  fulfillment_status status() const noexcept {
    return status_;
  }

  /// True once confirmed or rejected.
  bool done() const noexcept {
    return status_ == fulfillment_status::confirmed || status_ == fulfillment_status::rejected;
  }

  /// Every step sent so far, in step order, with its answer.
  std::span<const fulfillment_step> steps() const noexcept {
    return steps_;
  }

  /// Why the order is (to be) rejected; empty unless releasing, rejecting or rejected.
  const std::string& rejection_reason() const noexcept {
    return rejection_reason_;
  }

  friend bool operator==(const order_fulfillment&, const order_fulfillment&) = default;

  template <class Inspector>
  friend auto inspect(Inspector& f, order_fulfillment& x) {
    return f(x.saga_state(), x.started_, x.order_id_, x.status_, x.steps_, x.rejection_reason_);
  }

private:
  void send_step(step_kind kind, const std::string& target_id, std::int64_t quantity, outgoing command);
  bool counts_as_accepted(step_kind kind, bool accepted, const std::string& message) const;
  /// True while one step awaits its answer: the one being answered is the last of its phase.
  bool last_outstanding() const noexcept;

  bool started_ = false;
  std::string order_id_;
  fulfillment_status status_ = fulfillment_status::reserving;
  std::vector<fulfillment_step> steps_; ///< in increasing step order
  std::string rejection_reason_;
};

} // namespace cairn::domains::fulfillment
