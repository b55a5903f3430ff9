// The internal messages between cairn's actors and threads. None of them crosses a process: the ones that carry
// callbacks are marked as local-only message types.
#pragma once

#include <cairn/runtime/command_result.hpp>
#include <cairn/runtime/type_binding.hpp>
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

using binding::any_version;
using binding::result_callback;

} // namespace cairn::detail

namespace caf {
template <>
struct allowed_unsafe_message_type<cairn::binding::request_ptr> : std::true_type {};
template <>
struct allowed_unsafe_message_type<std::shared_ptr<cairn::binding::loaded>> : std::true_type {};
template <>
struct allowed_unsafe_message_type<std::shared_ptr<const std::vector<cairn::store::stored_event>>> : std::true_type {};
} // namespace caf
