// Turns an aggregate's events (the alternatives of its `event` std::variant) into stored event_records and back,
// upcasting records written by older schema versions. Also the encoding of snapshots.
//
// Every event type names itself and its shape (see cairn/aggregate.hpp):
//   static constexpr std::string_view event_type = "order.line_added";
//   static constexpr std::uint32_t schema_version = 2;
// A record decodes directly when its (type, schema_version) is one of the variant's alternatives. Otherwise an
// upcaster registered for exactly that (type, schema_version) turns it into 0..N records of newer versions (it
// may rename the type, split one event in several, or drop it), and those are decoded in turn, repeatedly, until
// every record is current. Upcasters work on records, not on C++ types, so the old C++ types need not exist
// anywhere but inside the upcaster.
//
// Thread-safety: register upcasters before sharing the codec; after that, const member functions may be called
// from many threads at once.
#pragma once

#include <cairn/store/codec.hpp>
#include <cairn/store/event_store.hpp>
#include <cairn/store/result.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace cairn::store {

/// What an event type must declare to be stored.
template <class E>
concept stored_event_type = requires {
  { E::event_type } -> std::convertible_to<std::string_view>;
  { E::schema_version } -> std::convertible_to<std::uint32_t>;
};

/// The record of one event at its current schema version (for upcasters that build newer records).
template <stored_event_type E>
event_record make_event_record(const E& event, std::int64_t timestamp_us) {
  event_record record;
  record.type = std::string{E::event_type};
  record.schema_version = E::schema_version;
  record.timestamp_us = timestamp_us;
  encode_to(record.payload, event);
  return record;
}

template <class Variant>
class event_codec;

/// The codec of an aggregate's event variant.
template <stored_event_type... Events>
class event_codec<std::variant<Events...>> {
public:
  using event = std::variant<Events...>;

  /// Turns one record of an old (type, schema_version) into 0..N records of newer versions; may fail.
  using upcaster = std::function<result<std::vector<event_record>>(const event_record&)>;

  /// Upcasting one stored record more often than this is treated as a cycle (unknown_schema_version).
  static constexpr unsigned max_upcast_steps = 64;

  /// The record of `e` at its current schema version.
  event_record encode(const event& e, std::int64_t timestamp_us) const {
    return std::visit([timestamp_us](const auto& x) { return make_event_record(x, timestamp_us); }, e);
  }

  /// The events a stored record stands for (usually one; upcasting may make it 0..N). `stream` and `version`
  /// only name the record in error messages. Errors: unknown_event_type, unknown_schema_version, corrupt_data,
  /// or whatever an upcaster answered.
  result<std::vector<event>> decode(const event_record& record, std::string_view stream,
                                    std::uint64_t version) const {
    std::vector<event> out;
    if (auto st = decode_into(out, record, stream, version); !st)
      return st.error();
    return out;
  }

  result<std::vector<event>> decode(const stored_event& e) const {
    return decode(e.event, e.stream, e.version);
  }

  /// Like decode(), appending to `out` (replay reuses one vector). On failure `out` may hold a part of the
  /// record's events.
  status decode_into(std::vector<event>& out, const event_record& record, std::string_view stream,
                     std::uint64_t version) const {
    return decode_step(out, record, stream, version, 0);
  }

  /// Registers the upcaster of records of `type` at `from_version`; replaces an earlier one for the same pair.
  void add_upcaster(std::string type, std::uint32_t from_version, upcaster up) {
    upcasters_[std::move(type)][from_version] = std::move(up);
  }

  /// True when (type, schema_version) decodes without upcasting.
  static bool is_current(std::string_view type, std::uint32_t schema_version) noexcept {
    return find_alternative(type, schema_version) < sizeof...(Events);
  }

private:
  struct type_key {
    std::string_view type;
    std::uint32_t schema_version;
  };
  static constexpr std::array<type_key, sizeof...(Events)> keys_{
      type_key{std::string_view{Events::event_type}, static_cast<std::uint32_t>(Events::schema_version)}...};

  static constexpr bool keys_unique() {
    for (std::size_t i = 0; i < keys_.size(); ++i)
      for (std::size_t j = i + 1; j < keys_.size(); ++j)
        if (keys_[i].type == keys_[j].type && keys_[i].schema_version == keys_[j].schema_version)
          return false;
    return true;
  }
  static_assert(keys_unique(), "two alternatives of the event variant share an event_type and schema_version");

