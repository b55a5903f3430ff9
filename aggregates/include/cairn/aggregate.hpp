// How an aggregate is written in cairn: plain C++ domain code, with no actor or storage concern.
//
// An aggregate (Evans, Domain-Driven Design) is a cluster of objects changed as one unit through its root. In
// cairn the root is a class `A` that:
//
//   * names its commands and events as two std::variant types, `A::command` and `A::event`. Every command and
//     event is a plain struct with an `inspect()` overload (CAF-compatible, `return f(x.a, x.b);`) so that it can
//     travel as a message and be encoded by the store. Every event also carries
//       static constexpr std::string_view event_type = "order.line_added";   // stable, never reused
//       static constexpr std::uint32_t schema_version = 1;                   // bumped on a change of shape
//     and a command that may bring a new instance into being carries
//       static constexpr bool creates_aggregate = true;
//   * decides: one const member `decision<event> handle(const C&) const` per command type. It checks every
//     invariant against the current state and returns either the events to record or a rejection. It changes
//     nothing: a rejected command records nothing, and an accepted one changes the state only when its events
//     are applied (after they are committed, in the runtime).
//   * evolves: one member `void apply(const E&)` per event type. `apply` never fails and never checks: the event
//     already happened.
//   * exposes read-only views (const accessors) of its internals; never a mutable reference.
//   * names itself: `static constexpr std::string_view type_name = "order";` (the prefix of its stream names).
//   * may say that it is gone: `bool discarded() const` (a discarded aggregate takes no further commands).
//   * may be snapshotted: an `inspect()` of its whole state and `static constexpr std::uint32_t
//     snapshot_version`.
//
// `aggregate_root<A>` holds one instance (its id, its version and its state) and is the only way to change it:
// `decide()` then `apply()`.
//
// Thread-safety: none of these types synchronise; an instance belongs to one thread (or actor) at a time.
#pragma once

#include <cairn/event_meta.hpp>
#include <cairn/stream_name.hpp>

#include <chrono>
#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace cairn {

/// Why a command was refused: the invariant it would break, in words meant for the caller.
struct rejection {
  std::string message;

  friend bool operator==(const rejection&, const rejection&) = default;
};

/// Builds a rejection; reads well in handlers: `return reject("order is not a draft");`.
inline rejection reject(std::string message) {
  return rejection{std::move(message)};
}

/// The outcome of deciding one command: the events to record, or the rejection. Nothing is applied yet.
template <class Event>
class decision {
public:
  decision(std::vector<Event> events) : value_(std::move(events)) {}
  decision(Event event) : value_(std::vector<Event>{std::move(event)}) {}
  decision(rejection why) : value_(std::move(why)) {}

  /// True when the command was accepted (it may still record no event).
  bool accepted() const noexcept {
    return value_.index() == 0;
  }
  explicit operator bool() const noexcept {
    return accepted();
  }

  /// The events to record. Precondition: accepted().
  const std::vector<Event>& events() const& {
    return std::get<0>(value_);
  }
  std::vector<Event>&& events() && {
    return std::get<0>(std::move(value_));
  }

  /// The rejection. Precondition: !accepted().
  const rejection& error() const {
    return std::get<1>(value_);
  }

private:
  std::variant<std::vector<Event>, rejection> value_;
};

/// True for a command type that may create a new aggregate instance.
template <class Command>
inline constexpr bool creates_aggregate_v = [] {
  if constexpr (requires { Command::creates_aggregate; })
    return static_cast<bool>(Command::creates_aggregate);
  else
    return false;
}();

namespace detail {

template <class Variant>
struct all_alternatives;

template <class... Ts>
struct all_alternatives<std::variant<Ts...>> {
  template <template <class> class Pred>
  static constexpr bool satisfy = (Pred<Ts>::value && ...);
};

template <class E>
struct is_event_type : std::bool_constant<requires {
  { E::event_type } -> std::convertible_to<std::string_view>;
  { E::schema_version } -> std::convertible_to<std::uint32_t>;
}> {};

template <class A>
concept aggregate_shape = std::is_default_constructible_v<A> && std::is_copy_constructible_v<A> && requires {
  typename A::command;
  typename A::event;
  { A::type_name } -> std::convertible_to<std::string_view>;
} && all_alternatives<typename A::event>::template satisfy<is_event_type>;

template <class A, class C>
concept handles_command = requires(const A& a, const C& c) {
  { a.handle(c) } -> std::convertible_to<decision<typename A::event>>;
};

template <class A, class E>
concept applies_event_with_meta = requires(A& a, const E& e, const event_meta& m) { a.apply(e, m); };

template <class A, class E>
concept applies_event = requires(A& a, const E& e) { a.apply(e); } || applies_event_with_meta<A, E>;

template <class A, class Variant>
struct handles_all;
template <class A, class... Cs>
struct handles_all<A, std::variant<Cs...>> : std::bool_constant<(handles_command<A, Cs> && ...)> {};

template <class A, class Variant>
struct applies_all;
template <class A, class... Es>
struct applies_all<A, std::variant<Es...>> : std::bool_constant<(applies_event<A, Es> && ...)> {};

// One function per command (event) type, so that a failed check names the aggregate and the command (event) in
// "required from here" / "In instantiation of ... [with A = ...; C = ...]" next to the message.
template <class A, class C>
constexpr bool command_is_handled() {
  static_assert(handles_command<A, C>,
                "cairn: aggregate A has no `decision<event> handle(const C&) const` for command C of its `command` "
                "variant (A and C are named in the instantiation above)");
  return handles_command<A, C>;
}

template <class A, class E>
constexpr bool event_is_applied() {
  static_assert(applies_event<A, E>,
                "cairn: aggregate A has no `void apply(const E&)` (nor `void apply(const E&, const event_meta&)`) "
                "for event E of its `event` variant (A and E are named in the instantiation above)");
  return applies_event<A, E>;
}

template <class A, class... Cs>
constexpr bool every_command_handled(std::variant<Cs...>*) {
  return (command_is_handled<A, Cs>() && ...);
}

template <class A, class... Es>
constexpr bool every_event_applied(std::variant<Es...>*) {
  return (event_is_applied<A, Es>() && ...);
}

} // namespace detail

