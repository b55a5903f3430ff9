// cairn's own stable binary encoding of any type with a CAF-style `inspect()`: the bytes of event payloads and
// snapshots (see docs/store.md, "Payload encoding").
//
// A type opts in with the same overload that CAF 0.17 uses for messages:
//
//   template <class Inspector>
//   auto inspect(Inspector& f, line_added& x) { return f(x.sku, x.quantity, x.price); }
//
// Fields are written in the order they are named, without names or tags: the schema is the inspect() function,
// so changing it (adding, removing or reordering fields) is a new schema_version of the event and needs an
// upcaster (event_codec.hpp) for the old bytes. CAF's meta annotations (`caf::meta::type_name` etc.) are not
// understood; inspect() functions meant for cairn pass fields only.
//
// The encoding, fixed for store format 1:
//   bool                       one byte, 0 or 1
//   8-bit integers, char       one byte, as is
//   wider unsigned integers    LEB128 varint (7 bits a byte, least significant first, at most 10 bytes)
//   wider signed integers      zigzag ((n << 1) ^ (n >> 63)), then LEB128 varint
//   enums                      as their underlying integer type
//   float, double              IEEE-754 bits, fixed 4 / 8 bytes little-endian
//   std::string                varint byte count, then the bytes
//   vector, set, map, ...      varint element count, then the elements (a map's as key, value, key, value ...)
//   std::array<T, N>           the N elements, no count
//   std::optional<T>           one byte 0 (empty) or 1, then the value
//   std::variant<Ts...>        varint alternative index, then the value
//   pair, tuple                the members in order
//   std::chrono duration       its count(); a time_point as its time_since_epoch()
//   std::monostate             nothing
//   anything with inspect()    the fields inspect() names, in order
//
// Decoding never reads out of bounds and never throws on bad input: binary_reader records the first failure and
// stops. A container's element count may not exceed the bytes left (so hostile counts cannot allocate), which
// means containers of elements that encode to zero bytes are not supported. Nesting is limited to
// binary_reader::max_depth levels.
//
// Thread-safety: binary_writer and binary_reader are used by one thread at a time; encode() and decode() are
// safe to call concurrently on distinct objects.
#pragma once

#include <cairn/store/result.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

namespace cairn::store {

namespace detail {

/// Appends `value` as an LEB128 varint.
inline void put_varint(std::string& out, std::uint64_t value) {
  char buf[10];
  std::size_t n = 0;
  while (value >= 0x80) {
    buf[n++] = static_cast<char>(static_cast<std::uint8_t>(value) | 0x80);
    value >>= 7;
  }
  buf[n++] = static_cast<char>(value);
  out.append(buf, n);
}

/// Reads an LEB128 varint at `pos`, advancing it; false on truncation or a value beyond 64 bits.
inline bool get_varint(std::string_view in, std::size_t& pos, std::uint64_t& value) noexcept {
  std::uint64_t result = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (pos >= in.size())
      return false;
    const auto byte = static_cast<std::uint8_t>(in[pos++]);
    // The tenth byte may only carry the top bit of a 64-bit value.
    if (shift == 63 && byte > 1)
      return false;
    result |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      value = result;
      return true;
    }
  }
  return false;
}

inline constexpr std::uint64_t zigzag(std::int64_t value) noexcept {
  return (static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63);
}

inline constexpr std::int64_t unzigzag(std::uint64_t value) noexcept {
  return static_cast<std::int64_t>(value >> 1) ^ -static_cast<std::int64_t>(value & 1);
}

template <class T, template <class...> class Template>
inline constexpr bool is_instance_of_v = false;
template <template <class...> class Template, class... Ts>
inline constexpr bool is_instance_of_v<Template<Ts...>, Template> = true;

template <class T>
inline constexpr bool is_std_array_v = false;
template <class T, std::size_t N>
inline constexpr bool is_std_array_v<std::array<T, N>> = true;

template <class T>
inline constexpr bool is_duration_v = false;
template <class Rep, class Period>
inline constexpr bool is_duration_v<std::chrono::duration<Rep, Period>> = true;

template <class T>
inline constexpr bool is_time_point_v = false;
template <class Clock, class Duration>
inline constexpr bool is_time_point_v<std::chrono::time_point<Clock, Duration>> = true;

template <class T>
inline constexpr bool is_map_v = is_instance_of_v<T, std::map> || is_instance_of_v<T, std::unordered_map>;

template <class T>
inline constexpr bool is_set_v = is_instance_of_v<T, std::set> || is_instance_of_v<T, std::unordered_set>;

// Integers that are encoded as one raw byte: the encoding of `char` must not depend on its signedness.
template <class T>
inline constexpr bool is_byte_integer_v = std::is_integral_v<T> && sizeof(T) == 1 && !std::is_same_v<T, bool>;

