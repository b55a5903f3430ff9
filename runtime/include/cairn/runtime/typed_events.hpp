// Typed events from stored ones: what a typed subscription (runtime::add_projection<A...>, add_subscriber<A...>,
// add_policy<A...>) does with each committed event, usable on its own to rebuild a read model from the log.
//
//   cairn::typed_events<orders::order, inventory::product> events{rt.codec<orders::order>(),
//                                                                 rt.codec<inventory::product>()};
//   auto on = cairn::handlers{
//     [](const orders::order_created& e, const cairn::event_meta& m, cairn::projection_writer& w) { ... },
//     [](const inventory::stock_added& e, cairn::projection_writer& w) { ... }};   // meta is optional
//   for (const auto& stored : log)
//     if (auto st = events.dispatch(stored, on, writer); !st) { ... st.error() ... }
//
// An event belongs to aggregate type A when its stream is A's ("<A::type_name>-<id>"); events of other streams are
// skipped. It is decoded once, with A's codec (so with A's upcasters: handlers see every event in its current
// shape), and each decoded event goes to the handler that takes its type, with its event_meta; events whose type
// no handler takes are skipped, without decoding when the stored record is already current.
//
// Thread-safety: one typed_events is used by one thread at a time (it reuses a decoding buffer); the codecs must
// outlive it and have their upcasters registered before the first dispatch.
#pragma once

#include <cairn/aggregate.hpp>
#include <cairn/event_meta.hpp>
#include <cairn/handlers.hpp>
#include <cairn/store/event_codec.hpp>
#include <cairn/store/event_store.hpp>
#include <cairn/store/result.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace cairn {

namespace detail {

/// How `H` takes event `E` (with `Extra` after it): with the event's meta, without, or not at all.
template <class H, class E, class... Extra>
inline constexpr bool takes_with_meta = std::is_invocable_v<H&, const E&, const event_meta&, Extra&...>;
template <class H, class E, class... Extra>
inline constexpr bool takes_without_meta = std::is_invocable_v<H&, const E&, Extra&...>;
template <class H, class E, class... Extra>
inline constexpr bool takes_event = takes_with_meta<H, E, Extra...> || takes_without_meta<H, E, Extra...>;

/// Which current (event_type, schema_version) pairs of an event variant `H` has a handler for.
template <class H, class Variant, class... Extra>
struct handled_types;

template <class H, class... Es, class... Extra>
struct handled_types<H, std::variant<Es...>, Extra...> {
  struct entry {
    std::string_view type;
    std::uint32_t schema_version;
    bool handled;
  };
  static constexpr std::array<entry, sizeof...(Es)> entries{
      entry{std::string_view{Es::event_type}, static_cast<std::uint32_t>(Es::schema_version),
            takes_event<H, Es, Extra...>}...};
  static constexpr bool any = (takes_event<H, Es, Extra...> || ...);

  /// False only for a current record of a type without a handler: it can be skipped undecoded. An older record
  /// may upcast into a handled type, so it is decoded.
  static bool worth_decoding(std::string_view type, std::uint32_t schema_version) noexcept {
    for (const auto& e : entries)
      if (e.schema_version == schema_version && e.type == type)
        return e.handled;
    return true;
  }
};

} // namespace detail

/// Decodes stored events of the aggregate types `As...` and hands them to typed handlers (see above).
template <aggregate... As>
class typed_events {
  static_assert(sizeof...(As) > 0, "typed_events needs at least one aggregate type");

public:
  /// True when `Handlers` takes at least one event type of `As...` (followed by `Extra&...`).
  template <class Handlers, class... Extra>
  static constexpr bool handles_any = (detail::handled_types<Handlers, typename As::event, Extra...>::any || ...);

  /// Decodes with these codecs (each type's registered one, to apply its upcasters).
  explicit typed_events(const store::event_codec<typename As::event>&... codecs) : codecs_{&codecs...} {}

  /// Hands the events of `e` to `handlers` (called as `handlers(event, meta, extra...)` or
  /// `handlers(event, extra...)`). Ok when handled or skipped; a decoding error leaves the event unhandled.
  template <class Handlers, class... Extra>
  store::status dispatch(const store::stored_event& e, Handlers& handlers, Extra&... extra) {
    // Type names have no '-' (stream_name.hpp), so a stream belongs to at most one type: the one before its first
    // separator.
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      store::status st = store::ok;
      ((id_in_stream(e.stream, As::type_name) ? (st = dispatch_as<I>(e, handlers, extra...), 0) : 0), ...);
      return st;
    }(std::index_sequence_for<As...>{});
  }

private:
  using types = std::tuple<As...>;

  template <std::size_t I, class Handlers, class... Extra>
  store::status dispatch_as(const store::stored_event& e, Handlers& handlers, Extra&... extra) {
    using A = std::tuple_element_t<I, types>;
    using event = typename A::event;
    if (!detail::handled_types<Handlers, event, Extra...>::worth_decoding(e.event.type, e.event.schema_version))
      return store::ok;
    auto& decoded = std::get<I>(buffers_);
    decoded.clear();
    if (auto st = std::get<I>(codecs_)->decode_into(decoded, e.event, e.stream, e.version); !st)
      return st;
    const event_meta meta{A::type_name, *id_in_stream(e.stream, A::type_name), e.version, e.position,
                          std::chrono::sys_time<std::chrono::microseconds>{
                            std::chrono::microseconds{e.event.timestamp_us}}};
    for (const auto& x : decoded)
      std::visit(
        [&](const auto& ev) {
          using E = std::decay_t<decltype(ev)>;
          if constexpr (detail::takes_with_meta<Handlers, E, Extra...>)
            handlers(ev, meta, extra...);
          else if constexpr (detail::takes_without_meta<Handlers, E, Extra...>)
            handlers(ev, extra...);
        },
        x);
    return store::ok;
  }

  std::tuple<const store::event_codec<typename As::event>*...> codecs_;
  /// Reused from event to event: decoding allocates no vector per event.
  std::tuple<std::vector<typename As::event>...> buffers_;
};

} // namespace cairn
