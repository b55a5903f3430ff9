// The internal messages between cairn's actors and threads. None of them crosses a process: the ones that carry
// callbacks are marked as local-only message types.
#pragma once

#include <cairn/aggregate.hpp>
#include <cairn/runtime/command_result.hpp>
#include <cairn/store/event_store.hpp>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

namespace cairn::detail {

using committed_atom = caf::atom_constant<caf::atom("committed")>;
using loaded_atom = caf::atom_constant<caf::atom("loaded")>;
using passivate_atom = caf::atom_constant<caf::atom("passivate")>;
using deliver_atom = caf::atom_constant<caf::atom("deliver")>;
using events_atom = caf::atom_constant<caf::atom("events")>;
using catch_up_atom = caf::atom_constant<caf::atom("catch_up")>;
using retry_atom = caf::atom_constant<caf::atom("retry")>;
using outbox_atom = caf::atom_constant<caf::atom("outbox")>;
using resend_atom = caf::atom_constant<caf::atom("resend")>;
/// The committer's answer to an idempotent command seen before: its first answer; nothing was written.
using duplicate_atom = caf::atom_constant<caf::atom("duplicate")>;
using policy_atom = caf::atom_constant<caf::atom("policy")>;

/// True when the std::variant `V` has `T` among its alternatives.
template <class V, class T>
inline constexpr bool variant_holds = false;
template <class... Ts, class T>
inline constexpr bool variant_holds<std::variant<Ts...>, T> = (std::is_same_v<Ts, T> || ...);

/// A request's expected_version when it expects none.
inline constexpr std::uint64_t any_version = ~std::uint64_t{0};

/// Receives the answer to a command; runs on the aggregate's actor thread, so it must be quick.
using result_callback = std::function<void(command_result)>;

/// A command or a query for one aggregate instance, as the directory hands it to the instance's actor.
template <class A>
struct request_envelope {
  typename A::command command;
  result_callback on_result;
  /// Set for a query: called with the committed state (nullptr when the aggregate does not exist) and the error.
  std::function<void(const aggregate_root<A>*, const command_result&)> on_query;
  std::chrono::steady_clock::time_point deadline;
  /// Set for an idempotent command (policies, process managers).
  std::optional<causation> cause;
  /// A command the instance sent itself (a process manager recording a result): not admitted, not counted.
  bool internal = false;
  /// Internal: the outbox step whose answer it records (0: none).
  std::uint64_t outbox_step = 0;
  /// The version the instance must be at for the request to run, else `conflict` (any_version: no expectation).
  std::uint64_t expected_version = any_version;
  /// Set for the save of a working copy: the events decided on the copy, committed as one append (see
  /// working_copy.hpp); `expected_version` is then the copy's base version.
  std::shared_ptr<const std::vector<typename A::event>> events{};
  /// Set for a command with a typed reply: called with the state the accepted command left, just before on_result.
  std::function<void(const A&)> on_accepted_state = nullptr;
};

/// What an activation read from the store: the state as committed, or why it could not be read.
template <class A>
struct load_outcome {
  aggregate_root<A> root;
  std::uint64_t snapshot_version = 0;
  std::string error; ///< empty on success
};

template <class A>
using load_outcome_ptr = std::shared_ptr<load_outcome<A>>;

} // namespace cairn::detail

namespace caf {
template <class A>
struct allowed_unsafe_message_type<cairn::detail::request_envelope<A>> : std::true_type {};
template <class A>
struct allowed_unsafe_message_type<cairn::detail::load_outcome_ptr<A>> : std::true_type {};
template <>
struct allowed_unsafe_message_type<std::shared_ptr<const std::vector<cairn::store::stored_event>>> : std::true_type {};
} // namespace caf
