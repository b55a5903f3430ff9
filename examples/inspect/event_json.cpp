#include "event_json.hpp"

#include "json_writer.hpp"

#include <cairn/domains/account.hpp>
#include <cairn/domains/example_aggregate.hpp>
#include <cairn/domains/inventory.hpp>
#include <cairn/domains/order.hpp>
#include <cairn/domains/order_fulfillment.hpp>
#include <cairn/domains/transfer.hpp>
#include <cairn/store/event_codec.hpp>

#include <string>

namespace cairn::inspect_tool {

namespace {

void add_raw(const store::stored_event& e, const std::string& why, nlohmann::json& out) {
  out["payload_hex"] = to_hex(e.event.payload);
  out["decode_error"] = why;
}

// Decodes with the codec of one domain's event variant when the record is one of its current events; false when
// the record is not this domain's.
template <class Event>
bool try_decode(std::string_view domain, const store::stored_event& e, nlohmann::json& out) {
  using codec = store::event_codec<Event>;
  if (!codec::is_current(e.event.type, e.event.schema_version))
    return false;
  out["domain"] = domain;
  auto decoded = codec{}.decode(e);
  if (!decoded) {
    add_raw(e, decoded.error().to_string(), out);
    return true;
  }
  // A current record decodes to exactly one event (upcasting alone makes more).
  out["data"] = std::visit([](const auto& x) { return json_writer::to_json(x); }, decoded->front());
  return true;
}

} // namespace

std::string to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 0xf]);
  }
  return out;
}

nlohmann::json event_to_json(const store::stored_event& e) {
  nlohmann::json out{{"stream", e.stream},
                     {"version", e.version},
                     {"position", e.position},
                     {"type", e.event.type},
                     {"schema_version", e.event.schema_version},
                     {"timestamp_us", e.event.timestamp_us}};
  using namespace domains;
  const bool known = try_decode<orders::order::event>("orders", e, out) ||
                     try_decode<inventory::product::event>("inventory", e, out) ||
                     try_decode<accounts::account::event>("accounts", e, out) ||
                     try_decode<fulfillment::order_fulfillment::event>("fulfillment", e, out) ||
                     try_decode<transfers::transfer::event>("transfers", e, out) ||
                     try_decode<examples::example_aggregate::event>("examples", e, out);
  if (!known)
    add_raw(e, "no example domain knows this event type and schema version", out);
  return out;
}

} // namespace cairn::inspect_tool
