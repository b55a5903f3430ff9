#include <cairn/runtime/detail/router.hpp>

#include <cairn/runtime/detail/messages.hpp>

#include <caf/send.hpp>

namespace cairn::detail {

void router::add(std::shared_ptr<route> r) {
  std::lock_guard guard{mutex_};
  routes_.push_back(std::move(r));
  route_count_.store(routes_.size(), std::memory_order_relaxed);
}

void router::publish(const committed_batch& batch) {
  if (batch->empty())
    return;
  std::lock_guard guard{mutex_};
  last_published_ = batch->back().position;
  for (auto& r : routes_) {
    if (!r->live)
      continue;
    if (r->credits == 0) {
      r->live = false; // it reads the log from its position once it has worked through what it was sent
      continue;
    }
    --r->credits;
    caf::anon_send(r->actor, events_atom::value, batch);
  }
}

bool router::try_go_live(route& r, std::uint64_t position) {
  std::lock_guard guard{mutex_};
  if (position < last_published_)
    return false;
  r.live = true;
  r.credits = max_outstanding_batches;
  return true;
}

bool router::done_with_batch(route& r) {
  std::lock_guard guard{mutex_};
  // Batches sent before a drop may still arrive after a new go-live: credits never exceed the bound.
  if (r.live && r.credits < max_outstanding_batches)
    ++r.credits;
  return r.live;
}

std::uint64_t router::last_published() const {
  std::lock_guard guard{mutex_};
  return last_published_;
}

bool router::is_live(const route& r) const {
  std::lock_guard guard{mutex_};
  return r.live;
}

void router::clear() {
  std::lock_guard guard{mutex_};
  routes_.clear();
  route_count_.store(0, std::memory_order_relaxed);
}

} // namespace cairn::detail
