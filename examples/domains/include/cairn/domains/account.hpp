// The account domain: a bank account that never goes overdrawn, with the debit/credit/refund steps that the
// transfer saga sends it.
//
// The account's id is the id of its aggregate_root; transfers are referred to by id only. To stop a transfer step
// from being applied twice, the account remembers its last max_remembered_transfers transfer steps
// (a bounded window, so that a busy account's state stays small). The exactly-once delivery of the saga's
// commands (guarantee 7) is the main defence; this window catches a step repeated soon after, which is when a
// retry happens. A step older than the window is no longer recognised.
//
// Thread-safety: plain values and one aggregate type without synchronisation; an account instance belongs to one
// thread (or actor) at a time.
#pragma once

#include <cairn/aggregate.hpp>
#include <cairn/money.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace cairn::domains::accounts {

/// How many transfer steps an account remembers, to reject a repeated one.
inline constexpr std::size_t max_remembered_transfers = 128;

/// The steps of a transfer that touch an account. New values go at the end: the numbers are stored.
enum class transfer_step : std::uint8_t {
  debit,  ///< money leaves the source account
  credit, ///< money reaches the destination account
  refund, ///< a debit given back to the source account when the credit failed
};

/// "debit", "credit" or "refund".
std::string_view to_string(transfer_step step) noexcept;

/// One transfer step the account has processed.
struct transfer_record {
  std::string transfer_id;
  transfer_step step = transfer_step::debit;

  friend bool operator==(const transfer_record&, const transfer_record&) = default;
};

template <class Inspector>
auto inspect(Inspector& f, transfer_record& x) {
  return f(x.transfer_id, x.step);
}

// ---- commands ----

/// Opens an account with a zero balance.
struct open_account {
  static constexpr bool creates_aggregate = true;
  std::string owner;

  friend bool operator==(const open_account&, const open_account&) = default;
};

/// Puts money into the account.
struct deposit {
  money amount;

  friend bool operator==(const deposit&, const deposit&) = default;
};

/// Takes money out of the account; never below zero.
struct withdraw {
  money amount;

  friend bool operator==(const withdraw&, const withdraw&) = default;
};

/// A withdrawal on behalf of a transfer (its first step, on the source account).
struct debit {
  std::string transfer_id;
  money amount;

  friend bool operator==(const debit&, const debit&) = default;
};

/// A deposit on behalf of a transfer (on the destination account).
struct credit {
  std::string transfer_id;
  money amount;

  friend bool operator==(const credit&, const credit&) = default;
};

/// A deposit giving back a transfer's debit (on the source account, when the credit failed).
struct refund {
  std::string transfer_id;
  money amount;

  friend bool operator==(const refund&, const refund&) = default;
};

/// Closes an account whose balance is zero; a closed account is discarded.
struct close_account {
  friend bool operator==(const close_account&, const close_account&) = default;
};

template <class Inspector>
auto inspect(Inspector& f, open_account& x) {
  return f(x.owner);
}

template <class Inspector>
auto inspect(Inspector& f, deposit& x) {
  return f(x.amount);
}

template <class Inspector>
auto inspect(Inspector& f, withdraw& x) {
  return f(x.amount);
}

template <class Inspector>
auto inspect(Inspector& f, debit& x) {
  return f(x.transfer_id, x.amount);
}

template <class Inspector>
auto inspect(Inspector& f, credit& x) {
  return f(x.transfer_id, x.amount);
}

template <class Inspector>
auto inspect(Inspector& f, refund& x) {
  return f(x.transfer_id, x.amount);
}

template <class Inspector>
auto inspect(Inspector& f, close_account&) {
  return f();
}

// ---- events ----

/// The account exists, with a zero balance.
struct account_opened {
  static constexpr std::string_view event_type = "account.opened";
  static constexpr std::uint32_t schema_version = 1;
  std::string owner;

  friend bool operator==(const account_opened&, const account_opened&) = default;
};

/// The balance grew by `amount`.
struct money_deposited {
  static constexpr std::string_view event_type = "account.deposited";
  static constexpr std::uint32_t schema_version = 1;
  money amount;

  friend bool operator==(const money_deposited&, const money_deposited&) = default;
};

/// The balance shrank by `amount`.
struct money_withdrawn {
  static constexpr std::string_view event_type = "account.withdrawn";
  static constexpr std::uint32_t schema_version = 1;
  money amount;

  friend bool operator==(const money_withdrawn&, const money_withdrawn&) = default;
};

