// Sagas run by the framework: a process manager (see process_manager.hpp) that only declares what it sends and how
// it reacts to the answers. Step numbers, the outbox, result recording and its idempotence are kept here; sending,
// retrying transient errors (overloaded, timeout, storage_failure, shutting_down, conflict), not passivating with
// commands in flight and resuming open instances after a crash are the runtime's (runtime.hpp,
// register_process_manager).
//
// A saga derives from `cairn::saga<Self, Outgoing>`, adds `cairn::saga_result` to its commands and
// `cairn::step_answered<Self>` to its events, and:
//   * calls `send(target_id, command)` in an `apply` to put a command in the outbox; the framework numbers it (1, 2,
//     3 ... in the order of the instance's history, so replay gives the same numbers);
//   * declares one `std::vector<event> on_result(const C& sent, const saga_result& answer) const` per outgoing
//     command type C (or a template): the domain events the answer causes. It is called once per step: the
//     framework records `step_answered` first (the command leaves the outbox), then those events; a repeated
//     answer records nothing.
//
//   struct pay : cairn::saga<pay, std::variant<accounts::debit>> {
//     using command = std::variant<start_payment, cairn::saga_result>;
//     using event = std::variant<payment_started, payment_done, cairn::step_answered<pay>>;
//     using saga::handle;
//     using saga::apply;
//     decision<event> handle(const start_payment& c) const { return event{payment_started{c.id, c.from, c.amount}}; }
//     void apply(const payment_started& e) { id_ = e.id; send(e.from, accounts::debit{e.id, e.amount}); }
//     void apply(const payment_done&) {}
//     std::vector<event> on_result(const accounts::debit&, const cairn::saga_result& r) const {
//       return {payment_done{r.accepted}};
//     }
//   };
//
// The saga's `inspect` must include `saga_state()` so that snapshots keep the outbox.
//
// Thread-safety: plain values without synchronisation; an instance belongs to one thread (or actor) at a time.
#pragma once

#include <cairn/aggregate.hpp>
#include <cairn/process_manager.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace cairn {

/// The command by which the runtime records the answer to a step a saga sent: accepted, or refused with the
/// target's message.
struct saga_result {
  std::uint64_t step = 0;
  bool accepted = false;
  std::string message;

  friend bool operator==(const saga_result&, const saga_result&) = default;
};

template <class Inspector>
auto inspect(Inspector& f, saga_result& x) {
  return f(x.step, x.accepted, x.message);
}

/// Framework event: the answer to `step` was recorded; the command left the outbox. Its event type is
/// "<Saga::type_name>.step_answered", in the saga's own name space as every event type.
template <class Saga>
struct step_answered {
private:
  static constexpr auto name_ = [] {
    constexpr std::string_view prefix = Saga::type_name;
    constexpr std::string_view suffix = ".step_answered";
    std::array<char, prefix.size() + suffix.size()> chars{};
    std::copy(prefix.begin(), prefix.end(), chars.begin());
    std::copy(suffix.begin(), suffix.end(), chars.begin() + static_cast<std::ptrdiff_t>(prefix.size()));
    return chars;
  }();

public:
  static constexpr std::string_view event_type{name_.data(), name_.size()};
  static constexpr std::uint32_t schema_version = 1;
  std::uint64_t step = 0;
  bool accepted = false;
  std::string message;

  friend bool operator==(const step_answered&, const step_answered&) = default;

  template <class Inspector>
  friend auto inspect(Inspector& f, step_answered& x) {
    return f(x.step, x.accepted, x.message);
  }
};

/// The outbox of a saga instance: the commands sent and not yet answered, by step, and the last step given.
template <class Outgoing>
class saga_outbox {
public:
  /// Adds a command with the next step number and returns that number.
  std::uint64_t add(std::string target_id, Outgoing command) {
    ++last_step_;
    due_.push_back(outgoing_command<Outgoing>{last_step_, std::move(target_id), std::move(command)});
    return last_step_;
  }

  /// The command of `step` while it awaits its answer, else nullptr.
  const outgoing_command<Outgoing>* find(std::uint64_t step) const {
    auto it = lower_bound(step);
    return it == due_.end() || it->step != step ? nullptr : &*it;
  }

