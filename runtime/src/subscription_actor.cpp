#include <cairn/runtime/detail/subscription_actor.hpp>

#include <cairn/runtime/detail/messages.hpp>

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <caf/skip.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>

namespace cairn::detail {

namespace {

/// Log reads during catch-up take this many events at a time: bounded memory, few round trips.
constexpr std::size_t catch_up_chunk = 4096;

} // namespace

subscription_actor::subscription_actor(caf::actor_config& cfg, runtime_core& core, router& feed,
                                       std::shared_ptr<route> self_route, subscription_handlers handlers)
  : caf::event_based_actor(cfg),
    core_(core),
    feed_(feed),
    route_(std::move(self_route)),
    handlers_(std::move(handlers)),
    writer_(route_->name + "/") {
}

caf::behavior subscription_actor::make_behavior() {
  auto tracked = core_.store->tracking_position(route_->name);
  if (tracked) {
    position_ = *tracked;
    handled_ = position_;
    route_->position.store(position_);
    send(this, catch_up_atom::value);
  } else {
    retry_later();
  }
  return {
    [this](catch_up_atom) -> caf::result<void> {
      if (busy_)
        return caf::skip;
      catch_up();
      return caf::unit;
    },
    [this](events_atom, const committed_batch& batch) -> caf::result<void> {
      if (busy_)
        return caf::skip;
      pending_live_ = true;
      if (!handle(*batch) && !feed_.done_with_batch(*route_))
        send(this, catch_up_atom::value);
      return caf::unit;
    },
    [this](committed_atom, const command_result& r) { on_committed(r); },
    [this](policy_atom, bool transient) { on_policy_answer(transient); },
    [this](retry_atom) {
      busy_ = false;
      catch_up();
    },
  };
}

void subscription_actor::catch_up() {
  if (rewind_ || !handlers_.subscriber) {
    // From the tracked position: at start, after a failure, and always for a projection or a policy, whose
    // handled events count only once committed.
    auto tracked = core_.store->tracking_position(route_->name);
    if (!tracked)
      return retry_later();
    position_ = *tracked;
    handled_ = position_;
    rewind_ = false;
    route_->position.store(position_);
  } else if (handled_ > position_) {
    track_handled(); // a tracking commit that failed earlier: try again
  }
  auto chunk = core_.store->read_log(handled_ + 1, catch_up_chunk);
  if (!chunk)
    return retry_later();
  if (chunk->empty()) {
    // Caught up. Either nothing was published past our position (live from now on, under the router's lock), or
    // something was committed meanwhile: read again.
    if (!feed_.try_go_live(*route_, handled_))
      send(this, catch_up_atom::value);
    return;
  }
  pending_live_ = false;
  if (!handle(*chunk))
    send(this, catch_up_atom::value);
}

bool subscription_actor::handle(const std::vector<store::stored_event>& events) {
  handled_up_to_ = handled_;
  try {
    for (const auto& e : events) {
      if (e.position <= handled_up_to_)
        continue; // already processed: a batch sent before a catch-up, or the seam
      if (handlers_.projection)
        handlers_.projection(e, writer_);
      else if (handlers_.policy)
        handlers_.policy(e, actions_);
      else
        handlers_.subscriber(e);
      handled_up_to_ = e.position;
    }
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "cairn: subscription %s: handler failed at position %llu: %s; retrying from %llu\n",
                 route_->name.c_str(), static_cast<unsigned long long>(handled_up_to_ + 1), ex.what(),
                 static_cast<unsigned long long>(position_));
    writer_.take();
    actions_.take();
    rewind_ = true;
    retry_later();
    return true;
  }
  if (handled_up_to_ == handled_)
    return false;
  handled_ = handled_up_to_;
  if (handlers_.subscriber) {
    // Its effects are elsewhere (at least once): it goes on with the next events while the position is tracked.
    track_handled();
    return false;
  }
  busy_ = true;
  auto actions = actions_.take();
  if (actions.empty()) {
    commit_handled();
    return true;
  }
  // The chunk's commands go out together; the position is tracked once all are answered.
  answers_due_ = actions.size();
  transient_failure_ = false;
  auto self = caf::actor_cast<caf::actor>(this);
  for (auto& send : actions)
    send([self](const command_result& r) {
      bool transient = r.code == command_errc::overloaded || r.code == command_errc::timeout ||
                       r.code == command_errc::storage_failure || r.code == command_errc::shutting_down ||
                       r.code == command_errc::unavailable || r.code == command_errc::conflict;
      caf::anon_send(self, policy_atom::value, transient);
    });
  return true;
}

void subscription_actor::on_policy_answer(bool transient) {
  transient_failure_ = transient_failure_ || transient;
  if (--answers_due_ > 0)
    return;
  if (transient_failure_)
    return retry_later(); // from the tracked position: the targets recognise what they have already done
  commit_handled();
}

void subscription_actor::commit_handled() {
  store::append_request request;
  request.tracking = store::tracking_record{route_->name, handled_up_to_};
  request.puts = writer_.take();
  core_.commits->submit(std::move(request), caf::actor_cast<caf::actor>(this));
}

void subscription_actor::track_handled() {
  if (tracking_in_flight_)
    return; // its answer sends the newest position
  tracking_in_flight_ = true;
  tracking_sent_ = handled_;
  store::append_request request;
  request.tracking = store::tracking_record{route_->name, tracking_sent_};
  core_.commits->submit(std::move(request), caf::actor_cast<caf::actor>(this));
}

void subscription_actor::on_tracked(const command_result& r) {
  tracking_in_flight_ = false;
  if (!r.ok()) {
    // The handled events stay handled; the position is tracked again at the next catch-up step, 200 ms later.
    std::fprintf(stderr, "cairn: subscription %s: tracking failed: %s\n", route_->name.c_str(),
                 to_string(r).c_str());
    return retry_later();
  }
  position_ = std::max(position_, tracking_sent_);
  route_->position.store(position_);
  if (handled_ > position_)
    track_handled();
}

void subscription_actor::on_committed(const command_result& r) {
  if (handlers_.subscriber)
    return on_tracked(r);
  busy_ = false;
  if (!r.ok()) {
    // Neither the writes nor the position were stored: handle the same events again from the log.
    std::fprintf(stderr, "cairn: subscription %s: commit failed: %s\n", route_->name.c_str(),
                 to_string(r).c_str());
    return retry_later();
  }
  position_ = handled_up_to_;
  route_->position.store(position_);
  if (!pending_live_ || !feed_.done_with_batch(*route_))
    send(this, catch_up_atom::value);
}

void subscription_actor::retry_later() {
  busy_ = true;
  delayed_send(this, std::chrono::milliseconds{200}, retry_atom::value);
}

} // namespace cairn::detail