  using decoder = status (*)(std::string_view, event&);

  template <std::size_t I>
  static status decode_alternative(std::string_view payload, event& out) {
    return store::decode(payload, out.template emplace<I>());
  }

  template <std::size_t... Is>
  static constexpr std::array<decoder, sizeof...(Is)> make_decoders(std::index_sequence<Is...>) {
    return {&decode_alternative<Is>...};
  }
  static constexpr std::array<decoder, sizeof...(Events)> decoders_ =
      make_decoders(std::index_sequence_for<Events...>{});

  static std::size_t find_alternative(std::string_view type, std::uint32_t schema_version) noexcept {
    for (std::size_t i = 0; i < keys_.size(); ++i)
      if (keys_[i].schema_version == schema_version && keys_[i].type == type)
        return i;
    return keys_.size();
  }

  static std::string where(const event_record& record, std::string_view stream, std::uint64_t version) {
    std::string out{"stream "};
    out += stream;
    out += " version ";
    out += std::to_string(version);
    out += ": event type \"";
    out += record.type;
    out += "\" schema version ";
    out += std::to_string(record.schema_version);
    return out;
  }

  status decode_step(std::vector<event>& out, const event_record& record, std::string_view stream,
                     std::uint64_t version, unsigned steps) const {
    if (const auto i = find_alternative(record.type, record.schema_version); i < sizeof...(Events)) {
      event e;
      if (auto st = decoders_[i](record.payload, e); !st)
        return error{errc::corrupt_data, where(record, stream, version) + ": " + st.error().message()};
      out.push_back(std::move(e));
      return ok;
    }
    const auto by_type = upcasters_.find(std::string_view{record.type});
    if (by_type != upcasters_.end()) {
      if (const auto up = by_type->second.find(record.schema_version); up != by_type->second.end()) {
        if (steps >= max_upcast_steps)
          return error{errc::unknown_schema_version,
                       where(record, stream, version) + ": upcasting does not reach a current version"};
        auto upcast = run_upcaster(up->second, record);
        if (!upcast)
          return error{upcast.error().code(),
                       where(record, stream, version) + ": upcaster failed: " + upcast.error().message()};
        for (const auto& newer : *upcast)
          if (auto st = decode_step(out, newer, stream, version, steps + 1); !st)
            return st;
        return ok;
      }
    }
    const bool type_known = by_type != upcasters_.end() || [&] {
      for (const auto& key : keys_)
        if (key.type == record.type)
          return true;
      return false;
    }();
    if (type_known)
      return error{errc::unknown_schema_version, where(record, stream, version) + " has no decoder and no upcaster"};
    return error{errc::unknown_event_type, where(record, stream, version) + " is not an event of this aggregate"};
  }

  static result<std::vector<event_record>> run_upcaster(const upcaster& up, const event_record& record) {
    try {
      return up(record);
    } catch (const std::exception& e) {
      return error{errc::corrupt_data, std::string{"exception: "} + e.what()};
    } catch (...) {
      return error{errc::corrupt_data, "unknown exception"};
    }
  }

  std::map<std::string, std::map<std::uint32_t, upcaster>, std::less<>> upcasters_;
};

/// The snapshot of a whole aggregate state (anything with inspect()) taken at stream version `version`.
template <class State>
snapshot_record encode_snapshot(const State& state, std::uint64_t version, std::uint32_t schema_version) {
  snapshot_record record;
  record.version = version;
  record.schema_version = schema_version;
  encode_to(record.payload, state);
  return record;
}

/// Restores a state from a snapshot of schema `expected_schema_version`. A snapshot of another schema version is
/// errc::unknown_schema_version (the caller replays the stream instead); undecodable bytes are errc::corrupt_data.
/// `stream` only names the snapshot in error messages.
template <class State>
status decode_snapshot(const snapshot_record& record, std::string_view stream, std::uint32_t expected_schema_version,
                       State& out) {
  const auto where = [&] {
    return "snapshot of stream " + std::string{stream} + " at version " + std::to_string(record.version) +
           " (schema version " + std::to_string(record.schema_version) + ")";
  };
  if (record.schema_version != expected_schema_version)
    return error{errc::unknown_schema_version,
                 where() + ": this build reads schema version " + std::to_string(expected_schema_version)};
  if (auto st = decode(record.payload, out); !st)
    return error{errc::corrupt_data, where() + ": " + st.error().message()};
  return ok;
}

} // namespace cairn::store
