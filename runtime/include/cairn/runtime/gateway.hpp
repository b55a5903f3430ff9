// The CAF-native entry of one aggregate type: a user's actor sends (std::string id, Command) with request() and
// receives a command_result, without blocking any thread. Only programs that talk to cairn from their own CAF
// actors need this header (and CAF's).
//
//   auto orders = cairn::spawn_gateway<orders::order>(rt);        // once, after rt.start()
//   self->request(orders, std::chrono::seconds{10}, std::string{"o-1"}, orders::create_order{"c-9"})
//     .then([](const cairn::command_result& r) { ... });
//
// Thread-safety: spawn_gateway() from any thread between start() and stop(); the gateway is an actor (any number
// of senders). It stops when the runtime stops.
#pragma once

#include <cairn/aggregate.hpp>
#include <cairn/runtime/command_result.hpp>
#include <cairn/runtime/runtime.hpp>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_response_promise.hpp>

#include <string>
#include <variant>

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(caf::typed_response_promise<cairn::command_result>)

namespace cairn {

namespace gateway_internal {

using deliver_atom = caf::atom_constant<caf::atom("deliver")>;

template <class A, class... Commands>
caf::behavior behavior(caf::event_based_actor* self, runtime* rt, std::variant<Commands...>*) {
  return {
    [self, rt](const std::string& id, const Commands& command) -> caf::result<command_result> {
      auto promise = self->make_response_promise<command_result>();
      // The answer comes back through this actor so that the promise is delivered on its own thread.
      rt->send<A>(id, command, [gateway = caf::actor{self}, promise](command_result r) {
        caf::anon_send(gateway, deliver_atom::value, promise, std::move(r));
      });
      return promise;
    }...,
    [](deliver_atom, caf::typed_response_promise<command_result>& promise, command_result& r) {
      promise.deliver(std::move(r));
    },
  };
}

template <class A>
caf::behavior actor(caf::event_based_actor* self, runtime* rt) {
  return behavior<A>(self, rt, static_cast<typename A::command*>(nullptr));
}

} // namespace gateway_internal

/// Spawns the gateway of registered type A: it answers (std::string id, Command) with the command's
/// command_result. Precondition: rt.started().
template <aggregate A>
caf::actor spawn_gateway(runtime& rt) {
  auto gateway = rt.system().spawn(gateway_internal::actor<A>, &rt);
  rt.stop_with(gateway);
  return gateway;
}

} // namespace cairn
