// The transfer saga: a process manager (see process_manager.hpp) that moves money between two accounts, and gives
// the money back when it cannot reach the destination.
//
// One instance per transfer; it is started by a command (start_transfer, sent by a client to the transfer's id),
// not by an input event. Its steps have fixed numbers, part of the stored format (targets remember (instance,
// step)), never to be changed:
//
//   step 1  debit{transfer_id, amount}  to `from`   refused -> failed (nothing moved)        accepted -> step 2
//   step 2  credit{transfer_id, amount} to `to`     refused -> step 3 (compensate)           accepted -> completed
//   step 3  refund{transfer_id, amount} to `from`   refused -> failed, the money is stranded accepted -> compensated
//
// The saga is run by the framework (saga.hpp): it numbers the steps in the order they are sent, which gives the
// numbers above. A step is refused, for instance, when the account is closed or does not exist (the runtime
// answers not_found, which reaches on_result as a refusal). A refusal saying that the account already processed
// this step of this transfer ("transfer 'T' already processed (debit)") is taken as acceptance: the step took
// effect earlier.
//
// Transfers stored before the transfer ran on the framework recorded each answer with its event alone (schema
// version 1, no step_answered): transfer_upgrade.hpp has the upcasters that load them, to be added to the
// transfer's codec (shop::register_shop does).
//
// Thread-safety: plain values and one aggregate type without synchronisation; an instance belongs to one thread
// (or actor) at a time.
#pragma once

#include <cairn/aggregate.hpp>
#include <cairn/domains/account.hpp>
#include <cairn/money.hpp>
#include <cairn/saga.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <variant>
#include <vector>

namespace cairn::domains::transfers {

/// The fixed step numbers (stored: never change them).
inline constexpr std::uint64_t debit_step = 1;
inline constexpr std::uint64_t credit_step = 2;
inline constexpr std::uint64_t refund_step = 3;

/// Where a transfer is. New values go at the end: the numbers are stored.
enum class transfer_status : std::uint8_t {
  pending,     ///< debiting, crediting or refunding
  completed,   ///< the money moved from `from` to `to`
  failed,      ///< the debit was refused (nothing moved), or the refund was (see stranded())
  compensated, ///< the credit was refused and the debit refunded: nothing moved in the end
};

/// "pending", "completed", "failed" or "compensated".
std::string_view to_string(transfer_status status) noexcept;

// ---- commands ----

/// Starts a transfer; `transfer_id` must be the instance's id (the accounts remember it with each step).
struct start_transfer {
  static constexpr bool creates_aggregate = true;
  std::string transfer_id;
  std::string from;
  std::string to;
  money amount;

  friend bool operator==(const start_transfer&, const start_transfer&) = default;
};

template <class Inspector>
auto inspect(Inspector& f, start_transfer& x) {
  return f(x.transfer_id, x.from, x.to, x.amount);
}

// ---- events ----

/// The transfer started: the debit (step 1) is due.
struct transfer_started {
  static constexpr std::string_view event_type = "transfer.started";
  static constexpr std::uint32_t schema_version = 1;
  std::string transfer_id;
  std::string from;
  std::string to;
  money amount;

  friend bool operator==(const transfer_started&, const transfer_started&) = default;
};

/// `from` was debited: the credit (step 2) is due.
struct debit_accepted {
  static constexpr std::string_view event_type = "transfer.debit_accepted";
  /// 2: recorded after the framework's step_answered (1: alone, see transfer_upgrade.hpp).
  static constexpr std::uint32_t schema_version = 2;

  friend bool operator==(const debit_accepted&, const debit_accepted&) = default;
};

/// `from` refused the debit: the transfer failed, nothing moved.
struct debit_refused {
  static constexpr std::string_view event_type = "transfer.debit_refused";
  /// 2: recorded after the framework's step_answered (1: alone, see transfer_upgrade.hpp).
  static constexpr std::uint32_t schema_version = 2;
  std::string reason;

  friend bool operator==(const debit_refused&, const debit_refused&) = default;
};

/// `to` was credited: the transfer completed.
struct credit_accepted {
  static constexpr std::string_view event_type = "transfer.credit_accepted";
  /// 2: recorded after the framework's step_answered (1: alone, see transfer_upgrade.hpp).
  static constexpr std::uint32_t schema_version = 2;

  friend bool operator==(const credit_accepted&, const credit_accepted&) = default;
};

/// `to` refused the credit: the refund (step 3) is due.
struct credit_refused {
  static constexpr std::string_view event_type = "transfer.credit_refused";
  /// 2: recorded after the framework's step_answered (1: alone, see transfer_upgrade.hpp).
  static constexpr std::uint32_t schema_version = 2;
  std::string reason;

