#include <cairn/domains/transfer.hpp>

namespace cairn::domains::transfers {

namespace {

using event = transfer::event;

// "debit of 'acc-1' refused: insufficient funds: ..." (the message may be empty).
std::string refusal(std::string_view what, const std::string& account, const std::string& message) {
  std::string text = std::string{what} + " of '" + account + "' refused";
  if (!message.empty())
    text += ": " + message;
  return text;
}

void add_reason(std::string& reason, const std::string& more) {
  if (!reason.empty())
    reason += "; ";
  reason += more;
}

} // namespace

std::string_view to_string(transfer_status status) noexcept {
  switch (status) {
    case transfer_status::pending:
      return "pending";
    case transfer_status::completed:
      return "completed";
    case transfer_status::failed:
      return "failed";
    case transfer_status::compensated:
      return "compensated";
  }
  return "unknown";
}

bool transfer::took_effect(const saga_result& result, accounts::transfer_step step) const {
  if (result.accepted)
    return true;
  // The account's answer to a step it already applied (see account.hpp): the step did take effect.
  const std::string already =
    "transfer '" + transfer_id_ + "' already processed (" + std::string{accounts::to_string(step)} + ")";
  return result.message.find(already) != std::string::npos;
}

decision<event> transfer::handle(const start_transfer& cmd) const {
  if (started_)
    return reject("transfer already exists");
  if (cmd.transfer_id.empty())
    return reject("transfer_id must not be empty");
  if (cmd.from.empty())
    return reject("from must not be empty");
  if (cmd.to.empty())
    return reject("to must not be empty");
  if (cmd.from == cmd.to)
    return reject("from and to must differ, both are '" + cmd.from + "'");
  if (cmd.amount <= money{})
    return reject("amount must be positive, got " + cmd.amount.to_string());
  return event{transfer_started{cmd.transfer_id, cmd.from, cmd.to, cmd.amount}};
}

std::vector<event> transfer::on_result(const accounts::debit&, const saga_result& answer) const {
  if (took_effect(answer, accounts::transfer_step::debit))
    return {debit_accepted{}};
  return {debit_refused{refusal("debit", from_, answer.message)}};
}

std::vector<event> transfer::on_result(const accounts::credit&, const saga_result& answer) const {
  if (took_effect(answer, accounts::transfer_step::credit))
    return {credit_accepted{}};
  return {credit_refused{refusal("credit", to_, answer.message)}};
}

std::vector<event> transfer::on_result(const accounts::refund&, const saga_result& answer) const {
  if (took_effect(answer, accounts::transfer_step::refund))
    return {refund_accepted{}};
  return {refund_refused{refusal("refund", from_, answer.message)}};
}

void transfer::apply(const transfer_started& e) {
  started_ = true;
  transfer_id_ = e.transfer_id;
  from_ = e.from;
  to_ = e.to;
  amount_ = e.amount;
  status_ = transfer_status::pending;
  send(from_, accounts::debit{transfer_id_, amount_});
}

void transfer::apply(const debit_accepted&) {
  send(to_, accounts::credit{transfer_id_, amount_});
}

void transfer::apply(const debit_refused& e) {
  add_reason(reason_, e.reason);
  status_ = transfer_status::failed;
}

void transfer::apply(const credit_accepted&) {
  status_ = transfer_status::completed;
}

void transfer::apply(const credit_refused& e) {
  add_reason(reason_, e.reason);
  send(from_, accounts::refund{transfer_id_, amount_});
}

void transfer::apply(const refund_accepted&) {
  status_ = transfer_status::compensated;
}

void transfer::apply(const refund_refused& e) {
  add_reason(reason_, e.reason);
  status_ = transfer_status::failed;
  stranded_ = true;
}

} // namespace cairn::domains::transfers