  /// The command of `step` leaves the outbox.
  void answered(std::uint64_t step) {
    if (auto it = lower_bound(step); it != due_.end() && it->step == step)
      due_.erase(it);
  }

  /// The commands awaiting an answer with a step after `step`, in step order.
  std::vector<outgoing_command<Outgoing>> after(std::uint64_t step) const {
    return {lower_bound(step + 1), due_.end()};
  }

  bool empty() const noexcept {
    return due_.empty();
  }

  /// The number of commands awaiting their answer.
  std::size_t size() const noexcept {
    return due_.size();
  }

  /// The lowest step awaiting its answer, 0 when none does.
  std::uint64_t first_due() const noexcept {
    return due_.empty() ? 0 : due_.front().step;
  }

  /// The number the last command added got (0 before any).
  std::uint64_t last_step() const noexcept {
    return last_step_;
  }

  friend bool operator==(const saga_outbox&, const saga_outbox&) = default;

  template <class Inspector>
  friend auto inspect(Inspector& f, saga_outbox& x) {
    return f(x.last_step_, x.due_);
  }

private:
  auto lower_bound(std::uint64_t step) const {
    return std::lower_bound(due_.begin(), due_.end(), step,
                            [](const outgoing_command<Outgoing>& c, std::uint64_t s) { return c.step < s; });
  }

  std::uint64_t last_step_ = 0;
  /// By increasing step (steps are given in increasing order and appended): a commit's additions are at the end.
  std::vector<outgoing_command<Outgoing>> due_;
};

template <class Inspector, class Outgoing>
auto inspect(Inspector& f, outgoing_command<Outgoing>& x) {
  return f(x.step, x.target_id, x.command);
}

/// The base of a saga run by the framework (see the top of this file). `Self` is the saga type (CRTP), `Outgoing`
/// the variant of the commands it sends.
template <class Self, class Outgoing>
class saga {
public:
  /// The commands this saga sends (process_manager.hpp).
  using outgoing = Outgoing;

  /// The command recording a step's answer (what the runtime sends the instance).
  template <class S = Self>
  static typename S::command result_command(std::uint64_t step, bool accepted, std::string_view message) {
    return saga_result{step, accepted, std::string{message}};
  }

  /// Records an answer: `step_answered`, then what the saga's on_result for the sent command returns. An answer to
  /// a step not awaiting one (a repeat, or unknown) records nothing.
  template <class S = Self>
  decision<typename S::event> handle(const saga_result& answer) const {
    using event = typename S::event;
    const auto* sent = sent_.find(answer.step);
    if (sent == nullptr)
      return std::vector<event>{};
    std::vector<event> events{event{step_answered<Self>{answer.step, answer.accepted, answer.message}}};
    auto caused = std::visit(
      [&](const auto& cmd) -> std::vector<event> { return static_cast<const S&>(*this).on_result(cmd, answer); },
      sent->command);
    for (auto& e : caused)
      events.push_back(std::move(e));
    return events;
  }

  /// The answered command leaves the outbox.
  void apply(const step_answered<Self>& e) {
    sent_.answered(e.step);
  }

  /// Every command awaiting its answer (process_manager.hpp).
  std::vector<outgoing_command<Outgoing>> outbox() const {
    return sent_.after(0);
  }

  /// The commands awaiting their answer with a step after `step` (incremental_outbox: a commit costs what it
  /// added).
  std::vector<outgoing_command<Outgoing>> outbox_after(std::uint64_t step) const {
    return sent_.after(step);
  }

  friend bool operator==(const saga&, const saga&) = default;

protected:
  /// Puts `command` for aggregate `target_id` in the outbox with the next step number, which it returns. Call it
  /// from an apply (the outbox is state: replaying the history numbers the commands the same way).
  std::uint64_t send(std::string target_id, Outgoing command) {
    return sent_.add(std::move(target_id), std::move(command));
  }

  /// The outbox, for the saga's inspect() (snapshots) and views.
  saga_outbox<Outgoing>& saga_state() noexcept {
    return sent_;
  }

  const saga_outbox<Outgoing>& saga_state() const noexcept {
    return sent_;
  }

private:
  saga_outbox<Outgoing> sent_;
};

} // namespace cairn