  friend bool operator==(const credit_refused&, const credit_refused&) = default;
};

/// `from` got its money back: the transfer is compensated.
struct refund_accepted {
  static constexpr std::string_view event_type = "transfer.refund_accepted";
  /// 2: recorded after the framework's step_answered (1: alone, see transfer_upgrade.hpp).
  static constexpr std::uint32_t schema_version = 2;

  friend bool operator==(const refund_accepted&, const refund_accepted&) = default;
};

/// `from` refused the refund: the transfer failed with the money debited and not returned.
struct refund_refused {
  static constexpr std::string_view event_type = "transfer.refund_refused";
  /// 2: recorded after the framework's step_answered (1: alone, see transfer_upgrade.hpp).
  static constexpr std::uint32_t schema_version = 2;
  std::string reason;

  friend bool operator==(const refund_refused&, const refund_refused&) = default;
};

template <class Inspector>
auto inspect(Inspector& f, transfer_started& x) {
  return f(x.transfer_id, x.from, x.to, x.amount);
}

template <class Inspector>
auto inspect(Inspector& f, debit_accepted&) {
  return f();
}

template <class Inspector>
auto inspect(Inspector& f, debit_refused& x) {
  return f(x.reason);
}

template <class Inspector>
auto inspect(Inspector& f, credit_accepted&) {
  return f();
}

template <class Inspector>
auto inspect(Inspector& f, credit_refused& x) {
  return f(x.reason);
}

template <class Inspector>
auto inspect(Inspector& f, refund_accepted&) {
  return f();
}

template <class Inspector>
auto inspect(Inspector& f, refund_refused& x) {
  return f(x.reason);
}

// ---- the process manager ----

/// One transfer. Invariants: from != to, the amount is positive; at most one step is due at a time, and steps
/// follow 1 -> 2 (-> 3); the refund is sent only after the debit was accepted and the credit refused; an answer is
/// recorded once.
///
/// After the transfer ends, a result is accepted and records nothing (it can only be a repeat), and start_transfer
/// is rejected. The saga is never discarded, so that a late repeated result is not refused by the runtime.
class transfer : public saga<transfer, std::variant<accounts::debit, accounts::credit, accounts::refund>> {
public:
  using command = std::variant<start_transfer, saga_result>;
  using event = std::variant<transfer_started, debit_accepted, debit_refused, credit_accepted, credit_refused,
                             refund_accepted, refund_refused, step_answered<transfer>>;
  using inputs = std::tuple<>;

  static constexpr std::string_view type_name = "transfer";
  /// 2: the outbox is the framework's (saga.hpp).
  static constexpr std::uint32_t snapshot_version = 2;

  using saga::apply;
  using saga::handle;

  decision<event> handle(const start_transfer& cmd) const;

  /// What the answer to each step causes.
  std::vector<event> on_result(const accounts::debit& sent, const saga_result& answer) const;
  std::vector<event> on_result(const accounts::credit& sent, const saga_result& answer) const;
  std::vector<event> on_result(const accounts::refund& sent, const saga_result& answer) const;

  void apply(const transfer_started& e);
  void apply(const debit_accepted& e);
  void apply(const debit_refused& e);
  void apply(const credit_accepted& e);
  void apply(const credit_refused& e);
  void apply(const refund_accepted& e);
  void apply(const refund_refused& e);

  /// True once started; the other views mean something only then.
  bool started() const noexcept {
    return started_;
  }

  const std::string& transfer_id() const noexcept {
    return transfer_id_;
  }

  const std::string& from() const noexcept {
    return from_;
  }

  const std::string& to() const noexcept {
    return to_;
  }

  money amount() const noexcept {
    return amount_;
  }

  transfer_status status() const noexcept {
    return status_;
  }

  /// The step whose answer is awaited (debit_step, credit_step or refund_step); 0 once the transfer has ended.
  std::uint64_t due_step() const noexcept {
    return saga_state().first_due();
  }

  /// Each refusal so far, joined by "; ": why the transfer failed, or is being or was compensated. Empty while
  /// nothing was refused, and for a completed transfer.
  const std::string& reason() const noexcept {
    return reason_;
  }

  /// True when the transfer ended with `amount` debited from `from` and neither credited nor refunded (the refund
  /// was refused): the money needs an operator.
  bool stranded() const noexcept {
    return stranded_;
  }

  friend bool operator==(const transfer&, const transfer&) = default;

  template <class Inspector>
  friend auto inspect(Inspector& f, transfer& x) {
    return f(x.saga_state(), x.started_, x.transfer_id_, x.from_, x.to_, x.amount_, x.status_, x.reason_,
             x.stranded_);
  }

private:
  bool took_effect(const saga_result& result, accounts::transfer_step step) const;

  bool started_ = false;
  std::string transfer_id_;
  std::string from_;
  std::string to_;
  money amount_;
  transfer_status status_ = transfer_status::pending;
  std::string reason_;
  bool stranded_ = false;
};

} // namespace cairn::domains::transfers
