// cairn::store event_codec: events <-> event_records, upcasting, snapshots.
#include <cairn/store/event_codec.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

using namespace cairn::store;

namespace event_codec_test {

struct opened {
  static constexpr std::string_view event_type = "test.opened";
  static constexpr std::uint32_t schema_version = 1;
  std::string owner;
  std::int64_t limit = 0;
  friend bool operator==(const opened&, const opened&) = default;
};
template <class Inspector>
auto inspect(Inspector& f, opened& x) {
  return f(x.owner, x.limit);
}

// Version 2 added the currency.
struct deposited {
  static constexpr std::string_view event_type = "test.deposited";
  static constexpr std::uint32_t schema_version = 2;
  std::int64_t amount = 0;
  std::string currency;
  friend bool operator==(const deposited&, const deposited&) = default;
};
template <class Inspector>
auto inspect(Inspector& f, deposited& x) {
  return f(x.amount, x.currency);
}

struct closed {
  static constexpr std::string_view event_type = "test.closed";
  static constexpr std::uint32_t schema_version = 1;
  std::optional<std::string> reason;
  friend bool operator==(const closed&, const closed&) = default;
};
template <class Inspector>
auto inspect(Inspector& f, closed& x) {
  return f(x.reason);
}

using event = std::variant<opened, deposited, closed>;
using codec = event_codec<event>;

// Old shapes that exist only for the upcasters.
struct deposited_v1 {
  std::int64_t amount = 0;
};
template <class Inspector>
auto inspect(Inspector& f, deposited_v1& x) {
  return f(x.amount);
}

struct bulk_deposit_v1 {
  std::vector<std::int64_t> amounts;
};
template <class Inspector>
auto inspect(Inspector& f, bulk_deposit_v1& x) {
  return f(x.amounts);
}

event_record old_record(std::string type, std::uint32_t version, std::string payload) {
  return event_record{std::move(type), version, 42, std::move(payload)};
}

struct account {
  std::string owner;
  std::int64_t balance = 0;
  std::vector<std::string> history;
  friend bool operator==(const account&, const account&) = default;
};
template <class Inspector>
auto inspect(Inspector& f, account& x) {
  return f(x.owner, x.balance, x.history);
}

} // namespace event_codec_test

using namespace event_codec_test;

