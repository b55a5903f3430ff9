#include <cairn/domains/order.hpp>

#include <algorithm>
#include <optional>

namespace cairn::domains::orders {

namespace {

using event = order::event;

std::optional<rejection> check_exists(const order& o) {
  if (!o.created())
    return reject("order does not exist");
  return std::nullopt;
}

std::optional<rejection> check_draft(const order& o) {
  if (auto why = check_exists(o))
    return why;
  if (o.status() != order_status::draft)
    return reject("order is " + std::string{to_string(o.status())} + ", not a draft");
  return std::nullopt;
}

std::optional<rejection> check_submitted(const order& o) {
  if (auto why = check_exists(o))
    return why;
  if (o.status() != order_status::submitted)
    return reject("order is " + std::string{to_string(o.status())} + ", not submitted");
  return std::nullopt;
}

} // namespace

money order_line::total() const {
  return checked_mul(unit_price, quantity).value();
}

std::string_view to_string(order_status status) noexcept {
  switch (status) {
    case order_status::draft:
      return "draft";
    case order_status::submitted:
      return "submitted";
    case order_status::confirmed:
      return "confirmed";
    case order_status::rejected:
      return "rejected";
  }
  return "unknown";
}

money order::total() const {
  // The draft limit keeps every partial sum far from overflow.
  money sum;
  for (const auto& line : lines_)
    sum.minor_units += line.total().minor_units;
  return sum;
}

decision<event> order::handle(const create_order& cmd) const {
  if (created_)
    return reject("order already exists");
  if (cmd.customer_id.empty())
    return reject("customer_id must not be empty");
  return event{order_created{cmd.customer_id}};
}

decision<event> order::handle(const add_line& cmd) const {
  if (auto why = check_draft(*this))
    return *why;
  if (cmd.product_id.empty())
    return reject("product_id must not be empty");
  if (lines_.size() >= max_order_lines)
    return reject("order already has " + std::to_string(max_order_lines) + " lines, the most allowed");
  if (cmd.quantity <= 0)
    return reject("quantity must be positive, got " + std::to_string(cmd.quantity));
  if (cmd.unit_price < money{})
    return reject("unit_price must not be negative, got " + cmd.unit_price.to_string());
  const auto line_total = checked_mul(cmd.unit_price, cmd.quantity);
  if (!line_total)
    return reject("line total overflows: " + std::to_string(cmd.quantity) + " x " + cmd.unit_price.to_string());
  const auto new_total = checked_add(total(), *line_total);
  if (!new_total || *new_total > max_order_total)
    return reject("order total would exceed " + max_order_total.to_string() + ": line of " +
                  line_total->to_string() + " on an order of " + total().to_string());
  return event{line_added{cmd.product_id, cmd.name, cmd.quantity, cmd.unit_price}};
}

decision<event> order::handle(const remove_line& cmd) const {
  if (auto why = check_draft(*this))
    return *why;
  const bool has_line =
    std::ranges::any_of(lines_, [&](const order_line& line) { return line.product_id == cmd.product_id; });
  if (!has_line)
    return reject("order has no line for product '" + cmd.product_id + "'");
  return event{line_removed{cmd.product_id}};
}

decision<event> order::handle(const submit_order&) const {
  if (auto why = check_exists(*this))
    return *why;
  if (status_ != order_status::draft)
    return reject("order is already " + std::string{to_string(status_)});
  if (lines_.empty())
    return reject("order is empty");
  return event{order_submitted{lines_}};
}

decision<event> order::handle(const confirm_order&) const {
  if (auto why = check_submitted(*this))
    return *why;
  return event{order_confirmed{}};
}

decision<event> order::handle(const reject_order& cmd) const {
  if (auto why = check_submitted(*this))
    return *why;
  if (cmd.reason.empty())
    return reject("reason must not be empty");
  return event{order_rejected{cmd.reason}};
}

void order::apply(const order_created& e) {
  created_ = true;
  customer_id_ = e.customer_id;
  status_ = order_status::draft;
}

void order::apply(const line_added& e) {
  lines_.push_back(order_line{e.product_id, e.name, e.quantity, e.unit_price});
}

void order::apply(const line_removed& e) {
  std::erase_if(lines_, [&](const order_line& line) { return line.product_id == e.product_id; });
}

void order::apply(const order_submitted&) {
  // The event's lines are the ones the line events already gave the state.
  status_ = order_status::submitted;
}

void order::apply(const order_confirmed&) {
  status_ = order_status::confirmed;
}

void order::apply(const order_rejected& e) {
  status_ = order_status::rejected;
  rejection_reason_ = e.reason;
}

} // namespace cairn::domains::orders