/// The balance shrank by `amount` for a transfer; the step is remembered.
struct transfer_debited {
  static constexpr std::string_view event_type = "account.transfer_debited";
  static constexpr std::uint32_t schema_version = 1;
  std::string transfer_id;
  money amount;

  friend bool operator==(const transfer_debited&, const transfer_debited&) = default;
};

/// The balance grew by `amount` for a transfer; the step is remembered.
struct transfer_credited {
  static constexpr std::string_view event_type = "account.transfer_credited";
  static constexpr std::uint32_t schema_version = 1;
  std::string transfer_id;
  money amount;

  friend bool operator==(const transfer_credited&, const transfer_credited&) = default;
};

/// A transfer's debit was given back; the step is remembered.
struct transfer_refunded {
  static constexpr std::string_view event_type = "account.transfer_refunded";
  static constexpr std::uint32_t schema_version = 1;
  std::string transfer_id;
  money amount;

  friend bool operator==(const transfer_refunded&, const transfer_refunded&) = default;
};

/// The account is closed (discarded).
struct account_closed {
  static constexpr std::string_view event_type = "account.closed";
  static constexpr std::uint32_t schema_version = 1;

  friend bool operator==(const account_closed&, const account_closed&) = default;
};

template <class Inspector>
auto inspect(Inspector& f, account_opened& x) {
  return f(x.owner);
}

template <class Inspector>
auto inspect(Inspector& f, money_deposited& x) {
  return f(x.amount);
}

template <class Inspector>
auto inspect(Inspector& f, money_withdrawn& x) {
  return f(x.amount);
}

template <class Inspector>
auto inspect(Inspector& f, transfer_debited& x) {
  return f(x.transfer_id, x.amount);
}

template <class Inspector>
auto inspect(Inspector& f, transfer_credited& x) {
  return f(x.transfer_id, x.amount);
}

template <class Inspector>
auto inspect(Inspector& f, transfer_refunded& x) {
  return f(x.transfer_id, x.amount);
}

template <class Inspector>
auto inspect(Inspector& f, account_closed&) {
  return f();
}

// ---- the aggregate ----

/// An account. Invariants: the balance is never negative; amounts moved are positive; a transfer step is
/// applied once (within the remembered window); only an account with a zero balance closes, and a closed account
/// takes no further command.
class account {
public:
  using command = std::variant<open_account, deposit, withdraw, debit, credit, refund, close_account>;
  using event = std::variant<account_opened, money_deposited, money_withdrawn, transfer_debited, transfer_credited,
                             transfer_refunded, account_closed>;

  static constexpr std::string_view type_name = "account";
  static constexpr std::uint32_t snapshot_version = 1;

  decision<event> handle(const open_account& cmd) const;
  decision<event> handle(const deposit& cmd) const;
  decision<event> handle(const withdraw& cmd) const;
  decision<event> handle(const debit& cmd) const;
  decision<event> handle(const credit& cmd) const;
  decision<event> handle(const refund& cmd) const;
  decision<event> handle(const close_account& cmd) const;

  void apply(const account_opened& e);
  void apply(const money_deposited& e);
  void apply(const money_withdrawn& e);
  void apply(const transfer_debited& e);
  void apply(const transfer_credited& e);
  void apply(const transfer_refunded& e);
  void apply(const account_closed& e);

  /// True once opened (and still after closing); the other views mean something only then.
  bool opened() const noexcept {
    return opened_;
  }

  const std::string& owner() const noexcept {
    return owner_;
  }

  money balance() const noexcept {
    return balance_;
  }

  /// True once closed.
  bool discarded() const noexcept {
    return closed_;
  }

  /// True when this step of this transfer was processed and is still remembered.
  bool remembers(std::string_view transfer_id, transfer_step step) const noexcept;

  /// The remembered transfer steps, in no particular order (at most max_remembered_transfers).
  std::span<const transfer_record> remembered_transfers() const noexcept {
    return recent_transfers_;
  }

  friend bool operator==(const account&, const account&) = default;

  template <class Inspector>
  friend auto inspect(Inspector& f, account& x) {
    return f(x.opened_, x.closed_, x.owner_, x.balance_, x.recent_transfers_, x.oldest_transfer_);
  }

private:
  void remember(std::string transfer_id, transfer_step step);

  bool opened_ = false;
  bool closed_ = false;
  std::string owner_;
  money balance_;
  // A ring once full: oldest_transfer_ is the slot the next step overwrites.
  std::vector<transfer_record> recent_transfers_;
  std::uint32_t oldest_transfer_ = 0;
};

} // namespace cairn::domains::accounts