/// What cairn requires of an aggregate root type (see the top of this file): its shape, a valid type name, a
/// `handle` for every command and an `apply` for every event.
template <class A>
concept aggregate = detail::aggregate_shape<A> && valid_type_name(A::type_name) &&
                    detail::handles_all<A, typename A::command>::value &&
                    detail::applies_all<A, typename A::event>::value;

/// `aggregate<A>`, checked with a message that names what is missing; the entry points (aggregate_root,
/// runtime::register_aggregate) static_assert it, so that a missing overload is reported as such rather than deep
/// inside std::visit.
template <class A>
constexpr bool check_aggregate() {
  static_assert(detail::aggregate_shape<A>,
                "cairn: an aggregate is default- and copy-constructible and names `command` and `event` (variants), "
                "`static constexpr std::string_view type_name` and, on every event type, `event_type` and "
                "`schema_version` (see cairn/aggregate.hpp)");
  if constexpr (detail::aggregate_shape<A>) {
    static_assert(valid_type_name(A::type_name),
                  "cairn: an aggregate's type_name is 1 to 64 characters of [a-z0-9_.], starting with a letter: it "
                  "prefixes stream names, which must stay unambiguous (see cairn/stream_name.hpp)");
    return detail::every_command_handled<A>(static_cast<typename A::command*>(nullptr)) &&
           detail::every_event_applied<A>(static_cast<typename A::event*>(nullptr)) && aggregate<A>;
  } else {
    return false;
  }
}

/// True when the aggregate type can be snapshotted.
template <class A>
concept snapshottable = aggregate<A> && requires {
  { A::snapshot_version } -> std::convertible_to<std::uint32_t>;
};

/// One aggregate instance: its id, its version (the number of events applied; 0 = never created) and its state.
template <class A>
class aggregate_root {
  static_assert(check_aggregate<A>());

public:
  using command = typename A::command;
  using event = typename A::event;

  explicit aggregate_root(std::string id) : id_(std::move(id)) {}

  const std::string& id() const noexcept {
    return id_;
  }

  std::uint64_t version() const noexcept {
    return version_;
  }

  /// Read-only view of the state.
  const A& state() const noexcept {
    return state_;
  }

  /// True once created and until discarded.
  bool exists() const {
    if constexpr (requires(const A& a) { a.discarded(); })
      return version_ > 0 && !state_.discarded();
    else
      return version_ > 0;
  }

  /// Checks the command against the invariants; changes nothing.
  decision<event> decide(const command& cmd) const {
    return std::visit([this](const auto& c) -> decision<event> { return state_.handle(c); }, cmd);
  }

  /// Applies one committed event and advances the version; `meta` reaches the state's
  /// `apply(const E&, const event_meta&)` where it has one. The runtime gives the event's type, id, version and
  /// timestamp, and position 0: an instance applies its events before the log has placed them, and its state must
  /// be the same when it is replayed (subscriptions get the position).
  void apply(const event& e, const event_meta& meta) {
    std::visit(
      [this, &meta](const auto& x) {
        if constexpr (detail::applies_event_with_meta<A, std::decay_t<decltype(x)>>)
          state_.apply(x, meta);
        else
          state_.apply(x);
      },
      e);
    ++version_;
  }

  /// Applies one event as the next version, with no timestamp (the epoch): for tests and tools.
  void apply(const event& e) {
    apply(e, next_meta({}));
  }

  /// Applies events as the next versions, all recorded at `timestamp` (one command's events share theirs).
  void apply(const std::vector<event>& events, std::chrono::sys_time<std::chrono::microseconds> timestamp = {}) {
    for (const auto& e : events)
      apply(e, next_meta(timestamp));
  }

  /// The meta of the event that would be applied next.
  event_meta next_meta(std::chrono::sys_time<std::chrono::microseconds> timestamp) const {
    return event_meta{A::type_name, id_, version_ + 1, 0, timestamp};
  }

  /// After replaying one stored event that an upcaster turned into 0..N current events: the version counts
  /// stored events, not applied ones.
  void align_version(std::uint64_t stored_version) noexcept {
    version_ = stored_version;
  }

  /// Replaces the state with a snapshot taken at `version`.
  void restore(A state, std::uint64_t version) {
    state_ = std::move(state);
    version_ = version;
  }

private:
  std::string id_;
  std::uint64_t version_ = 0;
  A state_;
};

} // namespace cairn
