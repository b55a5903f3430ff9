#include <cairn/domains/order_fulfillment.hpp>

#include <algorithm>
#include <limits>
#include <string_view>
#include <unordered_map>

namespace cairn::domains::fulfillment {

namespace {

using event = order_fulfillment::event;

bool is_pending(const fulfillment_step& s) noexcept {
  return s.outcome == step_outcome::pending;
}

} // namespace

std::string_view to_string(fulfillment_status status) noexcept {
  switch (status) {
    case fulfillment_status::reserving:
      return "reserving";
    case fulfillment_status::confirming:
      return "confirming";
    case fulfillment_status::releasing:
      return "releasing";
    case fulfillment_status::rejecting:
      return "rejecting";
    case fulfillment_status::confirmed:
      return "confirmed";
    case fulfillment_status::rejected:
      return "rejected";
  }
  return "unknown";
}

std::string_view to_string(step_kind kind) noexcept {
  switch (kind) {
    case step_kind::reserve:
      return "reserve";
    case step_kind::release:
      return "release";
    case step_kind::commit:
      return "commit";
    case step_kind::confirm:
      return "confirm";
    case step_kind::reject:
      return "reject";
  }
  return "unknown";
}

std::optional<routed<order_fulfillment::command>> order_fulfillment::route(const orders::order_submitted& e,
                                                                           std::string_view source_id) {
  start_fulfillment start{std::string{source_id}, {}};
  start.lines.reserve(e.lines.size());
  for (const auto& line : e.lines)
    start.lines.push_back(fulfillment_line{line.product_id, line.quantity});
  return routed<command>{std::string{source_id}, std::move(start)};
}

order_fulfillment::command order_fulfillment::result_command(std::uint64_t step, bool accepted,
                                                             std::string_view message) {
  return record_result{step, accepted, std::string{message}};
}

const fulfillment_step* order_fulfillment::find_step(std::uint64_t step) const noexcept {
  // steps_ is in increasing step order.
  const auto it = std::ranges::lower_bound(steps_, step, {}, &fulfillment_step::step);
  return it == steps_.end() || it->step != step ? nullptr : &*it;
}

std::uint64_t order_fulfillment::next_step() const noexcept {
  // steps_ is in increasing step order.
  return steps_.empty() ? 1 : steps_.back().step + 1;
}


decision<event> order_fulfillment::handle(const start_fulfillment& cmd) const {
  if (started_)
    return reject("fulfillment of order '" + order_id_ + "' already started");
  if (cmd.order_id.empty())
    return reject("order_id must not be empty");
  if (cmd.lines.empty())
    return reject("lines must not be empty");
  for (const auto& line : cmd.lines) {
    if (line.product_id.empty())
      return reject("product_id must not be empty");
    if (line.quantity <= 0)
      return reject("quantity of product '" + line.product_id + "' must be positive, got " +
                    std::to_string(line.quantity));
  }
  // One reservation per product (a product holds one per order), in the order the products first appear.
  std::vector<planned_reservation> plan;
  std::unordered_map<std::string_view, std::size_t> planned; // product -> its index in plan
  for (const auto& line : cmd.lines) {
    const auto [found, added] = planned.try_emplace(line.product_id, plan.size());
    if (added) {
      plan.push_back(planned_reservation{plan.size() + 1, line.product_id, line.quantity});
      continue;
    }
    const auto it = plan.begin() + static_cast<std::ptrdiff_t>(found->second);
    if (line.quantity > std::numeric_limits<std::int64_t>::max() - it->quantity) {
      // The order allows it (free lines have no total limit) but no product can hold it: reject the order
      // rather than refuse the start, which would leave the order submitted for good.
      const auto why = "quantity of product '" + line.product_id + "' overflows: the order's lines add up to " +
                       "more than " + std::to_string(std::numeric_limits<std::int64_t>::max()) + " units";
      return std::vector<event>{fulfillment_started{cmd.order_id, {}}, rejection_scheduled{1, why}};
    }
    it->quantity += line.quantity;
  }
  return event{fulfillment_started{cmd.order_id, std::move(plan)}};
}

decision<event> order_fulfillment::handle(const record_result& cmd) const {
  if (!started_)
    return reject("fulfillment does not exist");
  const auto* step = find_step(cmd.step);
  if (step == nullptr || !is_pending(*step))
    return std::vector<event>{}; // unknown, or already recorded: a repeat records nothing
  // The product's answer to a repeated reserve ("order 'O' already holds a reservation", its
  // one-reservation-per-order rule): only this saga reserves for its order, so the reservation is held. It counts
  // as accepted, so that it is committed or released like any other.
  const bool held = step->kind == step_kind::reserve &&
                    cmd.message.find("order '" + order_id_ + "' already holds a reservation") != std::string::npos;
  const result_recorded recorded{cmd.step, cmd.accepted || held, cmd.message};
  std::vector<event> events{recorded};
  if (pending_ == 1) // this answer is the last one outstanding
    for (auto& e : after_last_answer(recorded))
      events.push_back(std::move(e));
  return events;
}

std::vector<event> order_fulfillment::after_last_answer(const result_recorded& last) const {
  // The state as if `last` were applied, without copying it (linear in the steps, once per phase).
  auto outcome_of = [&](const fulfillment_step& s) {
    if (s.step != last.step)
      return s.outcome;
    return last.accepted ? step_outcome::accepted : step_outcome::refused;
  };
  switch (status_) {
    case fulfillment_status::reserving: {
      bool all_reserved = true;
      auto step = next_step();
      std::vector<planned_product_step> planned;
      std::string reason;
      for (const auto& s : steps_) {
        if (s.kind != step_kind::reserve)
          continue;
        if (outcome_of(s) == step_outcome::accepted) {
          planned.push_back(planned_product_step{step++, s.target_id});
          continue;
        }
        all_reserved = false;
        if (!reason.empty())
          reason += "; ";
        reason += "product '" + s.target_id + "' refused the reservation";
        const auto& message = s.step == last.step ? last.message : s.message;
        if (!message.empty())
          reason += ": " + message;
      }
      if (all_reserved)
        return {confirmation_scheduled{std::move(planned), step}};
      if (planned.empty())
        return {rejection_scheduled{step, std::move(reason)}};
      return {release_scheduled{std::move(planned), std::move(reason)}};
    }
    case fulfillment_status::releasing:
      return {rejection_scheduled{next_step(), rejection_reason_}};
    case fulfillment_status::confirming:
      return {fulfillment_confirmed{}};
    case fulfillment_status::rejecting:
      return {fulfillment_rejected{rejection_reason_}};
    case fulfillment_status::confirmed:
    case fulfillment_status::rejected:
      break; // done: no step was pending
  }
  return {};
}

std::vector<outgoing_command<order_fulfillment::outgoing>> order_fulfillment::outbox() const {
  return outbox_after(0);
}

std::vector<outgoing_command<order_fulfillment::outgoing>> order_fulfillment::outbox_after(
  std::uint64_t step) const {
  std::vector<outgoing_command<outgoing>> due;
  for (auto it = std::ranges::upper_bound(steps_, step, {}, &fulfillment_step::step); it != steps_.end(); ++it) {
    const auto& s = *it;
    if (!is_pending(s))
      continue;
    switch (s.kind) {
      case step_kind::reserve:
        due.push_back({s.step, s.target_id, inventory::reserve{order_id_, s.quantity}});
        break;
      case step_kind::release:
        due.push_back({s.step, s.target_id, inventory::release{order_id_}});
        break;
      case step_kind::commit:
        due.push_back({s.step, s.target_id, inventory::commit_reservation{order_id_}});
        break;
      case step_kind::confirm:
        due.push_back({s.step, s.target_id, orders::confirm_order{}});
        break;
      case step_kind::reject:
        due.push_back({s.step, s.target_id, orders::reject_order{rejection_reason_}});
        break;
    }
  }
  return due;
}

void order_fulfillment::apply(const fulfillment_started& e) {
  started_ = true;
  order_id_ = e.order_id;
  status_ = fulfillment_status::reserving;
  for (const auto& r : e.reservations)
    steps_.push_back(fulfillment_step{r.step, step_kind::reserve, r.product_id, r.quantity, {}, {}});
  pending_ += e.reservations.size();
}

void order_fulfillment::apply(const result_recorded& e) {
  const auto step = std::ranges::lower_bound(steps_, e.step, {}, &fulfillment_step::step);
  if (step == steps_.end() || step->step != e.step)
    return;
  if (is_pending(*step))
    --pending_;
  step->outcome = e.accepted ? step_outcome::accepted : step_outcome::refused;
  step->message = e.message;
}

void order_fulfillment::apply(const confirmation_scheduled& e) {
  for (const auto& c : e.commits)
    steps_.push_back(fulfillment_step{c.step, step_kind::commit, c.product_id, 0, {}, {}});
  steps_.push_back(fulfillment_step{e.confirm_step, step_kind::confirm, order_id_, 0, {}, {}});
  pending_ += e.commits.size() + 1;
  status_ = fulfillment_status::confirming;
}

void order_fulfillment::apply(const release_scheduled& e) {
  for (const auto& r : e.releases)
    steps_.push_back(fulfillment_step{r.step, step_kind::release, r.product_id, 0, {}, {}});
  pending_ += e.releases.size();
  rejection_reason_ = e.reason;
  status_ = fulfillment_status::releasing;
}

void order_fulfillment::apply(const rejection_scheduled& e) {
  steps_.push_back(fulfillment_step{e.step, step_kind::reject, order_id_, 0, {}, {}});
  ++pending_;
  rejection_reason_ = e.reason;
  status_ = fulfillment_status::rejecting;
}

void order_fulfillment::apply(const fulfillment_confirmed&) {
  status_ = fulfillment_status::confirmed;
}

void order_fulfillment::apply(const fulfillment_rejected& e) {
  rejection_reason_ = e.reason;
  status_ = fulfillment_status::rejected;
}

} // namespace cairn::domains::fulfillment
