#include <cairn/domains/account.hpp>

#include <algorithm>
#include <optional>

namespace cairn::domains::accounts {

namespace {

using event = account::event;

std::optional<rejection> check_open(const account& a) {
  if (!a.opened())
    return reject("account does not exist");
  if (a.discarded())
    return reject("account is closed");
  return std::nullopt;
}

std::optional<rejection> check_amount(money amount) {
  if (amount <= money{})
    return reject("amount must be positive, got " + amount.to_string());
  return std::nullopt;
}

std::optional<rejection> check_funds(const account& a, money amount) {
  if (amount > a.balance())
    return reject("insufficient funds: balance " + a.balance().to_string() + ", requested " + amount.to_string());
  return std::nullopt;
}

std::optional<rejection> check_room(const account& a, money amount) {
  if (!checked_add(a.balance(), amount))
    return reject("balance would overflow: " + a.balance().to_string() + " + " + amount.to_string());
  return std::nullopt;
}

std::optional<rejection> check_transfer(const account& a, const std::string& transfer_id, transfer_step step) {
  if (transfer_id.empty())
    return reject("transfer_id must not be empty");
  if (a.remembers(transfer_id, step))
    return reject("transfer '" + transfer_id + "' already processed (" + std::string{to_string(step)} + ")");
  return std::nullopt;
}

} // namespace

std::string_view to_string(transfer_step step) noexcept {
  switch (step) {
    case transfer_step::debit:
      return "debit";
    case transfer_step::credit:
      return "credit";
    case transfer_step::refund:
      return "refund";
  }
  return "unknown";
}

bool account::remembers(std::string_view transfer_id, transfer_step step) const noexcept {
  return std::ranges::any_of(recent_transfers_, [&](const transfer_record& r) {
    return r.step == step && r.transfer_id == transfer_id;
  });
}

void account::remember(std::string transfer_id, transfer_step step) {
  if (recent_transfers_.size() < max_remembered_transfers) {
    recent_transfers_.push_back(transfer_record{std::move(transfer_id), step});
    return;
  }
  recent_transfers_[oldest_transfer_] = transfer_record{std::move(transfer_id), step};
  oldest_transfer_ = static_cast<std::uint32_t>((oldest_transfer_ + 1) % max_remembered_transfers);
}

decision<event> account::handle(const open_account& cmd) const {
  if (opened_)
    return reject("account already exists");
  if (cmd.owner.empty())
    return reject("owner must not be empty");
  return event{account_opened{cmd.owner}};
}

decision<event> account::handle(const deposit& cmd) const {
  if (auto why = check_open(*this))
    return *why;
  if (auto why = check_amount(cmd.amount))
    return *why;
  if (auto why = check_room(*this, cmd.amount))
    return *why;
  return event{money_deposited{cmd.amount}};
}

decision<event> account::handle(const withdraw& cmd) const {
  if (auto why = check_open(*this))
    return *why;
  if (auto why = check_amount(cmd.amount))
    return *why;
  if (auto why = check_funds(*this, cmd.amount))
    return *why;
  return event{money_withdrawn{cmd.amount}};
}

decision<event> account::handle(const debit& cmd) const {
  if (auto why = check_open(*this))
    return *why;
  if (auto why = check_transfer(*this, cmd.transfer_id, transfer_step::debit))
    return *why;
  if (auto why = check_amount(cmd.amount))
    return *why;
  if (auto why = check_funds(*this, cmd.amount))
    return *why;
  return event{transfer_debited{cmd.transfer_id, cmd.amount}};
}

decision<event> account::handle(const credit& cmd) const {
  if (auto why = check_open(*this))
    return *why;
  if (auto why = check_transfer(*this, cmd.transfer_id, transfer_step::credit))
    return *why;
  if (auto why = check_amount(cmd.amount))
    return *why;
  if (auto why = check_room(*this, cmd.amount))
    return *why;
  return event{transfer_credited{cmd.transfer_id, cmd.amount}};
}

decision<event> account::handle(const refund& cmd) const {
  if (auto why = check_open(*this))
    return *why;
  if (auto why = check_transfer(*this, cmd.transfer_id, transfer_step::refund))
    return *why;
  if (auto why = check_amount(cmd.amount))
    return *why;
  if (auto why = check_room(*this, cmd.amount))
    return *why;
  return event{transfer_refunded{cmd.transfer_id, cmd.amount}};
}

decision<event> account::handle(const close_account&) const {
  if (auto why = check_open(*this))
    return *why;
  if (balance_ != money{})
    return reject("balance must be zero to close the account, is " + balance_.to_string());
  return event{account_closed{}};
}

void account::apply(const account_opened& e) {
  opened_ = true;
  owner_ = e.owner;
}

void account::apply(const money_deposited& e) {
  balance_.minor_units += e.amount.minor_units;
}

void account::apply(const money_withdrawn& e) {
  balance_.minor_units -= e.amount.minor_units;
}

void account::apply(const transfer_debited& e) {
  balance_.minor_units -= e.amount.minor_units;
  remember(e.transfer_id, transfer_step::debit);
}

void account::apply(const transfer_credited& e) {
  balance_.minor_units += e.amount.minor_units;
  remember(e.transfer_id, transfer_step::credit);
}

void account::apply(const transfer_refunded& e) {
  balance_.minor_units += e.amount.minor_units;
  remember(e.transfer_id, transfer_step::refund);
}

void account::apply(const account_closed&) {
  closed_ = true;
}

} // namespace cairn::domains::accounts
