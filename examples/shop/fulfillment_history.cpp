#include "fulfillment_history.hpp"

#include <cairn/store/codec.hpp>

#include <cstdint>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace cairn::shop {

namespace {

using namespace domains::fulfillment;
using store::event_record;
using records = std::vector<event_record>;

/// The version 1 payloads (their inspect() field order).
using started_v1 = std::tuple<std::string, std::vector<std::tuple<std::uint64_t, std::string, std::int64_t>>>;
using product_steps_v1 = std::vector<std::pair<std::uint64_t, std::string>>;
using confirmation_v1 = std::tuple<product_steps_v1, std::uint64_t>;
using release_v1 = std::tuple<product_steps_v1, std::string>;
using rejection_v1 = std::tuple<std::uint64_t, std::string>;

std::vector<std::string> products_of(const product_steps_v1& steps) {
  std::vector<std::string> products;
  products.reserve(steps.size());
  for (const auto& [step, product] : steps)
    products.push_back(product);
  return products;
}

/// An upcaster that decodes an `Old` payload and re-encodes what `to_new` makes of it.
template <class Old, class ToNew>
store::event_codec<order_fulfillment::event>::upcaster reencode(ToNew to_new) {
  return [to_new](const event_record& r) -> store::result<records> {
    Old old;
    if (auto st = store::decode(r.payload, old); !st)
      return st.error();
    return records{store::make_event_record(to_new(std::move(old)), r.timestamp_us)};
  };
}

} // namespace

void add_fulfillment_upcasters(store::event_codec<order_fulfillment::event>& codec) {
  codec.add_upcaster(std::string{fulfillment_started::event_type}, 1, reencode<started_v1>([](started_v1 old) {
    fulfillment_started now{std::move(std::get<0>(old)), {}};
    for (auto& [step, product, quantity] : std::get<1>(old))
      now.reservations.push_back(fulfillment_line{std::move(product), quantity});
    return now;
  }));
  codec.add_upcaster(std::string{confirmation_scheduled::event_type}, 1,
                     reencode<confirmation_v1>([](const confirmation_v1& old) {
                       return confirmation_scheduled{products_of(std::get<0>(old))};
                     }));
  codec.add_upcaster(std::string{release_scheduled::event_type}, 1, reencode<release_v1>([](release_v1 old) {
                       return release_scheduled{products_of(std::get<0>(old)), std::move(std::get<1>(old))};
                     }));
  codec.add_upcaster(std::string{rejection_scheduled::event_type}, 1, reencode<rejection_v1>([](rejection_v1 old) {
                       return rejection_scheduled{std::move(std::get<1>(old))};
                     }));
  // The answer's payload is the framework's step_answered as it is: only the name changes.
  codec.add_upcaster("fulfillment.result_recorded", 1, [](const event_record& r) -> store::result<records> {
    event_record renamed = r;
    renamed.type = std::string{step_answered<order_fulfillment>::event_type};
    renamed.schema_version = step_answered<order_fulfillment>::schema_version;
    return records{std::move(renamed)};
  });
}

} // namespace cairn::shop
