// An overload set made of lambdas: one handler per event type, for typed subscriptions and std::visit.
//
//   cairn::handlers on_order{
//     [](const orders::order_created& e) { ... },
//     [](const orders::line_added& e) { ... }};
//
// Thread-safety: as thread-safe as the lambdas it is made of.
#pragma once

namespace cairn {

/// Inherits the call operators of every given callable: overload resolution picks the handler of each type.
template <class... Fs>
struct handlers : Fs... {
  using Fs::operator()...;
};

template <class... Fs>
handlers(Fs...) -> handlers<Fs...>;

} // namespace cairn
