#include "views.hpp"

#include <optional>
#include <variant>

namespace cairn::order_service {

using json = nlohmann::ordered_json;
using namespace domains;

namespace {

json line_view(const orders::order_line& line) {
  // An accepted line never overflows (the order's total is bounded), so total() cannot throw here.
  return json{{"product_id", line.product_id},
              {"name", line.name},
              {"quantity", line.quantity},
              {"unit_price", line.unit_price.to_string()},
              {"total", line.total().to_string()}};
}

struct event_fields {
  json operator()(const orders::order_created& e) const {
    return {{"customer_id", e.customer_id}};
  }
  json operator()(const orders::line_added& e) const {
    return {{"product_id", e.product_id},
            {"name", e.name},
            {"quantity", e.quantity},
            {"unit_price", e.unit_price.to_string()}};
  }
  json operator()(const orders::line_removed& e) const {
    return {{"product_id", e.product_id}};
  }
  json operator()(const orders::order_submitted& e) const {
    json lines = json::array();
    for (const auto& line : e.lines)
      lines.push_back(line_view(line));
    return {{"lines", std::move(lines)}};
  }
  json operator()(const orders::order_confirmed&) const {
    return json::object();
  }
  json operator()(const orders::order_rejected& e) const {
    return {{"reason", e.reason}};
  }
};

} // namespace

json order_view(const aggregate_root<orders::order>& root) {
  const auto& o = root.state();
  json lines = json::array();
  for (const auto& line : o.lines())
    lines.push_back(line_view(line));
  json out{{"id", root.id()},
           {"customer_id", o.customer_id()},
           {"status", std::string{to_string(o.status())}},
           {"total", o.total().to_string()},
           {"lines", std::move(lines)},
           {"version", root.version()}};
  if (o.status() == orders::order_status::rejected)
    out["rejection_reason"] = o.rejection_reason();
  return out;
}

json product_view(const aggregate_root<inventory::product>& root) {
  const auto& p = root.state();
  json reservations = json::array();
  for (const auto& r : p.reservations())
    reservations.push_back({{"order_id", r.order_id}, {"quantity", r.quantity}});
  return json{{"id", root.id()},
              {"sku", p.sku()},
              {"on_hand", p.on_hand()},
              {"reserved", p.reserved()},
              {"available", p.available()},
              {"reservations", std::move(reservations)},
              {"version", root.version()}};
}

json event_data(const orders::order::event& e) {
  return std::visit(event_fields{}, e);
}

} // namespace cairn::order_service
