#include <cairn/money.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

using cairn::money;

namespace {

constexpr auto int64_max = std::numeric_limits<std::int64_t>::max();
constexpr auto int64_min = std::numeric_limits<std::int64_t>::min();

} // namespace

TEST_CASE("money: to_string writes two decimal places", "[money]") {
  CHECK(money::from_minor(1250).to_string() == "12.50");
  CHECK(money::from_minor(-5).to_string() == "-0.05");
  CHECK(money::from_minor(0).to_string() == "0.00");
  CHECK(money::from_minor(7).to_string() == "0.07");
  CHECK(money::from_minor(100).to_string() == "1.00");
  CHECK(money::from_minor(-123456).to_string() == "-1234.56");
  CHECK(money::from_minor(int64_max).to_string() == "92233720368547758.07");
  CHECK(money::from_minor(int64_min).to_string() == "-92233720368547758.08");
}

TEST_CASE("money: parse accepts whole amounts, one or two decimals and a leading minus", "[money]") {
  CHECK(money::parse("12") == money::from_minor(1200));
  CHECK(money::parse("12.5") == money::from_minor(1250));
  CHECK(money::parse("12.50") == money::from_minor(1250));
  CHECK(money::parse("-0.05") == money::from_minor(-5));
  CHECK(money::parse("-12") == money::from_minor(-1200));
  CHECK(money::parse("0") == money::from_minor(0));
  CHECK(money::parse("-0.00") == money::from_minor(0));
  CHECK(money::parse("007.10") == money::from_minor(710));
  CHECK(money::parse("92233720368547758.07") == money::from_minor(int64_max));
  CHECK(money::parse("-92233720368547758.08") == money::from_minor(int64_min));
}

TEST_CASE("money: parse rejects malformed text", "[money]") {
  for (const char* text : {"", "-", "1.234", "abc", "1e3", "1.", ".5", "-.5", "+1", " 1", "1 ", "1,00", "--1",
                           "1.2.3", "1.-5", "0x10", "12a", "1.5a"}) {
    INFO("text: '" << text << "'");
    CHECK_FALSE(money::parse(text).has_value());
  }
}

TEST_CASE("money: parse rejects amounts that overflow", "[money]") {
  CHECK_FALSE(money::parse("92233720368547758.08").has_value());
  CHECK_FALSE(money::parse("-92233720368547758.09").has_value());
  CHECK_FALSE(money::parse("92233720368547759").has_value());
  CHECK_FALSE(money::parse("99999999999999999999999").has_value());
}

TEST_CASE("money: to_string and parse round-trip", "[money]") {
  for (std::int64_t units : {std::int64_t{0}, std::int64_t{1}, std::int64_t{-1}, std::int64_t{99},
                             std::int64_t{-100}, std::int64_t{123456789}, int64_max, int64_min}) {
    const auto value = money::from_minor(units);
    CHECK(money::parse(value.to_string()) == value);
  }
}

TEST_CASE("money: checked_add adds and reports overflow", "[money]") {
  CHECK(cairn::checked_add(money::from_minor(150), money::from_minor(250)) == money::from_minor(400));
  CHECK(cairn::checked_add(money::from_minor(-150), money::from_minor(100)) == money::from_minor(-50));
  CHECK(cairn::checked_add(money::from_minor(int64_max), money::from_minor(0)) == money::from_minor(int64_max));
  CHECK_FALSE(cairn::checked_add(money::from_minor(int64_max), money::from_minor(1)).has_value());
  CHECK_FALSE(cairn::checked_add(money::from_minor(int64_min), money::from_minor(-1)).has_value());
}

TEST_CASE("money: checked_mul multiplies and reports overflow", "[money]") {
  CHECK(cairn::checked_mul(money::from_minor(150), 3) == money::from_minor(450));
  CHECK(cairn::checked_mul(money::from_minor(150), 0) == money::from_minor(0));
  CHECK(cairn::checked_mul(money::from_minor(-150), 2) == money::from_minor(-300));
  CHECK(cairn::checked_mul(money::from_minor(int64_max), 1) == money::from_minor(int64_max));
  CHECK_FALSE(cairn::checked_mul(money::from_minor(int64_max), 2).has_value());
  CHECK_FALSE(cairn::checked_mul(money::from_minor(int64_min), -1).has_value());
  CHECK_FALSE(cairn::checked_mul(money::from_minor(1'000'000), int64_max / 100).has_value());
}

TEST_CASE("money: compares by amount", "[money]") {
  CHECK(money::from_minor(1) > money::from_minor(0));
  CHECK(money::from_minor(-1) < money{});
  CHECK(money::from_minor(250) == money::from_minor(250));
}
