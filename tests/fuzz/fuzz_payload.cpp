// Fuzz target: event payloads and snapshots, type by type. The first input byte picks one event type of the
// example domains (or, past them, one aggregate's state as a snapshot); the rest is the payload. What decodes
// must survive encode/decode unchanged. Any crash, sanitizer report or failed check is a bug in the codec.
#include "fuzz_domains.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace cairn;
using decoder = std::function<void(std::string_view)>;

template <class T>
void round_trip(std::string_view payload) {
  T value{};
  if (!store::decode(payload, value))
    return;
  T again{};
  if (!store::decode(store::encode(value), again) || !(again == value))
    __builtin_trap(); // a decoded value that does not survive its own encoding
}

template <class State>
void snapshot_round_trip(std::string_view payload) {
  store::snapshot_record record{1, State::snapshot_version, std::string{payload}};
  State state{};
  if (!store::decode_snapshot(record, "fuzz", State::snapshot_version, state))
    return;
  State again{};
  if (!store::decode_snapshot(store::encode_snapshot(state, 1, State::snapshot_version), "fuzz",
                              State::snapshot_version, again) ||
      !(again == state))
    __builtin_trap();
}

const std::vector<decoder>& decoders() {
  static const std::vector<decoder> all = [] {
    std::vector<decoder> out;
    fuzz::for_each_event_type([&out]<class E>(std::type_identity<E>) { out.emplace_back(&round_trip<E>); });
    out.emplace_back(&snapshot_round_trip<domains::orders::order>);
    out.emplace_back(&snapshot_round_trip<domains::inventory::product>);
    out.emplace_back(&snapshot_round_trip<domains::accounts::account>);
    out.emplace_back(&snapshot_round_trip<domains::fulfillment::order_fulfillment>);
    out.emplace_back(&snapshot_round_trip<domains::transfers::transfer>);
    out.emplace_back(&snapshot_round_trip<domains::examples::example_aggregate>);
    return out;
  }();
  return all;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  const auto& all = decoders();
  all[data[0] % all.size()](std::string_view{reinterpret_cast<const char*>(data) + 1, size - 1});
  return 0;
}
