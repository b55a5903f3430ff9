// The order fulfilment's records as it stored them before it ran on the framework saga (cairn::saga), upcast to
// the current events, so that an instance begun by an older release loads and finishes:
//
//   fulfillment.started v1               (order_id, [(step, product, quantity)])  -> v2 without the steps
//   fulfillment.confirmation_scheduled v1 ([(step, product)], confirm_step)      -> v2: the products
//   fulfillment.release_scheduled v1     ([(step, product)], reason)              -> v2: the products, reason
//   fulfillment.rejection_scheduled v1   (step, reason)                           -> v2: reason
//   fulfillment.result_recorded v1       (step, accepted, message)  -> order_fulfillment.step_answered (renamed)
//
// The old steps were numbered 1, 2, 3 ... in the order the saga sent them, which is how the framework numbers the
// sends of the upcast events' applies: the dropped numbers come out the same, and the targets' (instance, step)
// dedup still recognises the steps already taken.
//
//   runtime rt{cfg};
//   rt.register_process_manager<fulfillment::order_fulfillment, inventory::product, orders::order>();
//   shop::add_fulfillment_upcasters(rt.codec<fulfillment::order_fulfillment>()); // register_shop() does both
//
// Thread-safety: call before the codec is shared (before runtime::start()).
#pragma once

#include <cairn/domains/order_fulfillment.hpp>
#include <cairn/store/event_codec.hpp>

namespace cairn::shop {

/// Registers the upcasters above on the fulfilment's codec.
void add_fulfillment_upcasters(store::event_codec<domains::fulfillment::order_fulfillment::event>& codec);

} // namespace cairn::shop
