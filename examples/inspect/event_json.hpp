// cairn-inspect: stored events as JSON, decoded when their type is one of the example domains' events.
//
// Thread-safety: stateless functions over immutable codecs; safe from many threads.
#pragma once

#include <cairn/store/event_store.hpp>

#include <nlohmann/json.hpp>

#include <string_view>

namespace cairn::inspect_tool {

/// The envelope of `e` (stream, version, position, type, schema_version, timestamp_us) and, when the event's
/// (type, schema_version) is known to an example domain (orders, inventory, accounts, fulfillment, transfers,
/// examples), "domain" and "data": the decoded fields in inspect() order. Otherwise, or when the payload does not
/// decode, "payload_hex" and "decode_error" instead.
nlohmann::json event_to_json(const store::stored_event& e);

/// Lower-case hex of `bytes`.
std::string to_hex(std::string_view bytes);

} // namespace cairn::inspect_tool
