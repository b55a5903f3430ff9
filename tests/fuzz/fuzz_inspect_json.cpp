// Fuzz target: cairn-inspect's rendering of stored events. The input is a cf_log value; what parses is rendered
// as cairn-inspect prints it (decoded by the example domains when it can be, else hex) and serialised, hostile
// stream names and types included. Any crash, exception or sanitizer report is a bug in the tool or the codec.
#include "event_json.hpp"

#include "internal/layout.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace store = cairn::store;
  store::stored_event e;
  if (store::internal::parse_log_value(std::string_view{reinterpret_cast<const char*>(data), size}, e.stream,
                                       e.version, e.event) != nullptr)
    return 0;
  e.position = 1;
  const auto json = cairn::inspect_tool::event_to_json(e);
  // What cairn-inspect writes: bytes that are not UTF-8 become U+FFFD instead of an exception.
  const std::string text = json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.empty() || !json.contains("type") || (json.contains("data") == json.contains("payload_hex")))
    __builtin_trap(); // every event is shown either decoded or as hex, never both or neither
  return 0;
}
