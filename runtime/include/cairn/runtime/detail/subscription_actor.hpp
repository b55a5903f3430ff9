// The actor of one subscription: catches up from the global log, then takes live batches from the router, hands
// each event after its tracked position to the handler, and commits the handler's writes with the new tracked
// position through the committer. A projection or a policy waits for that commit before its next events; a
// subscriber (effects elsewhere, at least once) does not: it goes on while at most one tracking commit is in
// flight, which records the newest position handled when it is sent. It is spawned detached (its own thread), so handlers and log reads never
// occupy a CAF scheduler thread.
#pragma once

#include <cairn/runtime/command_result.hpp>
#include <cairn/runtime/detail/router.hpp>
#include <cairn/runtime/detail/runtime_core.hpp>
#include <cairn/runtime/subscription.hpp>

#include <caf/event_based_actor.hpp>

#include <memory>
#include <string>

namespace cairn::detail {

/// What a subscription does with an event: exactly one is set.
struct subscription_handlers {
  projection_handler projection;
  subscriber_handler subscriber;
  policy_handler policy;
};

class subscription_actor final : public caf::event_based_actor {
public:
  subscription_actor(caf::actor_config& cfg, runtime_core& core, router& feed, std::shared_ptr<route> self_route,
                     subscription_handlers handlers);

  caf::behavior make_behavior() override;

private:
  void catch_up();
  /// Handles the events after the tracked position; true when it submitted a commit (then wait for it).
  bool handle(const std::vector<store::stored_event>& events);
  void on_committed(const command_result& r);
  /// Subscriber: submits a tracking commit of handled_ unless one is in flight.
  void track_handled();
  void on_tracked(const command_result& r);
  void on_policy_answer(bool transient);
  void commit_handled();
  void retry_later();

  runtime_core& core_;
  router& feed_;
  std::shared_ptr<route> route_;
  subscription_handlers handlers_;
  projection_writer writer_;
  policy_actions actions_;
  std::size_t answers_due_ = 0;
  bool transient_failure_ = false;
  std::uint64_t position_ = 0;      ///< last position committed as processed
  std::uint64_t handled_up_to_ = 0; ///< last position handled in the pending commit
  /// Last position handed to the handler: position_, or beyond it for a subscriber whose tracking is pending.
  std::uint64_t handled_ = 0;
  bool rewind_ = true;              ///< the next catch-up starts from the tracked position (start, failure)
  bool tracking_in_flight_ = false; ///< subscriber: a tracking commit is pending
  std::uint64_t tracking_sent_ = 0; ///< subscriber: the position it records
  /// busy: a commit is pending, or a retry is due; events and catch-up steps wait in the mailbox meanwhile.
  bool busy_ = false;
  bool pending_live_ = false; ///< the pending commit is for a live batch
};

} // namespace cairn::detail
