// The unit of work: a local copy of one committed aggregate on which commands run without touching the store, and
// whose pending events are then committed together, in one atomic append, or not at all (the "Aggregates in DDD"
// chapter of the Python eventsourcing library: load, call methods on the copy, save).
//
//   auto loaded = rt.load<example_aggregate>("agg-1");            // the committed state, at its version
//   auto& copy = *loaded.copy;
//   copy.execute(create_example{});                               // decided on the copy, applied to the copy only
//   copy.execute(create_example{});
//   copy.pending();                                               // the two example_created events
//   rt.save(copy);                                                // one append expecting copy.base_version()
//
// A copy is called a working copy as in version control: it is checked out at a base version, changed locally,
// and its changes are committed as one unit, refused (`conflict`) when the original moved since the checkout.
// Nobody else sees a pending event: other clients, queries and subscribers see the committed state until the save.
//
// This header is the pure part (no actor, no store): the runtime's load()/save() (runtime.hpp) connect it to an
// instance; a test or a tool can also build a copy from an aggregate_root it holds.
//
// Thread-safety: none; a copy belongs to one thread at a time (hand it over, as runtime::save's asynchronous form
// does, rather than share it).
#pragma once

#include <cairn/aggregate.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace cairn {

/// A local copy of one aggregate: the committed state at its base version, the commands executed on it since, and
/// the events they recorded, pending until saved.
template <aggregate A>
class working_copy {
public:
  using command = typename A::command;
  using event = typename A::event;

  /// A copy of an aggregate that does not exist yet: empty state at version 0, so that a creating command (one
  /// with `creates_aggregate`) can run on it.
  explicit working_copy(std::string id) : root_(std::move(id)) {}

  /// A copy of a committed state; its version is the base version.
  explicit working_copy(aggregate_root<A> committed)
    : root_(std::move(committed)), base_version_(root_.version()) {}

  const std::string& id() const noexcept {
    return root_.id();
  }

  /// The copy's state: the committed state with every pending event applied.
  const A& state() const noexcept {
    return root_.state();
  }

  /// The copy as an aggregate_root (id, version, state), e.g. for the views written for committed roots.
  const aggregate_root<A>& root() const noexcept {
    return root_;
  }

  /// The copy's version: its base version plus one per pending event.
  std::uint64_t version() const noexcept {
    return root_.version();
  }

  /// The committed version this copy was loaded at (or last saved at); a save expects the stream there.
  std::uint64_t base_version() const noexcept {
    return base_version_;
  }

  /// The events recorded since the base version, in order, not yet committed.
  const std::vector<event>& pending() const noexcept {
    return pending_;
  }

  /// True once created and until discarded (in the copy's state).
  bool exists() const {
    return root_.exists();
  }

  /// Decides `cmd` against the copy's state, exactly as the aggregate's instance would (the same `handle`, and the
  /// same refusal of a command to an aggregate that does not exist and that the command does not create). When
  /// accepted, its events are applied to the copy and appended to pending(); a rejection changes nothing. Returns
  /// the decision (its events, or the rejection). An exception from `handle` leaves the copy unchanged; `apply`
  /// never fails (the programming model's rule).
  decision<event> execute(const command& cmd) {
    auto creates = std::visit([](const auto& c) { return creates_aggregate_v<std::decay_t<decltype(c)>>; }, cmd);
    if (!root_.exists() && (!creates || root_.version() > 0))
      return reject(std::string{A::type_name} + " " + root_.id() + " does not exist");
    auto verdict = root_.decide(cmd);
    if (verdict) {
      root_.apply(verdict.events());
      pending_.insert(pending_.end(), verdict.events().begin(), verdict.events().end());
    }
    return verdict;
  }

  /// For whoever committed the pending events (runtime::save): they are committed now, at version(); the base
  /// version advances to it and pending() empties. The state stays as it is.
  void mark_saved() noexcept {
    base_version_ = root_.version();
    pending_.clear();
  }

private:
  aggregate_root<A> root_;
  std::uint64_t base_version_ = 0;
  std::vector<event> pending_;
};

} // namespace cairn
