// Fuzz support: the example domains' event codecs, with upcasters of the kinds event_codec.hpp supports (a
// schema step that re-encodes fields, a rename, a split into several records, a drop, a failure, a cycle), so
// that the targets run every decoding path a store's reader runs.
//
// Thread-safety: the codecs are built once and then only read (libFuzzer runs one input at a time).
#pragma once

#include <cairn/domains/account.hpp>
#include <cairn/domains/example_aggregate.hpp>
#include <cairn/domains/inventory.hpp>
#include <cairn/domains/order.hpp>
#include <cairn/domains/order_fulfillment.hpp>
#include <cairn/domains/transfer.hpp>
#include <cairn/store/codec.hpp>
#include <cairn/store/event_codec.hpp>

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

namespace cairn::fuzz {

using order_event = domains::orders::order::event;
using product_event = domains::inventory::product::event;
using account_event = domains::accounts::account::event;
using fulfillment_event = domains::fulfillment::order_fulfillment::event;
using transfer_event = domains::transfers::transfer::event;
using example_event = domains::examples::example_aggregate::event;

/// Hypothetical old schemas of order events, as a real system accumulates them.
inline store::event_codec<order_event> make_order_codec() {
  using store::event_record;
  using store::result;
  using records = std::vector<event_record>;
  store::event_codec<order_event> codec;
  // order.line_added v0 had no name: (product_id, quantity, unit_price in minor units).
  codec.add_upcaster("order.line_added", 0, [](const event_record& r) -> result<records> {
    std::tuple<std::string, std::int64_t, std::int64_t> old;
    if (auto st = store::decode(r.payload, old); !st)
      return st.error();
    domains::orders::line_added now{std::get<0>(old), "", std::get<1>(old), money::from_minor(std::get<2>(old))};
    return records{store::make_event_record(now, r.timestamp_us)};
  });
  // order.item_added v1 was renamed to order.line_added at v0 (then upcast again).
  codec.add_upcaster("order.item_added", 1, [](const event_record& r) -> result<records> {
    event_record renamed = r;
    renamed.type = "order.line_added";
    renamed.schema_version = 0;
    return records{renamed};
  });
  // order.lines_added v1 carried several lines at once: split into one line_added each.
  codec.add_upcaster("order.lines_added", 1, [](const event_record& r) -> result<records> {
    std::vector<domains::orders::order_line> lines;
    if (auto st = store::decode(r.payload, lines); !st)
      return st.error();
    records out;
    for (const auto& l : lines)
      out.push_back(store::make_event_record(
          domains::orders::line_added{l.product_id, l.name, l.quantity, l.unit_price}, r.timestamp_us));
    return out;
  });
  // order.audited v1 is dropped; order.broken v1 always fails; ping/pong upcast into each other forever.
  codec.add_upcaster("order.audited", 1, [](const event_record&) -> result<records> { return records{}; });
  codec.add_upcaster("order.broken", 1, [](const event_record&) -> result<records> {
    return store::error{store::errc::corrupt_data, "no longer readable"};
  });
  codec.add_upcaster("order.ping", 1, [](const event_record& r) -> result<records> {
    event_record next = r;
    next.type = "order.pong";
    return records{next};
  });
  codec.add_upcaster("order.pong", 1, [](const event_record& r) -> result<records> {
    event_record next = r;
    next.type = "order.ping";
    return records{next};
  });
  return codec;
}

/// The old record types make_order_codec() upcasts, as (type, schema_version).
inline const std::vector<std::pair<std::string, std::uint32_t>>& legacy_order_types() {
  static const std::vector<std::pair<std::string, std::uint32_t>> types{
      {"order.line_added", 0}, {"order.item_added", 1}, {"order.lines_added", 1}, {"order.audited", 1},
      {"order.broken", 1},     {"order.ping", 1}};
  return types;
}

/// Calls f(std::type_identity<Event>{}) for every event type of every example domain.
template <class F>
void for_each_event_type(F&& f) {
  const auto each = [&f]<class... Es>(std::type_identity<std::variant<Es...>>) {
    (f(std::type_identity<Es>{}), ...);
  };
  each(std::type_identity<order_event>{});
  each(std::type_identity<product_event>{});
  each(std::type_identity<account_event>{});
  each(std::type_identity<fulfillment_event>{});
  each(std::type_identity<transfer_event>{});
  each(std::type_identity<example_event>{});
}

} // namespace cairn::fuzz
