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

transfer::command transfer::result_command(std::uint64_t step, bool accepted, std::string_view message) {
  return record_result{step, accepted, std::string{message}};
}

bool transfer::took_effect(const record_result& result, accounts::transfer_step step) const {
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

decision<event> transfer::handle(const record_result& cmd) const {
  if (!started_)
    return reject("transfer does not exist");
  if (cmd.step != due_step_)
    return std::vector<event>{}; // unknown, or already recorded: a repeat records nothing
  switch (cmd.step) {
    case debit_step:
      if (took_effect(cmd, accounts::transfer_step::debit))
        return event{debit_accepted{}};
      return event{debit_refused{refusal("debit", from_, cmd.message)}};
    case credit_step:
      if (took_effect(cmd, accounts::transfer_step::credit))
        return event{credit_accepted{}};
      return event{credit_refused{refusal("credit", to_, cmd.message)}};
    case refund_step:
      if (took_effect(cmd, accounts::transfer_step::refund))
        return event{refund_accepted{}};
      return event{refund_refused{refusal("refund", from_, cmd.message)}};
    default:
      return std::vector<event>{};
  }
}

std::vector<outgoing_command<transfer::outgoing>> transfer::outbox() const {
  switch (due_step_) {
    case debit_step:
      return {{debit_step, from_, accounts::debit{transfer_id_, amount_}}};
    case credit_step:
      return {{credit_step, to_, accounts::credit{transfer_id_, amount_}}};
    case refund_step:
      return {{refund_step, from_, accounts::refund{transfer_id_, amount_}}};
    default:
      return {};
  }
}

void transfer::apply(const transfer_started& e) {
  started_ = true;
  transfer_id_ = e.transfer_id;
  from_ = e.from;
  to_ = e.to;
  amount_ = e.amount;
  status_ = transfer_status::pending;
  due_step_ = debit_step;
}

void transfer::apply(const debit_accepted&) {
  due_step_ = credit_step;
}

void transfer::apply(const debit_refused& e) {
  add_reason(reason_, e.reason);
  status_ = transfer_status::failed;
  due_step_ = 0;
}

void transfer::apply(const credit_accepted&) {
  status_ = transfer_status::completed;
  due_step_ = 0;
}

void transfer::apply(const credit_refused& e) {
  add_reason(reason_, e.reason);
  due_step_ = refund_step;
}

void transfer::apply(const refund_accepted&) {
  status_ = transfer_status::compensated;
  due_step_ = 0;
}

void transfer::apply(const refund_refused& e) {
  add_reason(reason_, e.reason);
  status_ = transfer_status::failed;
  stranded_ = true;
  due_step_ = 0;
}

} // namespace cairn::domains::transfers
