// cairn::store codec: the stable binary encoding of inspectable types.
#include <cairn/store/codec.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <variant>
#include <vector>

using namespace cairn::store;
using namespace std::string_literals;

namespace codec_test {

enum class colour : std::uint8_t { red = 1, green = 2 };
enum class wide : std::int32_t { low = -100000, high = 100000 };

struct cents {
  std::int64_t minor_units = 0;
  friend bool operator==(const cents&, const cents&) = default;
};
template <class Inspector>
auto inspect(Inspector& f, cents& x) {
  return f(x.minor_units);
}

struct line {
  std::string sku;
  std::uint32_t quantity = 0;
  cents price;
  friend bool operator==(const line&, const line&) = default;
};
template <class Inspector>
auto inspect(Inspector& f, line& x) {
  return f(x.sku, x.quantity, x.price);
}

struct everything {
  bool flag = false;
  char letter = 0;
  std::int8_t i8 = 0;
  std::uint8_t u8 = 0;
  std::int16_t i16 = 0;
  std::uint16_t u16 = 0;
  std::int32_t i32 = 0;
  std::uint32_t u32 = 0;
  std::int64_t i64 = 0;
  std::uint64_t u64 = 0;
  float f = 0;
  double d = 0;
  colour c = colour::red;
  wide w = wide::low;
  std::string text;
  std::vector<line> lines;
  std::vector<bool> bits;
  std::optional<std::string> maybe;
  std::optional<line> maybe_line;
  std::variant<std::monostate, std::int64_t, std::string, line> choice;
  std::map<std::string, std::int32_t> by_name;
  std::unordered_map<std::uint32_t, std::string> by_id;
  std::set<std::string> tags;
  std::array<std::uint16_t, 3> triple{};
  std::pair<std::string, cents> pair;
  std::tuple<bool, std::int32_t, std::string> tuple;
  std::chrono::milliseconds timeout{0};
  std::chrono::system_clock::time_point at{};
  friend bool operator==(const everything&, const everything&) = default;
};
template <class Inspector>
auto inspect(Inspector& f, everything& x) {
  return f(x.flag, x.letter, x.i8, x.u8, x.i16, x.u16, x.i32, x.u32, x.i64, x.u64, x.f, x.d, x.c, x.w, x.text,
           x.lines, x.bits, x.maybe, x.maybe_line, x.choice, x.by_name, x.by_id, x.tags, x.triple, x.pair, x.tuple,
           x.timeout, x.at);
}

// A recursive type: hostile input could nest it as deep as it has bytes.
struct node {
  std::vector<node> children;
};
template <class Inspector>
auto inspect(Inspector& f, node& x) {
  return f(x.children);
}

everything sample() {
  everything x;
  x.flag = true;
  x.letter = '\xe9';
  x.i8 = std::numeric_limits<std::int8_t>::min();
  x.u8 = 255;
  x.i16 = -12345;
  x.u16 = 65535;
  x.i32 = std::numeric_limits<std::int32_t>::min();
  x.u32 = std::numeric_limits<std::uint32_t>::max();
  x.i64 = std::numeric_limits<std::int64_t>::min();
  x.u64 = std::numeric_limits<std::uint64_t>::max();
  x.f = -1.5f;
  x.d = 3.141592653589793;
  x.c = colour::green;
  x.w = wide::high;
  x.text = "with\0nul and \xff bytes"s;
  x.lines = {line{"apple", 3, cents{150}}, line{"", 0, cents{-7}}};
  x.bits = {true, false, true, true};
  x.maybe = "";
  x.maybe_line = line{"pear", 1, cents{99}};
  x.choice = line{"fig", 2, cents{10}};
  x.by_name = {{"a", -1}, {"b", 2}};
  x.by_id = {{7, "seven"}, {70000, "many"}};
  x.tags = {"x", "y"};
  x.triple = {1, 300, 65535};
  x.pair = {"p", cents{5}};
  x.tuple = {true, -3, "t"};
  x.timeout = std::chrono::milliseconds{-250};
  x.at = std::chrono::system_clock::time_point{std::chrono::microseconds{1'700'000'000'000'000}};
  return x;
}

} // namespace codec_test

using namespace codec_test;

TEST_CASE("store/codec: every supported type round-trips", "[store][codec]") {
  const everything in = sample();
  const std::string bytes = encode(in);
  everything out;
  const auto st = decode(bytes, out);
  REQUIRE(st);
  CHECK(out == in);

  const everything empty{};
  everything out2 = sample();
  REQUIRE(decode(encode(empty), out2));
  CHECK(out2 == empty);
}

TEST_CASE("store/codec: the encoding is the documented one", "[store][codec]") {
  CHECK(encode(true) == "\x01"s);
  CHECK(encode(std::uint8_t{200}) == "\xc8"s);
  CHECK(encode('a') == "a"s);
  CHECK(encode(std::uint32_t{300}) == "\xac\x02"s);
  CHECK(encode(std::int32_t{-1}) == "\x01"s);
  CHECK(encode(std::int32_t{1}) == "\x02"s);
  CHECK(encode(std::int64_t{-64}) == "\x7f"s);
  CHECK(encode(std::numeric_limits<std::uint64_t>::max()) == "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"s);
  CHECK(encode(colour::green) == "\x02"s);
  CHECK(encode(1.0) == "\x00\x00\x00\x00\x00\x00\xf0\x3f"s);
  CHECK(encode(std::string{"ab"}) == "\x02" "ab"s);
  CHECK(encode(std::optional<std::int32_t>{}) == "\x00"s);
  CHECK(encode(std::optional<std::int32_t>{2}) == "\x01\x04"s);
  CHECK(encode(std::variant<std::int32_t, std::string>{std::string{"x"}}) == "\x01\x01x"s);
  CHECK(encode(std::vector<std::uint16_t>{1, 2}) == "\x02\x01\x02"s);
  CHECK(encode(std::array<std::uint16_t, 2>{1, 2}) == "\x01\x02"s);
  CHECK(encode(std::map<std::string, bool>{{"k", true}}) == "\x01\x01k\x01"s);
  CHECK(encode(line{"ab", 2, cents{-2}}) == "\x02" "ab\x02\x03"s);
}

TEST_CASE("store/codec: malformed input is an error, never a crash", "[store][codec]") {
  SECTION("truncated") {
    const std::string bytes = encode(sample());
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      everything out;
      const auto st = decode(std::string_view{bytes}.substr(0, n), out);
      REQUIRE_FALSE(st);
      CHECK(st.error().code() == errc::corrupt_data);
    }
  }
  SECTION("trailing bytes") {
    std::int32_t out = 0;
    const auto st = decode("\x02\x00"s, out);
    REQUIRE_FALSE(st);
    CHECK(st.error().code() == errc::corrupt_data);
    CHECK_THAT(st.error().message(), Catch::Contains("trailing"));
  }
  SECTION("a bool that is neither 0 nor 1") {
    bool out = false;
    CHECK_FALSE(decode("\x02"s, out));
  }
  SECTION("an integer out of its type's range") {
    std::uint16_t u = 0;
    CHECK_FALSE(decode(encode(std::uint32_t{70000}), u));
    std::int8_t i = 0;
    CHECK(decode(encode(std::int8_t{-128}), i));
    std::int16_t s = 0;
    CHECK_FALSE(decode(encode(std::int32_t{-40000}), s));
  }
  SECTION("an overlong varint") {
    std::uint64_t out = 0;
    CHECK_FALSE(decode("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02"s, out));
    CHECK_FALSE(decode("\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01"s, out));
  }
  SECTION("a count larger than the bytes left cannot allocate") {
    std::vector<std::uint64_t> v;
    CHECK_FALSE(decode("\xff\xff\xff\xff\x0f\x01"s, v));
    std::string s;
    CHECK_FALSE(decode("\x05" "abc"s, s));
  }
  SECTION("a variant index out of range") {
    std::variant<std::int32_t, std::string> v;
    CHECK_FALSE(decode("\x02\x00"s, v));
  }
  SECTION("duplicate map keys and set elements") {
    std::map<std::string, bool> m;
    CHECK_FALSE(decode("\x02\x01k\x01\x01k\x00"s, m));
    std::set<std::uint8_t> s;
    CHECK_FALSE(decode("\x02\x01\x01"s, s));
  }
  SECTION("nesting deeper than the reader allows") {
    std::string deep;
    for (unsigned i = 0; i < binary_reader::max_depth + 10; ++i)
      deep += '\x01';
    deep += '\x00';
    node n;
    const auto st = decode(deep, n);
    REQUIRE_FALSE(st);
    CHECK_THAT(st.error().message(), Catch::Contains("nesting"));

    std::string shallow;
    for (unsigned i = 0; i < 20; ++i)
      shallow += '\x01';
    shallow += '\x00';
    CHECK(decode(shallow, n));
  }
}

TEST_CASE("store/codec: random and mutated bytes never crash the reader", "[store][codec]") {
  std::mt19937_64 rng{20240611};
  const std::string valid = encode(sample());
  std::uniform_int_distribution<int> byte{0, 255};
  std::size_t decoded = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string bytes;
    if (round % 2 == 0) {
      bytes.resize(static_cast<std::size_t>(rng() % 64));
      for (auto& b : bytes)
        b = static_cast<char>(byte(rng));
    } else {
      bytes = valid;
      for (int flips = 0; flips < 3; ++flips)
        bytes[rng() % bytes.size()] = static_cast<char>(byte(rng));
      bytes.resize(rng() % (bytes.size() + 1));
    }
    everything out;
    const auto st = decode(bytes, out);
    if (st)
      ++decoded;
    else
      REQUIRE(st.error().code() == errc::corrupt_data);
    node n;
    static_cast<void>(decode(bytes, n));
  }
  // Nearly all of them are rejected; the point is that every call returned.
  CHECK(decoded < 20000);
}