// Only argument-dependent lookup finds the inspect() overloads of user types.
template <class Inspector, class T>
concept inspectable = requires(Inspector& f, T& x) { inspect(f, x); };

template <class T>
inline constexpr bool always_false_v = false;

} // namespace detail

/// Writes values in cairn's binary encoding, appending to a string. The CAF-style inspector for encoding.
class binary_writer {
public:
  using result_type = bool;
  static constexpr bool reads_state = true;
  static constexpr bool writes_state = false;

  /// Appends to `out`, which must outlive the writer.
  explicit binary_writer(std::string& out) noexcept : out_(&out) {}

  /// Writes each argument in order; what inspect() functions call.
  template <class... Ts>
  bool operator()(Ts&&... xs) {
    (write(xs), ...);
    return true;
  }

  template <class T>
  void write(const T& x) {
    using V = std::remove_cv_t<T>;
    if constexpr (std::is_same_v<V, bool>) {
      out_->push_back(x ? '\1' : '\0');
    } else if constexpr (detail::is_byte_integer_v<V>) {
      out_->push_back(static_cast<char>(x));
    } else if constexpr (std::is_integral_v<V> && std::is_unsigned_v<V>) {
      detail::put_varint(*out_, x);
    } else if constexpr (std::is_integral_v<V>) {
      detail::put_varint(*out_, detail::zigzag(x));
    } else if constexpr (std::is_enum_v<V>) {
      write(static_cast<std::underlying_type_t<V>>(x));
    } else if constexpr (std::is_same_v<V, float>) {
      put_fixed(std::bit_cast<std::uint32_t>(x));
    } else if constexpr (std::is_same_v<V, double>) {
      put_fixed(std::bit_cast<std::uint64_t>(x));
    } else if constexpr (std::is_same_v<V, std::string> || std::is_same_v<V, std::string_view>) {
      detail::put_varint(*out_, x.size());
      out_->append(x.data(), x.size());
    } else if constexpr (std::is_same_v<V, std::monostate>) {
      // encodes to nothing
    } else if constexpr (detail::is_instance_of_v<V, std::optional>) {
      out_->push_back(x.has_value() ? '\1' : '\0');
      if (x)
        write(*x);
    } else if constexpr (detail::is_instance_of_v<V, std::variant>) {
      detail::put_varint(*out_, x.index());
      // A default capture: for an alternative that encodes to nothing (std::monostate) the lambda uses nothing,
      // and clang warns about an unused [this].
      std::visit([&](const auto& alt) { write(alt); }, x);
    } else if constexpr (detail::is_instance_of_v<V, std::pair> || detail::is_instance_of_v<V, std::tuple>) {
      // A default capture: for an empty tuple the lambda uses nothing, and clang warns about an unused [this].
      std::apply([&](const auto&... member) { (write(member), ...); }, x);
    } else if constexpr (detail::is_std_array_v<V>) {
      for (const auto& element : x)
        write(element);
    } else if constexpr (detail::is_instance_of_v<V, std::vector> || detail::is_set_v<V>) {
      detail::put_varint(*out_, x.size());
      for (const auto& element : x)
        write(static_cast<const typename V::value_type&>(element));
    } else if constexpr (detail::is_map_v<V>) {
      detail::put_varint(*out_, x.size());
      for (const auto& [key, value] : x) {
        write(key);
        write(value);
      }
    } else if constexpr (detail::is_duration_v<V>) {
      write(x.count());
    } else if constexpr (detail::is_time_point_v<V>) {
      write(x.time_since_epoch());
    } else if constexpr (detail::inspectable<binary_writer, V>) {
      // inspect() takes its object by mutable reference (CAF's convention); a writer only reads it.
      inspect(*this, const_cast<V&>(x));
    } else {
      static_assert(detail::always_false_v<V>, "cairn::store::binary_writer: type has no inspect() overload");
    }
  }

private:
  template <class U>
  void put_fixed(U bits) {
    char buf[sizeof(U)];
    for (std::size_t i = 0; i < sizeof(U); ++i)
      buf[i] = static_cast<char>(static_cast<std::uint8_t>(bits >> (8 * i)));
    out_->append(buf, sizeof(U));
  }

  std::string* out_;
};

/// Reads values in cairn's binary encoding from a byte range. The CAF-style inspector for decoding. It never
/// reads out of bounds and never throws on malformed input: the first failure is recorded (see ok(), failure())
/// and every later read fails at once.
class binary_reader {
public:
  using result_type = bool;
  static constexpr bool reads_state = false;
  static constexpr bool writes_state = true;

  /// Nesting of containers and inspected types beyond this depth is treated as malformed input.
  static constexpr unsigned max_depth = 128;

  /// Reads from `bytes`, which must outlive the reader.
  explicit binary_reader(std::string_view bytes) noexcept : in_(bytes) {}

