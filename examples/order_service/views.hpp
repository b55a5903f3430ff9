// JSON views of the shop's committed state and events, as the order service answers them: money as decimal
// strings with two places ("12.50"), quantities as integers.
//
// Thread-safety: pure functions.
#pragma once

#include <cairn/aggregate.hpp>
#include <cairn/domains/inventory.hpp>
#include <cairn/domains/order.hpp>

#include <nlohmann/json.hpp>

namespace cairn::order_service {

/// {"id","customer_id","status","total","lines":[{"product_id","name","quantity","unit_price","total"}],"version"}
/// and "rejection_reason" when the order was rejected.
nlohmann::ordered_json order_view(const aggregate_root<domains::orders::order>& root);

/// {"id","sku","on_hand","reserved","available","reservations":[{"order_id","quantity"}],"version"}
nlohmann::ordered_json product_view(const aggregate_root<domains::inventory::product>& root);

/// The event's fields, e.g. {"product_id","name","quantity","unit_price"} for order.line_added.
nlohmann::ordered_json event_data(const domains::orders::order::event& e);

} // namespace cairn::order_service
