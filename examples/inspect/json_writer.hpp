// cairn-inspect: a CAF-style inspector that turns any value with an `inspect()` overload into JSON, for showing
// decoded event payloads.
//
// inspect() names no fields, so an inspected type becomes a JSON array of its fields in inspect() order (the
// order of its binary encoding, see cairn/store/codec.hpp). cairn::money becomes its decimal string ("12.50"),
// a variant {"index": i, "value": v}, an optional null or its value, a map an array of [key, value] pairs.
//
// Thread-safety: one json_writer per thread; it only reads the values it is given.
#pragma once

#include <cairn/money.hpp>
#include <cairn/store/codec.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <type_traits>
#include <variant>

namespace cairn::inspect_tool {

class json_writer {
public:
  using result_type = bool;
  static constexpr bool reads_state = true;
  static constexpr bool writes_state = false;

  /// Appends each value given to operator() to `out`, which becomes (or stays) a JSON array.
  explicit json_writer(nlohmann::json& out) : out_(&out) {
    if (!out_->is_array())
      *out_ = nlohmann::json::array();
  }

  template <class... Ts>
  bool operator()(Ts&&... xs) {
    (out_->push_back(to_json(xs)), ...);
    return true;
  }

  /// The JSON of one value.
  template <class T>
  static nlohmann::json to_json(const T& x) {
    namespace d = store::detail;
    using V = std::remove_cv_t<T>;
    if constexpr (std::is_same_v<V, money>) {
      return x.to_string();
    } else if constexpr (std::is_same_v<V, bool> || std::is_arithmetic_v<V>) {
      return x;
    } else if constexpr (std::is_enum_v<V>) {
      return static_cast<std::underlying_type_t<V>>(x);
    } else if constexpr (std::is_same_v<V, std::string> || std::is_same_v<V, std::string_view>) {
      return std::string{x};
    } else if constexpr (std::is_same_v<V, std::monostate>) {
      return nullptr;
    } else if constexpr (d::is_instance_of_v<V, std::optional>) {
      return x ? to_json(*x) : nlohmann::json{};
    } else if constexpr (d::is_instance_of_v<V, std::variant>) {
      return nlohmann::json{{"index", x.index()},
                            {"value", std::visit([](const auto& alt) { return to_json(alt); }, x)}};
    } else if constexpr (d::is_instance_of_v<V, std::pair> || d::is_instance_of_v<V, std::tuple>) {
      auto out = nlohmann::json::array();
      std::apply([&out](const auto&... member) { (out.push_back(to_json(member)), ...); }, x);
      return out;
    } else if constexpr (d::is_map_v<V>) {
      auto out = nlohmann::json::array();
      for (const auto& [key, value] : x)
        out.push_back(nlohmann::json::array({to_json(key), to_json(value)}));
      return out;
    } else if constexpr (d::is_std_array_v<V> || d::is_instance_of_v<V, std::vector> || d::is_set_v<V>) {
      auto out = nlohmann::json::array();
      for (const auto& element : x)
        out.push_back(to_json(static_cast<const typename V::value_type&>(element)));
      return out;
    } else if constexpr (d::is_duration_v<V>) {
      return x.count();
    } else if constexpr (d::is_time_point_v<V>) {
      return x.time_since_epoch().count();
    } else if constexpr (d::inspectable<json_writer, V>) {
      nlohmann::json out = nlohmann::json::array();
      json_writer writer{out};
      // inspect() takes its object by mutable reference (CAF's convention); the writer only reads it.
      static_cast<void>(inspect(writer, const_cast<V&>(x)));
      return out;
    } else {
      static_assert(d::always_false_v<V>, "cairn::inspect_tool::json_writer: type has no inspect() overload");
    }
  }

private:
  nlohmann::json* out_;
};

} // namespace cairn::inspect_tool