  /// Reads each argument in order; what inspect() functions call. False once anything failed.
  template <class... Ts>
  bool operator()(Ts&&... xs) {
    return (read(xs) && ...);
  }

  bool ok() const noexcept {
    return failure_ == nullptr;
  }
  /// Why reading failed (nullptr while ok()).
  const char* failure() const noexcept {
    return failure_;
  }
  /// The byte offset of the failure, or of the next byte to read while ok().
  std::size_t offset() const noexcept {
    return pos_;
  }
  std::size_t remaining() const noexcept {
    return in_.size() - pos_;
  }

  template <class T>
  bool read(T& x) {
    if (failure_ != nullptr)
      return false;
    using V = std::remove_cv_t<T>;
    if constexpr (std::is_same_v<V, bool>) {
      std::uint8_t b = 0;
      if (!get_byte(b))
        return false;
      if (b > 1)
        return fail("bool is neither 0 nor 1");
      x = b == 1;
      return true;
    } else if constexpr (detail::is_byte_integer_v<V>) {
      std::uint8_t b = 0;
      if (!get_byte(b))
        return false;
      x = static_cast<V>(b);
      return true;
    } else if constexpr (std::is_integral_v<V> && std::is_unsigned_v<V>) {
      std::uint64_t v = 0;
      if (!detail::get_varint(in_, pos_, v))
        return fail("truncated or overlong varint");
      if (v > std::numeric_limits<V>::max())
        return fail("integer out of range");
      x = static_cast<V>(v);
      return true;
    } else if constexpr (std::is_integral_v<V>) {
      std::uint64_t raw = 0;
      if (!detail::get_varint(in_, pos_, raw))
        return fail("truncated or overlong varint");
      const std::int64_t v = detail::unzigzag(raw);
      if (v < std::numeric_limits<V>::min() || v > std::numeric_limits<V>::max())
        return fail("integer out of range");
      x = static_cast<V>(v);
      return true;
    } else if constexpr (std::is_enum_v<V>) {
      std::underlying_type_t<V> v{};
      if (!read(v))
        return false;
      x = static_cast<V>(v);
      return true;
    } else if constexpr (std::is_same_v<V, float>) {
      std::uint32_t bits = 0;
      if (!get_fixed(bits))
        return false;
      x = std::bit_cast<float>(bits);
      return true;
    } else if constexpr (std::is_same_v<V, double>) {
      std::uint64_t bits = 0;
      if (!get_fixed(bits))
        return false;
      x = std::bit_cast<double>(bits);
      return true;
    } else if constexpr (std::is_same_v<V, std::string>) {
      std::size_t n = 0;
      if (!get_count(n))
        return false;
      x.assign(in_.data() + pos_, n);
      pos_ += n;
      return true;
    } else if constexpr (std::is_same_v<V, std::monostate>) {
      return true;
    } else if constexpr (detail::is_instance_of_v<V, std::optional>) {
      bool engaged = false;
      if (!read(engaged))
        return false;
      if (!engaged) {
        x.reset();
        return true;
      }
      depth_guard guard{*this};
      return guard.ok && read(x.emplace());
    } else if constexpr (detail::is_instance_of_v<V, std::variant>) {
      std::uint64_t index = 0;
      if (!detail::get_varint(in_, pos_, index))
        return fail("truncated variant index");
      if (index >= std::variant_size_v<V>)
        return fail("variant index out of range");
      depth_guard guard{*this};
      return guard.ok && read_alternative(x, static_cast<std::size_t>(index),
                                          std::make_index_sequence<std::variant_size_v<V>>{});
    } else if constexpr (detail::is_instance_of_v<V, std::pair> || detail::is_instance_of_v<V, std::tuple>) {
      return std::apply([&](auto&... member) { return (read(member) && ...); }, x);
    } else if constexpr (detail::is_std_array_v<V>) {
      depth_guard guard{*this};
      if (!guard.ok)
        return false;
      for (auto& element : x)
        if (!read(element))
          return false;
      return true;
    } else if constexpr (detail::is_instance_of_v<V, std::vector>) {
      std::size_t n = 0;
      if (!get_count(n))
        return false;
      depth_guard guard{*this};
      if (!guard.ok)
        return false;
      x.clear();
      // The count is bounded by the bytes left, not by what they could hold once decoded: reserve modestly.
      x.reserve(std::min<std::size_t>(n, 4096));
      for (std::size_t i = 0; i < n; ++i) {
        typename V::value_type element{};
        if (!read(element))
          return false;
        x.push_back(std::move(element));
      }
      return true;
    } else if constexpr (detail::is_set_v<V>) {
      std::size_t n = 0;
      if (!get_count(n))
        return false;
      depth_guard guard{*this};
      if (!guard.ok)
        return false;
      x.clear();
      for (std::size_t i = 0; i < n; ++i) {
        typename V::value_type element{};
        if (!read(element))
          return false;
        if (!x.insert(std::move(element)).second)
          return fail("duplicate set element");
      }
      return true;
    } else if constexpr (detail::is_map_v<V>) {
      std::size_t n = 0;
      if (!get_count(n))
        return false;
      depth_guard guard{*this};
      if (!guard.ok)
        return false;
      x.clear();
      for (std::size_t i = 0; i < n; ++i) {
        typename V::key_type key{};
        typename V::mapped_type value{};
        if (!read(key) || !read(value))
          return false;
        if (!x.emplace(std::move(key), std::move(value)).second)
          return fail("duplicate map key");
      }
      return true;
    } else if constexpr (detail::is_duration_v<V>) {
      typename V::rep count{};
      if (!read(count))
        return false;
      x = V{count};
      return true;
    } else if constexpr (detail::is_time_point_v<V>) {
      typename V::duration since_epoch{};
      if (!read(since_epoch))
        return false;
      x = V{since_epoch};
      return true;
    } else if constexpr (detail::inspectable<binary_reader, V>) {
      depth_guard guard{*this};
      if (!guard.ok)
        return false;
      // The return value of inspect() is the conjunction of our own results; the recorded failure is the truth.
      static_cast<void>(inspect(*this, x));
      return failure_ == nullptr;
    } else {
      static_assert(detail::always_false_v<V>, "cairn::store::binary_reader: type has no inspect() overload");
    }
  }

private:
  struct depth_guard {
    binary_reader& self;
    bool ok;
    explicit depth_guard(binary_reader& r) : self(r), ok(++r.depth_ <= max_depth) {
      if (!ok)
        r.fail("nesting too deep");
    }
    ~depth_guard() {
      --self.depth_;
    }
    depth_guard(const depth_guard&) = delete;
    depth_guard& operator=(const depth_guard&) = delete;
  };

