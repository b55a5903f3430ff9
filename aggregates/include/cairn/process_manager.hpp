// How a process manager (saga) is written in cairn: an event-sourced aggregate whose inputs are events of other
// aggregates and whose outputs are commands to other aggregates, referenced by id.
//
// A process manager `P` is an aggregate (see aggregate.hpp) with, in addition:
//
//   * `using inputs = std::tuple<orders::order, ...>;` — the aggregate types whose committed events it consumes;
//   * for each input event it reacts to, a static member
//       static std::optional<routed<typename P::command>> route(const orders::order_submitted& e,
//                                                                std::string_view source_id);
//     naming the process instance (its id) and the command that records the input there. Input events without an
//     overload are ignored. The runtime delivers each routed command exactly once in effect (it carries the
//     event's position as a causation id, which the instance's stream remembers).
//   * `using outgoing = std::variant<inventory::reserve, orders::confirm_order, ...>;` — the commands it sends;
//   * `std::vector<outgoing_command<outgoing>> outbox() const;` — the commands its state says are due: sent by the
//     runtime after every commit and on activation until their result is recorded. A command is identified by its
//     `step`, unique and increasing within the instance; targets remember (instance, step), so a command sent again
//     after a crash takes effect once.
//   * optionally `outbox_after(step)`: the commands due with a step after `step` (see incremental_outbox);
//   * `static command result_command(std::uint64_t step, bool accepted, std::string_view message);` — the command
//     that records a sent command's result in the instance (accepted, or refused with the target's message). The
//     instance must accept it idempotently: a result for a step already recorded records nothing.
//
// This is the runtime's contract. To write a saga, derive from cairn::saga (saga.hpp), which provides the outbox,
// the step numbers, result_command and the recording of answers, so that a saga declares only what it sends and
// how it reacts to the answers.
//
// Compensation is ordinary domain logic: a refused step makes the state put compensating commands in the outbox.
//
// Thread-safety: as aggregate.hpp.
#pragma once

#include <cairn/aggregate.hpp>

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cairn {

/// A routed input: which process instance, and the command that records the input there.
template <class Command>
struct routed {
  std::string id;
  Command command;
};

/// A command a process instance wants sent to aggregate `target_id`; the target's type follows from the command's.
template <class Outgoing>
struct outgoing_command {
  std::uint64_t step = 0;
  std::string target_id;
  Outgoing command;

  friend bool operator==(const outgoing_command&, const outgoing_command&) = default;
};

/// What cairn requires of a process manager type (see the top of this file).
template <class P>
concept process_manager = aggregate<P> && requires(const P& p, std::uint64_t step, std::string_view message) {
  typename P::inputs;
  typename P::outgoing;
  { p.outbox() } -> std::same_as<std::vector<outgoing_command<typename P::outgoing>>>;
  { P::result_command(step, true, message) } -> std::same_as<typename P::command>;
};

/// A process manager that can also list only the commands due after a given step (what a commit added):
/// `std::vector<outgoing_command<outgoing>> outbox_after(std::uint64_t step) const;`. The runtime then costs each
/// commit the new commands only, not every command still outstanding (a saga of thousands of steps stays linear).
template <class P>
concept incremental_outbox = process_manager<P> && requires(const P& p, std::uint64_t step) {
  { p.outbox_after(step) } -> std::same_as<std::vector<outgoing_command<typename P::outgoing>>>;
};

} // namespace cairn
