// cairn::testing::decision_test — given/when/then for an aggregate's decisions alone: no actor, no store, no CAF,
// no RocksDB. The fastest way to test `handle` and `apply`; the actor test kit (cairn/testing/aggregate_test.hpp)
// runs the same expectations through the real actor and store.
//
//   cairn::testing::decision_test<order> t;
//   t.given({order_created{"c-1"}});
//   CHECK(t.when(add_line{"p-1", "Pen", 2, money{150}}).then_events({line_added{"p-1", "Pen", 2, money{150}}}));
//   CHECK(t.when(submit_order{}).then_events({order_submitted{...}}));
//   CHECK(t.when(add_line{"p-2", "Ink", 1, money{100}}).then_rejected("not a draft"));
//   CHECK(t.then_state([](const order& o) { return o.lines().size() == 1; }));
//
// given() applies prior events; when() decides one command against the current state and, when it is accepted,
// applies its events (as a commit would); then_*() return a verdict (cairn/testing/verdict.hpp).
//
// Thread-safety: one test object per thread.
#pragma once

#include <cairn/aggregate.hpp>
#include <cairn/testing/verdict.hpp>

#include <concepts>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace cairn::testing {

template <class A>
class decision_test {
  static_assert(check_aggregate<A>());

public:
  using command = typename A::command;
  using event = typename A::event;

  explicit decision_test(std::string id = "under-test") : root_(std::move(id)) {}

  /// Applies prior events, as if earlier commands had recorded them.
  decision_test& given(const std::vector<event>& prior) {
    root_.apply(prior);
    return *this;
  }

  /// Decides one command against the current state; an accepted one's events are applied.
  decision_test& when(const command& cmd) {
    before_ = root_.state();
    version_before_ = root_.version();
    auto outcome = root_.decide(cmd);
    if (outcome.accepted()) {
      recorded_ = std::move(outcome).events();
      rejection_.reset();
      root_.apply(recorded_);
    } else {
      recorded_.clear();
      rejection_ = outcome.error();
    }
    return *this;
  }

  /// The command was accepted and recorded exactly these events, in this order.
  verdict then_events(const std::vector<event>& expected) const {
    if (rejection_)
      return verdict::fail("expected events, but the command was rejected: " + rejection_->message);
    if (recorded_ != expected)
      return verdict::fail("expected " + std::to_string(expected.size()) + " event(s)" + describe(expected) +
                           ", recorded " + std::to_string(recorded_.size()) + describe(recorded_));
    return verdict::pass();
  }

  /// The command was rejected with a message containing `message_part`, and changed nothing.
  verdict then_rejected(std::string_view message_part = {}) const {
    if (!rejection_)
      return verdict::fail("expected a rejection, but the command was accepted and recorded " +
                           std::to_string(recorded_.size()) + " event(s)" + describe(recorded_));
    if (rejection_->message.find(message_part) == std::string::npos)
      return verdict::fail("expected a rejection containing \"" + std::string{message_part} + "\", got \"" +
                           rejection_->message + "\"");
    if (root_.version() != version_before_)
      return verdict::fail("the rejected command changed the version");
    if constexpr (std::equality_comparable<A>)
      if (before_ && !(root_.state() == *before_))
        return verdict::fail("the rejected command changed the state");
    return verdict::pass();
  }

  /// The state satisfies `predicate`.
  verdict then_state(const std::function<bool(const A&)>& predicate) const {
    return predicate(root_.state()) ? verdict::pass() : verdict::fail("the state does not satisfy the predicate");
  }

  /// The events the last command recorded (empty after a rejection).
  const std::vector<event>& recorded() const noexcept {
    return recorded_;
  }

  /// The instance as the commands so far left it.
  const aggregate_root<A>& root() const noexcept {
    return root_;
  }

private:
  static std::string describe(const std::vector<event>& events) {
    std::string out;
    for (const auto& e : events)
      out.append(out.empty() ? ": " : " ").append(std::visit([](const auto& x) { return x.event_type; }, e));
    return out;
  }

  aggregate_root<A> root_;
  std::optional<A> before_;
  std::uint64_t version_before_ = 0;
  std::vector<event> recorded_;
  std::optional<rejection> rejection_;
};

} // namespace cairn::testing