  bool fail(const char* why) noexcept {
    if (failure_ == nullptr)
      failure_ = why;
    return false;
  }

  bool get_byte(std::uint8_t& b) noexcept {
    if (pos_ >= in_.size())
      return fail("truncated");
    b = static_cast<std::uint8_t>(in_[pos_++]);
    return true;
  }

  template <class U>
  bool get_fixed(U& bits) noexcept {
    if (remaining() < sizeof(U))
      return fail("truncated");
    U v = 0;
    for (std::size_t i = 0; i < sizeof(U); ++i)
      v |= static_cast<U>(static_cast<std::uint8_t>(in_[pos_ + i])) << (8 * i);
    pos_ += sizeof(U);
    bits = v;
    return true;
  }

  // A length or element count: it may not exceed the bytes left, which bounds every allocation by the input.
  bool get_count(std::size_t& n) noexcept {
    std::uint64_t v = 0;
    if (!detail::get_varint(in_, pos_, v))
      return fail("truncated length");
    if (v > remaining())
      return fail("length exceeds the bytes left");
    n = static_cast<std::size_t>(v);
    return true;
  }

  template <class V, std::size_t... Is>
  bool read_alternative(V& x, std::size_t index, std::index_sequence<Is...>) {
    bool result = false;
    static_cast<void>(((index == Is ? (result = read(x.template emplace<Is>()), true) : false) || ...));
    return result;
  }

  std::string_view in_;
  std::size_t pos_ = 0;
  unsigned depth_ = 0;
  const char* failure_ = nullptr;
};

/// Appends the encoding of `x` to `out` (lets a hot path reuse one buffer).
template <class T>
void encode_to(std::string& out, const T& x) {
  binary_writer writer{out};
  writer.write(x);
}

/// The encoding of `x`.
template <class T>
std::string encode(const T& x) {
  std::string out;
  encode_to(out, x);
  return out;
}

/// Decodes all of `bytes` into `out`. errc::corrupt_data on malformed or truncated input or on trailing bytes
/// (`out` is then in an unspecified but valid state).
template <class T>
status decode(std::string_view bytes, T& out) {
  try {
    binary_reader reader{bytes};
    if (!reader.read(out))
      return error{errc::corrupt_data, std::string{"payload does not decode at byte "} +
                                           std::to_string(reader.offset()) + " of " +
                                           std::to_string(bytes.size()) + ": " + reader.failure()};
    if (reader.remaining() != 0)
      return error{errc::corrupt_data, std::to_string(reader.remaining()) + " trailing bytes after the payload"};
    return ok;
  } catch (const std::exception& e) {
    // Only resource exhaustion (bad_alloc, length_error) can land here; the reader itself does not throw.
    return error{errc::corrupt_data, std::string{"payload could not be decoded: "} + e.what()};
  }
}

} // namespace cairn::store
