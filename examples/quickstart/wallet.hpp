// The README's aggregate, compiled and run by the tests (README.md shows this file verbatim between markers).
#pragma once

#include <cairn/aggregate.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace quickstart {

// readme-begin: aggregate
struct open_wallet {
  static constexpr bool creates_aggregate = true;
  std::string owner;
};
struct deposit {
  std::int64_t cents = 0;
};
struct withdraw {
  std::int64_t cents = 0;
};

struct wallet_opened {
  static constexpr std::string_view event_type = "wallet.opened";
  static constexpr std::uint32_t schema_version = 1;
  std::string owner;
  friend bool operator==(const wallet_opened&, const wallet_opened&) = default;
};
struct money_deposited {
  static constexpr std::string_view event_type = "wallet.deposited";
  static constexpr std::uint32_t schema_version = 1;
  std::int64_t cents = 0;
  friend bool operator==(const money_deposited&, const money_deposited&) = default;
};
struct money_withdrawn {
  static constexpr std::string_view event_type = "wallet.withdrawn";
  static constexpr std::uint32_t schema_version = 1;
  std::int64_t cents = 0;
  friend bool operator==(const money_withdrawn&, const money_withdrawn&) = default;
};
template <class F> auto inspect(F& f, open_wallet& x) { return f(x.owner); }
template <class F> auto inspect(F& f, deposit& x) { return f(x.cents); }
template <class F> auto inspect(F& f, withdraw& x) { return f(x.cents); }
template <class F> auto inspect(F& f, wallet_opened& x) { return f(x.owner); }
template <class F> auto inspect(F& f, money_deposited& x) { return f(x.cents); }
template <class F> auto inspect(F& f, money_withdrawn& x) { return f(x.cents); }

class wallet {
public:
  using command = std::variant<open_wallet, deposit, withdraw>;
  using event = std::variant<wallet_opened, money_deposited, money_withdrawn>;
  static constexpr std::string_view type_name = "wallet";

  // Decide: check the invariants against the state, change nothing.
  cairn::decision<event> handle(const open_wallet& c) const {
    if (c.owner.empty())
      return cairn::reject("a wallet has an owner");
    return event{wallet_opened{c.owner}};
  }
  cairn::decision<event> handle(const deposit& c) const {
    if (c.cents <= 0)
      return cairn::reject("a deposit is positive");
    return event{money_deposited{c.cents}};
  }
  cairn::decision<event> handle(const withdraw& c) const {
    if (c.cents <= 0 || c.cents > balance_)
      return cairn::reject("not enough money");
    return event{money_withdrawn{c.cents}};
  }

  // Evolve: apply what happened; never fails.
  void apply(const wallet_opened& e) { owner_ = e.owner; }
  void apply(const money_deposited& e) { balance_ += e.cents; }
  void apply(const money_withdrawn& e) { balance_ -= e.cents; }

  // Read-only views.
  std::int64_t balance() const { return balance_; }
  const std::string& owner() const { return owner_; }

private:
  std::string owner_;
  std::int64_t balance_ = 0;
};
// readme-end: aggregate

} // namespace quickstart
