// Helpers for the domain-layer tests: driving an aggregate_root command by command, and a token codec written as
// an inspector, which encodes and decodes commands, events and snapshots through their inspect() overloads.
//
// The codec accepts only the field types cairn allows in messages and snapshots (std::string, integers, bool,
// enums, and through their own inspect(): cairn::money, structs, std::vectors and std::variants of them). A message with any
// other field type, or an inspect() that forgets a field, fails these tests; a CAF-only construct would not
// compile.
//
// Thread-safety: test code, single-threaded.
#pragma once

#include <cairn/aggregate.hpp>
#include <cairn/money.hpp>

#include <catch2/catch.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace cairn::testing {

template <class T>
inline constexpr bool is_vector_v = false;

template <class T, class Alloc>
inline constexpr bool is_vector_v<std::vector<T, Alloc>> = true;

template <class T>
inline constexpr bool is_variant_v = false;

template <class... Ts>
inline constexpr bool is_variant_v<std::variant<Ts...>> = true;

template <class Inspector, class T>
concept inspectable_by = requires(Inspector& f, T& x) { inspect(f, x); };

/// Encodes values as a list of tokens, one per integer, bool or string, with a length before each vector.
class token_writer {
public:
  template <class... Ts>
  bool operator()(Ts&... xs) {
    (write(xs), ...);
    return true;
  }

  std::vector<std::string> tokens;

private:
  template <class T>
  void write(T& x) {
    if constexpr (std::is_same_v<T, std::string>) {
      tokens.push_back(x);
    } else if constexpr (std::is_same_v<T, bool>) {
      tokens.emplace_back(x ? "1" : "0");
    } else if constexpr (std::is_enum_v<T>) {
      auto underlying = static_cast<std::underlying_type_t<T>>(x);
      write(underlying);
    } else if constexpr (std::is_integral_v<T>) {
      tokens.push_back(std::to_string(x));
    } else if constexpr (is_vector_v<T>) {
      tokens.push_back(std::to_string(x.size()));
      for (auto& element : x)
        write(element);
    } else if constexpr (is_variant_v<T>) {
      tokens.push_back(std::to_string(x.index()));
      std::visit([this](auto& alternative) { write(alternative); }, x);
    } else {
      static_assert(inspectable_by<token_writer, T>, "a field type cairn does not allow, or without inspect()");
      inspect(*this, x);
    }
  }
};

/// Decodes what a token_writer wrote; a mismatch makes operator() return false.
class token_reader {
public:
  explicit token_reader(std::vector<std::string> tokens) : tokens_(std::move(tokens)) {}

  template <class... Ts>
  bool operator()(Ts&... xs) {
    return (read(xs) && ...);
  }

  bool at_end() const noexcept {
    return next_ == tokens_.size();
  }

private:
  template <class T>
  bool read(T& x) {
    if constexpr (std::is_same_v<T, std::string>) {
      if (at_end())
        return false;
      x = tokens_[next_++];
      return true;
    } else if constexpr (std::is_same_v<T, bool>) {
      int bit = 0;
      if (!read(bit) || (bit != 0 && bit != 1))
        return false;
      x = bit == 1;
      return true;
    } else if constexpr (std::is_enum_v<T>) {
      std::underlying_type_t<T> underlying{};
      if (!read(underlying))
        return false;
      x = static_cast<T>(underlying);
      return true;
    } else if constexpr (std::is_integral_v<T>) {
      std::string text;
      if (!read(text))
        return false;
      x = parse_integer<T>(text);
      return std::to_string(x) == text; // rejects text that did not fit T
    } else if constexpr (is_vector_v<T>) {
      std::size_t size = 0;
      if (!read(size))
        return false;
      x.assign(size, typename T::value_type{});
      for (auto& element : x)
        if (!read(element))
          return false;
      return true;
    } else if constexpr (is_variant_v<T>) {
      std::size_t index = 0;
      if (!read(index))
        return false;
      return read_alternative(x, index, std::make_index_sequence<std::variant_size_v<T>>{});
    } else {
      static_assert(inspectable_by<token_reader, T>, "a field type cairn does not allow, or without inspect()");
      return static_cast<bool>(inspect(*this, x));
    }
  }

