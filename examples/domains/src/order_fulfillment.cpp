#include <cairn/domains/order_fulfillment.hpp>

#include <algorithm>
#include <limits>
#include <string_view>
#include <unordered_map>

namespace cairn::domains::fulfillment {

namespace {

using event = order_fulfillment::event;

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
  std::vector<fulfillment_line> plan;
  std::unordered_map<std::string_view, std::size_t> planned; // product -> its index in plan
  for (const auto& line : cmd.lines) {
    const auto [found, added] = planned.try_emplace(line.product_id, plan.size());
    if (added) {
      plan.push_back(line);
      continue;
    }
    auto& merged = plan[found->second];
    if (line.quantity > std::numeric_limits<std::int64_t>::max() - merged.quantity) {
      // The order allows it (free lines have no total limit) but no product can hold it: reject the order
      // rather than refuse the start, which would leave the order submitted for good.
      const auto why = "quantity of product '" + line.product_id + "' overflows: the order's lines add up to " +
                       "more than " + std::to_string(std::numeric_limits<std::int64_t>::max()) + " units";
      return std::vector<event>{fulfillment_started{cmd.order_id, {}}, rejection_scheduled{why}};
    }
    merged.quantity += line.quantity;
  }
  return event{fulfillment_started{cmd.order_id, std::move(plan)}};
}

decision<event> order_fulfillment::handle(const saga_result& answer) const {
  if (!started_)
    return reject("fulfillment does not exist");
  return saga::handle(answer);
}

bool order_fulfillment::counts_as_accepted(step_kind kind, bool accepted, const std::string& message) const {
  // The product's answer to a repeated reserve ("order 'O' already holds a reservation", its
  // one-reservation-per-order rule): only this saga reserves for its order, so the reservation is held. It counts
  // as accepted, so that it is committed or released like any other.
  return accepted || (kind == step_kind::reserve &&
                      message.find("order '" + order_id_ + "' already holds a reservation") != std::string::npos);
}

bool order_fulfillment::last_outstanding() const noexcept {
  return saga_state().size() == 1;
}

std::vector<event> order_fulfillment::on_result(const inventory::reserve&, const saga_result& answer) const {
  if (!last_outstanding())
    return {}; // the decision waits for every reservation
  // Every step so far is a reservation; the last one's outcome is `answer`'s.
  std::vector<std::string> reserved;
  std::string reason;
  for (const auto& s : steps_) {
    const bool last = s.step == answer.step;
    if (last ? counts_as_accepted(s.kind, answer.accepted, answer.message) : s.outcome == step_outcome::accepted) {
      reserved.push_back(s.target_id);
      continue;
    }
    if (!reason.empty())
      reason += "; ";
    reason += "product '" + s.target_id + "' refused the reservation";
    if (const auto& message = last ? answer.message : s.message; !message.empty())
      reason += ": " + message;
  }
  if (reason.empty())
    return {confirmation_scheduled{std::move(reserved)}};
  if (reserved.empty())
    return {rejection_scheduled{std::move(reason)}};
  return {release_scheduled{std::move(reserved), std::move(reason)}};
}

std::vector<event> order_fulfillment::on_result(const inventory::release&, const saga_result&) const {
  if (!last_outstanding())
    return {};
  return {rejection_scheduled{rejection_reason_}};
}

std::vector<event> order_fulfillment::on_result(const inventory::commit_reservation&, const saga_result&) const {
  if (!last_outstanding())
    return {};
  return {fulfillment_confirmed{}};
}

std::vector<event> order_fulfillment::on_result(const orders::confirm_order&, const saga_result&) const {
  if (!last_outstanding())
    return {};
  return {fulfillment_confirmed{}};
}

std::vector<event> order_fulfillment::on_result(const orders::reject_order&, const saga_result&) const {
  if (!last_outstanding())
    return {};
  return {fulfillment_rejected{rejection_reason_}};
}

void order_fulfillment::send_step(step_kind kind, const std::string& target_id, std::int64_t quantity,
                                  outgoing command) {
  const auto step = send(target_id, std::move(command));
  steps_.push_back(fulfillment_step{step, kind, target_id, quantity, step_outcome::pending, {}});
}

void order_fulfillment::apply(const fulfillment_started& e) {
  started_ = true;
  order_id_ = e.order_id;
  status_ = fulfillment_status::reserving;
  for (const auto& r : e.reservations)
    send_step(step_kind::reserve, r.product_id, r.quantity, inventory::reserve{order_id_, r.quantity});
}

void order_fulfillment::apply(const confirmation_scheduled& e) {
  for (const auto& product : e.commits)
    send_step(step_kind::commit, product, 0, inventory::commit_reservation{order_id_});
  send_step(step_kind::confirm, order_id_, 0, orders::confirm_order{});
  status_ = fulfillment_status::confirming;
}

void order_fulfillment::apply(const release_scheduled& e) {
  for (const auto& product : e.releases)
    send_step(step_kind::release, product, 0, inventory::release{order_id_});
  rejection_reason_ = e.reason;
  status_ = fulfillment_status::releasing;
}

void order_fulfillment::apply(const rejection_scheduled& e) {
  rejection_reason_ = e.reason;
  send_step(step_kind::reject, order_id_, 0, orders::reject_order{rejection_reason_});
  status_ = fulfillment_status::rejecting;
}

void order_fulfillment::apply(const fulfillment_confirmed&) {
  status_ = fulfillment_status::confirmed;
}

void order_fulfillment::apply(const fulfillment_rejected& e) {
  rejection_reason_ = e.reason;
  status_ = fulfillment_status::rejected;
}

void order_fulfillment::apply(const step_answered<order_fulfillment>& e) {
  saga::apply(e);
  const auto step = std::ranges::lower_bound(steps_, e.step, {}, &fulfillment_step::step);
  if (step == steps_.end() || step->step != e.step)
    return;
  step->outcome = counts_as_accepted(step->kind, e.accepted, e.message) ? step_outcome::accepted
                                                                         : step_outcome::refused;
  step->message = e.message;
}

} // namespace cairn::domains::fulfillment
