// Stream names are built and parsed in one place, and type names that would make them ambiguous are invalid.
#include <cairn/domains/order.hpp>
#include <cairn/stream_name.hpp>

#include <catch2/catch.hpp>

#include <string>

using namespace cairn;

TEST_CASE("stream_name: '<type_name>-<id>', and parse_stream_name gives the parts back", "[stream_name]") {
  CHECK(stream_name("order", "o-1") == "order-o-1");
  CHECK(stream_name<domains::orders::order>("o-1") == "order-o-1");
  CHECK(stream_prefix("order") == "order-");
  auto ref = parse_stream_name("order-o-1");
  REQUIRE(ref);
  CHECK(ref->type_name == "order");
  CHECK(ref->id == "o-1"); // a '-' in the id stays in the id: type names have none
}

TEST_CASE("parse_stream_name refuses what is not a stream name", "[stream_name]") {
  CHECK_FALSE(parse_stream_name(""));
  CHECK_FALSE(parse_stream_name("order"));
  CHECK_FALSE(parse_stream_name("order-"));
  CHECK_FALSE(parse_stream_name("-o-1"));
  CHECK_FALSE(parse_stream_name("Order-o-1"));
}

TEST_CASE("id_in_stream gives the id only for streams of the named type", "[stream_name]") {
  CHECK(id_in_stream("order-o-1", "order") == std::optional<std::string_view>{"o-1"});
  CHECK_FALSE(id_in_stream("order_fulfillment-o-1", "order"));
  CHECK_FALSE(id_in_stream("orders-o-1", "order"));
  CHECK_FALSE(id_in_stream("order-", "order"));
  CHECK_FALSE(id_in_stream("product-p-1", "order"));
}

TEST_CASE("valid_type_name refuses names that would make stream names ambiguous", "[stream_name]") {
  CHECK(valid_type_name("order"));
  CHECK(valid_type_name("order_fulfillment"));
  CHECK(valid_type_name("shop.order2"));
  CHECK_FALSE(valid_type_name(""));
  CHECK_FALSE(valid_type_name("order-line")); // "order-line-1": order "line-1" or order-line "1"?
  CHECK_FALSE(valid_type_name("Order"));
  CHECK_FALSE(valid_type_name("1order"));
  CHECK_FALSE(valid_type_name("or der"));
  CHECK_FALSE(valid_type_name(std::string(max_type_name_bytes + 1, 'a')));
  CHECK(valid_type_name(std::string(max_type_name_bytes, 'a')));
}
