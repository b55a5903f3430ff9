// The CAF-native entry of one aggregate type: a user's actor sends (std::string id, Command) with request() and
// receives a command_result, without blocking any thread.
#pragma once

#include <cairn/aggregate.hpp>
#include <cairn/runtime/command_result.hpp>
#include <cairn/runtime/detail/messages.hpp>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <string>
#include <variant>

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(caf::typed_response_promise<cairn::command_result>)

namespace cairn::detail {

// `Runtime` is a parameter (always cairn::runtime) so that its members are looked up where it is complete.
template <class A, class Runtime, class... Commands>
caf::behavior gateway_behavior(caf::event_based_actor* self, Runtime* rt, std::variant<Commands...>*) {
  return {
    [self, rt](const std::string& id, const Commands& command) -> caf::result<command_result> {
      auto promise = self->make_response_promise<command_result>();
      // The answer comes back through this actor so that the promise is delivered on its own thread.
      rt->template send<A>(id, command, [gateway = caf::actor{self}, promise](command_result r) {
        caf::anon_send(gateway, deliver_atom::value, promise, std::move(r));
      });
      return promise;
    }...,
    [](deliver_atom, caf::typed_response_promise<command_result>& promise, command_result& r) {
      promise.deliver(std::move(r));
    },
  };
}

template <class A, class Runtime>
caf::behavior gateway_actor(caf::event_based_actor* self, Runtime* rt) {
  return gateway_behavior<A>(self, rt, static_cast<typename A::command*>(nullptr));
}

} // namespace cairn::detail