  template <class V, std::size_t... Is>
  bool read_alternative(V& x, std::size_t index, std::index_sequence<Is...>) {
    bool ok = false;
    ((index == Is ? (x.template emplace<Is>(), ok = read(std::get<Is>(x))) : false), ...);
    return ok;
  }

  template <class T>
  static T parse_integer(const std::string& text) {
    if constexpr (std::is_signed_v<T>)
      return static_cast<T>(std::stoll(text));
    else
      return static_cast<T>(std::stoull(text));
  }

  std::vector<std::string> tokens_;
  std::size_t next_ = 0;
};

/// Encodes `value` through its inspect() and decodes it into a default-constructed T.
template <class T>
T round_trip(const T& value) {
  T source = value;
  token_writer writer;
  writer(source);
  token_reader reader{writer.tokens};
  T decoded{};
  REQUIRE(reader(decoded));
  REQUIRE(reader.at_end());
  return decoded;
}

/// Round-trips every sample through inspect(); the samples must cover every alternative of the variant.
template <class Variant>
void check_round_trips(const std::vector<Variant>& samples) {
  std::set<std::size_t> covered;
  for (const auto& sample : samples) {
    covered.insert(sample.index());
    std::visit([](const auto& x) { CHECK(round_trip(x) == x); }, sample);
  }
  CHECK(covered.size() == std::variant_size_v<Variant>);
}

/// What cairn asks of a command or event type.
template <class T>
concept message_type = std::is_aggregate_v<T> && std::default_initializable<T> && std::copyable<T> &&
                       std::equality_comparable<T>;

template <class Variant>
inline constexpr bool all_message_types = false;

template <class... Ts>
inline constexpr bool all_message_types<std::variant<Ts...>> = (message_type<Ts> && ...);

/// The event_type names of every alternative of an event variant, in order.
template <class... Es>
std::vector<std::string_view> event_types(std::type_identity<std::variant<Es...>>) {
  return {Es::event_type...};
}

/// Every event type is named "<prefix>.<something>" (the prefix is the type_name unless given), and no name is
/// used twice.
template <aggregate A>
void check_event_types(std::string_view type_prefix = A::type_name) {
  const auto names = event_types(std::type_identity<typename A::event>{});
  const std::set<std::string_view> distinct(names.begin(), names.end());
  CHECK(distinct.size() == names.size());
  const std::string prefix = std::string{type_prefix} + ".";
  for (auto name : names) {
    INFO(name);
    CHECK(name.starts_with(prefix));
    CHECK(name.size() > prefix.size());
  }
}

/// The schema version of every event of A.
template <class... Es>
std::vector<std::uint32_t> schema_versions(std::type_identity<std::variant<Es...>>) {
  return {Es::schema_version...};
}

/// Decides `cmd`, requires it accepted, applies its events and returns them.
template <aggregate A>
std::vector<typename A::event> require_accepted(aggregate_root<A>& root, const typename A::command& cmd) {
  auto outcome = root.decide(cmd);
  INFO("rejected: " << (outcome ? std::string{} : outcome.error().message));
  REQUIRE(outcome.accepted());
  root.apply(outcome.events());
  return std::move(outcome).events();
}

/// Decides `cmd`, requires it rejected with a message containing `expected`, and the root unchanged.
template <aggregate A>
void require_rejected(aggregate_root<A>& root, const typename A::command& cmd, const std::string& expected) {
  const A state_before = root.state();
  const auto version_before = root.version();
  const auto outcome = root.decide(cmd);
  REQUIRE_FALSE(outcome.accepted());
  CHECK_THAT(outcome.error().message, Catch::Matchers::Contains(expected));
  CHECK(root.state() == state_before);
  CHECK(root.version() == version_before);
}

/// Snapshots the root's state through inspect() and restores it into a fresh root of the same id.
template <snapshottable A>
aggregate_root<A> restored_from_snapshot(const aggregate_root<A>& root) {
  aggregate_root<A> restored{root.id()};
  restored.restore(round_trip(root.state()), root.version());
  return restored;
}

} // namespace cairn::testing