TEST_CASE("store/event_codec: current events round-trip", "[store][event_codec]") {
  const codec c;
  const std::vector<event> events{opened{"ann", 500}, deposited{120, "EUR"}, closed{std::nullopt},
                                  closed{std::string{"moved"}}};
  for (const auto& e : events) {
    const event_record record = c.encode(e, 1'700'000'000'000'000);
    CHECK(record.timestamp_us == 1'700'000'000'000'000);
    std::visit(
        [&](const auto& x) {
          using E = std::decay_t<decltype(x)>;
          CHECK(record.type == E::event_type);
          CHECK(record.schema_version == E::schema_version);
          CHECK(record.payload == encode(x));
        },
        e);
    auto decoded = c.decode(record, "acct-1", 3);
    REQUIRE(decoded);
    REQUIRE(decoded->size() == 1);
    CHECK(decoded->front() == e);
  }
  stored_event stored{"acct-1", 1, 9, c.encode(events[0], 0)};
  auto decoded = c.decode(stored);
  REQUIRE(decoded);
  CHECK(decoded->front() == events[0]);
  CHECK(codec::is_current("test.deposited", 2));
  CHECK_FALSE(codec::is_current("test.deposited", 1));
}

TEST_CASE("store/event_codec: upcasting", "[store][event_codec]") {
  codec c;
  // v1 -> v2: a field was added.
  c.add_upcaster("test.deposited", 1, [](const event_record& r) -> result<std::vector<event_record>> {
    deposited_v1 old;
    if (auto st = decode(r.payload, old); !st)
      return st.error();
    return std::vector<event_record>{make_event_record(deposited{old.amount, "EUR"}, r.timestamp_us)};
  });
  // A rename: "test.created" became "test.opened" with the same shape.
  c.add_upcaster("test.created", 1, [](const event_record& r) -> result<std::vector<event_record>> {
    event_record renamed = r;
    renamed.type = "test.opened";
    return std::vector<event_record>{renamed};
  });
  // One old event became several: each amount is now its own deposit, written as v1 records so that the
  // v1 -> v2 upcaster runs on them in turn.
  c.add_upcaster("test.bulk_deposit", 1, [](const event_record& r) -> result<std::vector<event_record>> {
    bulk_deposit_v1 old;
    if (auto st = decode(r.payload, old); !st)
      return st.error();
    std::vector<event_record> out;
    for (const auto amount : old.amounts)
      out.push_back(event_record{"test.deposited", 1, r.timestamp_us, encode(deposited_v1{amount})});
    return out;
  });
  // An event that is no longer meaningful is dropped.
  c.add_upcaster("test.audited", 1, [](const event_record&) -> result<std::vector<event_record>> {
    return std::vector<event_record>{};
  });

  SECTION("v1 -> v2") {
    auto events = c.decode(old_record("test.deposited", 1, encode(deposited_v1{75})), "acct-1", 2);
    REQUIRE(events);
    REQUIRE(events->size() == 1);
    CHECK(std::get<deposited>(events->front()) == deposited{75, "EUR"});
  }
  SECTION("rename") {
    auto events = c.decode(old_record("test.created", 1, encode(opened{"bo", 10})), "acct-1", 1);
    REQUIRE(events);
    REQUIRE(events->size() == 1);
    CHECK(std::get<opened>(events->front()) == opened{"bo", 10});
  }
  SECTION("1 -> N, through a second upcaster") {
    auto events = c.decode(old_record("test.bulk_deposit", 1, encode(bulk_deposit_v1{{1, 2, 3}})), "acct-1", 4);
    REQUIRE(events);
    REQUIRE(events->size() == 3);
    CHECK(std::get<deposited>((*events)[0]) == deposited{1, "EUR"});
    CHECK(std::get<deposited>((*events)[2]) == deposited{3, "EUR"});
  }
  SECTION("1 -> 0") {
    auto events = c.decode(old_record("test.audited", 1, ""), "acct-1", 5);
    REQUIRE(events);
    CHECK(events->empty());
  }
  SECTION("decode_into appends") {
    std::vector<event> out{closed{}};
    REQUIRE(c.decode_into(out, old_record("test.deposited", 1, encode(deposited_v1{5})), "acct-1", 2));
    CHECK(out.size() == 2);
  }
  SECTION("an upcaster's error names the stream and version") {
    auto events = c.decode(old_record("test.deposited", 1, "\xff"), "acct-9", 17);
    REQUIRE_FALSE(events);
    CHECK(events.error().code() == errc::corrupt_data);
    CHECK_THAT(events.error().message(), Catch::Contains("acct-9") && Catch::Contains("17"));
  }
}

TEST_CASE("store/event_codec: what cannot be decoded", "[store][event_codec]") {
  codec c;
  SECTION("unknown type") {
    auto events = c.decode(old_record("test.unheard_of", 1, ""), "acct-3", 8);
    REQUIRE_FALSE(events);
    CHECK(events.error().code() == errc::unknown_event_type);
    CHECK_THAT(events.error().message(), Catch::Contains("acct-3") && Catch::Contains("version 8") &&
                                             Catch::Contains("test.unheard_of"));
  }
  SECTION("unknown schema version of a known type") {
    auto events = c.decode(old_record("test.opened", 7, encode(opened{})), "acct-3", 9);
    REQUIRE_FALSE(events);
    CHECK(events.error().code() == errc::unknown_schema_version);
    CHECK_THAT(events.error().message(), Catch::Contains("acct-3") && Catch::Contains("version 9"));
  }
  SECTION("an old version without an upcaster") {
    auto events = c.decode(old_record("test.deposited", 1, encode(deposited_v1{1})), "acct-3", 2);
    REQUIRE_FALSE(events);
    CHECK(events.error().code() == errc::unknown_schema_version);
  }
  SECTION("a type known only to an upcaster, at another version") {
    c.add_upcaster("test.legacy", 1, [](const event_record&) -> result<std::vector<event_record>> {
      return std::vector<event_record>{};
    });
    auto events = c.decode(old_record("test.legacy", 2, ""), "acct-3", 2);
    REQUIRE_FALSE(events);
    CHECK(events.error().code() == errc::unknown_schema_version);
  }
  SECTION("bad payload") {
    auto events = c.decode(old_record("test.opened", 1, "\x03" "ab"), "acct-3", 10);
    REQUIRE_FALSE(events);
    CHECK(events.error().code() == errc::corrupt_data);
    CHECK_THAT(events.error().message(), Catch::Contains("acct-3") && Catch::Contains("version 10"));
  }
  SECTION("an upcaster that fails or throws") {
    c.add_upcaster("test.deposited", 1, [](const event_record&) -> result<std::vector<event_record>> {
      return error{errc::invalid_argument, "no longer supported"};
    });
    c.add_upcaster("test.created", 1, [](const event_record&) -> result<std::vector<event_record>> {
      throw std::runtime_error("boom");
    });
    auto failed = c.decode(old_record("test.deposited", 1, ""), "acct-3", 11);
    REQUIRE_FALSE(failed);
    CHECK(failed.error().code() == errc::invalid_argument);
    CHECK_THAT(failed.error().message(), Catch::Contains("no longer supported") && Catch::Contains("acct-3"));
    auto thrown = c.decode(old_record("test.created", 1, ""), "acct-3", 12);
    REQUIRE_FALSE(thrown);
    CHECK_THAT(thrown.error().message(), Catch::Contains("boom"));
  }
  SECTION("upcasters that go round in circles") {
    c.add_upcaster("test.ping", 1, [](const event_record& r) -> result<std::vector<event_record>> {
      return std::vector<event_record>{event_record{"test.pong", 1, r.timestamp_us, ""}};
    });
    c.add_upcaster("test.pong", 1, [](const event_record& r) -> result<std::vector<event_record>> {
      return std::vector<event_record>{event_record{"test.ping", 1, r.timestamp_us, ""}};
    });
    auto events = c.decode(old_record("test.ping", 1, ""), "acct-3", 13);
    REQUIRE_FALSE(events);
    CHECK(events.error().code() == errc::unknown_schema_version);
  }
}

TEST_CASE("store/event_codec: snapshots", "[store][event_codec]") {
  const account state{"ann", 1234, {"opened", "deposited"}};
  const snapshot_record record = encode_snapshot(state, 12, 3);
  CHECK(record.version == 12);
  CHECK(record.schema_version == 3);

  account restored;
  REQUIRE(decode_snapshot(record, "acct-1", 3, restored));
  CHECK(restored == state);

  const auto other_schema = decode_snapshot(record, "acct-1", 4, restored);
  REQUIRE_FALSE(other_schema);
  CHECK(other_schema.error().code() == errc::unknown_schema_version);

  snapshot_record broken = record;
  broken.payload.pop_back();
  const auto corrupt = decode_snapshot(broken, "acct-1", 3, restored);
  REQUIRE_FALSE(corrupt);
  CHECK(corrupt.error().code() == errc::corrupt_data);
  CHECK_THAT(corrupt.error().message(), Catch::Contains("acct-1") && Catch::Contains("12"));
}
