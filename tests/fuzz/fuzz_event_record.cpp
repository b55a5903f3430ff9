// Fuzz target: stored event values as the store reads them back. The input is a cf_log value (format byte,
// stream, version, envelope, payload) or, with the same bytes, a cf_streams value; what parses is decoded by
// every example domain's codec, the order codec with upcasters and the transfer codec with those of transfers stored
// before cairn::saga. A decoded event must survive encode/decode.
// The other stored values (snapshots, causation records) go through their parsers too. Any crash, sanitizer
// report or failed check is a bug in the layout or the codecs.
#include "fuzz_domains.hpp"

#include "internal/layout.hpp"

#include <cairn/domains/transfer_upgrade.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

using namespace cairn;

template <class Variant>
void check_decodes(const store::event_codec<Variant>& codec, const store::event_record& record) {
  auto decoded = codec.decode(record, "fuzz", 1);
  if (!decoded)
    return;
  const store::event_codec<Variant> plain;
  for (const auto& e : *decoded) {
    auto again = plain.decode(plain.encode(e, record.timestamp_us), "fuzz", 1);
    if (!again || again->size() != 1 || (*again)[0] != e)
      __builtin_trap(); // a decoded event that does not survive its own encoding
  }
}

void decode_everywhere(const store::event_record& record) {
  static const auto order_codec = fuzz::make_order_codec();
  check_decodes(order_codec, record);
  check_decodes(store::event_codec<fuzz::product_event>{}, record);
  check_decodes(store::event_codec<fuzz::account_event>{}, record);
  check_decodes(store::event_codec<fuzz::fulfillment_event>{}, record);
  static const auto transfer_codec = [] {
    store::event_codec<fuzz::transfer_event> codec;
    domains::transfers::add_upcasters(codec);
    return codec;
  }();
  check_decodes(transfer_codec, record);
  check_decodes(store::event_codec<fuzz::example_event>{}, record);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace layout = store::internal;
  const std::string_view value{reinterpret_cast<const char*>(data), size};

  std::string stream;
  std::uint64_t version = 0;
  store::event_record record;
  if (layout::parse_log_value(value, stream, version, record) == nullptr)
    decode_everywhere(record);

  std::uint64_t position = 0;
  store::event_record from_stream;
  if (layout::parse_stream_value(value, position, from_stream) == nullptr)
    decode_everywhere(from_stream);

  store::snapshot_record snapshot;
  if (layout::parse_snapshot_value(value, snapshot) == nullptr) {
    std::string again;
    layout::put_snapshot_value(again, snapshot);
    store::snapshot_record reparsed;
    if (layout::parse_snapshot_value(again, reparsed) != nullptr || !(reparsed == snapshot))
      __builtin_trap();
  }

  store::causation_record causation;
  if (layout::parse_causation_value(value, causation) == nullptr) {
    std::string again;
    layout::put_causation_value(again, causation, causation.version);
    store::causation_record reparsed;
    if (layout::parse_causation_value(again, reparsed) != nullptr || reparsed != causation)
      __builtin_trap();
  }
  return 0;
}
