// cairn::store causation records: a command caused by an event carries (source, sequence); the store keeps the
// last record per (stream, source) and answers duplicate to a sequence it has seen, so that a redelivered command
// takes effect once (guarantee 7). Against real RocksDB databases in temporary folders.
#include "store_checks.hpp"

#include <support/temp_dir.hpp>

#include <cairn/store/event_store.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

using namespace cairn::store;
using cairn::test::temp_dir;
using namespace cairn::test::store_checks;

namespace {

// A command's append to `stream` with `n` events, caused by (source, sequence).
append_request caused(std::string stream, std::uint64_t expected, std::size_t n, std::string source,
                      std::uint64_t sequence) {
  auto r = req(std::move(stream), expected, n, "caused");
  r.causation = causation_record{std::move(source), sequence, true, "", 0};
  return r;
}

// A rejected command's append: only its causation record, with the reason.
append_request rejected(std::string stream, std::uint64_t expected, std::string source, std::uint64_t sequence,
                        std::string why) {
  append_request r;
  r.stream = std::move(stream);
  r.expected_version = expected;
  r.causation = causation_record{std::move(source), sequence, false, std::move(why), 0};
  return r;
}

causation_record stored(const event_store& s, const std::string& stream, const std::string& source) {
  auto c = s.causation(stream, source);
  INFO((c ? std::string{} : c.error().to_string()));
  REQUIRE(c);
  REQUIRE(c->has_value());
  return **c;
}

void check_duplicate(const result<append_receipt>& r, const std::string& stream, const std::string& source,
                     std::uint64_t sequence) {
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::duplicate);
  CHECK(to_string(errc::duplicate) == "duplicate");
  CHECK_THAT(r.error().message(), Catch::Contains(stream) && Catch::Contains(source) &&
                                      Catch::Contains(std::to_string(sequence)));
}

} // namespace

TEST_CASE("store/causation: a sequence seen before is a duplicate and writes nothing", "[store][causation]") {
  temp_dir dir;
  auto s = open_store(dir.path().string(), durability::buffered);
  CHECK_FALSE(s->causation("order-1", "policy")->has_value());

  auto first = s->append(caused("order-1", 0, 2, "policy", 5));
  REQUIRE(first);
  CHECK(first->new_version == 2);
  CHECK(stored(*s, "order-1", "policy") == causation_record{"policy", 5, true, "", 2});

  SECTION("the same and a lower sequence") {
    check_duplicate(s->append(caused("order-1", 2, 1, "policy", 5)), "order-1", "policy", 5);
    check_duplicate(s->append(caused("order-1", 2, 1, "policy", 3)), "order-1", "policy", 3);
    check_duplicate(s->append(caused("order-1", 2, 1, "policy", 0)), "order-1", "policy", 0);
    // A duplicate is a duplicate whatever version it expects: its effect is committed already.
    check_duplicate(s->append(caused("order-1", 0, 1, "policy", 5)), "order-1", "policy", 5);
    CHECK(*s->stream_version("order-1") == 2);
    CHECK(s->last_position() == 2);
    CHECK(stored(*s, "order-1", "policy").sequence == 5);
    CHECK(s->stats().appends == 1);

    auto next = s->append(caused("order-1", 2, 1, "policy", 6));
    REQUIRE(next);
    CHECK(next->new_version == 3);
    CHECK(stored(*s, "order-1", "policy") == causation_record{"policy", 6, true, "", 3});
    check_consistent(*s);
  }
  SECTION("sequences may skip; only going back is a duplicate") {
    REQUIRE(s->append(caused("order-1", 2, 1, "policy", 1000)));
    check_duplicate(s->append(caused("order-1", 3, 1, "policy", 999)), "order-1", "policy", 999);
    CHECK(stored(*s, "order-1", "policy").sequence == 1000);
  }
  SECTION("other sources and other streams are independent") {
    auto other_source = s->append(caused("order-1", 2, 1, "saga", 1));
    REQUIRE(other_source);
    CHECK(other_source->new_version == 3);
    auto other_stream = s->append(caused("order-2", 0, 1, "policy", 5));
    REQUIRE(other_stream);
    CHECK(other_stream->new_version == 1);
    // Stream and source names that would run together without the separator stay apart.
    REQUIRE(s->append(caused("order-1p", 0, 1, "olicy", 5)));
    check_duplicate(s->append(caused("order-1", 3, 1, "saga", 1)), "order-1", "saga", 1);
    check_duplicate(s->append(caused("order-2", 1, 1, "policy", 4)), "order-2", "policy", 4);
    CHECK(stored(*s, "order-1", "policy") == causation_record{"policy", 5, true, "", 2});
    CHECK(stored(*s, "order-1", "saga") == causation_record{"saga", 1, true, "", 3});
    CHECK(stored(*s, "order-2", "policy") == causation_record{"policy", 5, true, "", 1});
    CHECK(stored(*s, "order-1p", "olicy") == causation_record{"olicy", 5, true, "", 1});
    CHECK_FALSE(s->causation("order-2", "saga")->has_value());
    check_consistent(*s);
  }
  SECTION("a stale instance with a new sequence is a conflict and records nothing") {
    auto stale = s->append(caused("order-1", 1, 1, "policy", 6));
    REQUIRE_FALSE(stale);
    CHECK(stale.error().code() == errc::conflict);
    CHECK(stored(*s, "order-1", "policy").sequence == 5);
    // So the sequence is still free for the up-to-date instance.
    REQUIRE(s->append(caused("order-1", 2, 1, "policy", 6)));
  }
}

TEST_CASE("store/causation: duplicates within one group", "[store][causation]") {
  temp_dir dir;
  auto s = open_store(dir.path().string(), durability::buffered);
  REQUIRE(s->append(caused("a", 0, 1, "p", 1)));

  std::vector<append_request> group;
  group.push_back(caused("a", 1, 1, "p", 10));  // 0: accepted, a at 2
  group.push_back(caused("a", 2, 1, "p", 10));  // 1: duplicate of request 0
  group.push_back(caused("a", 2, 1, "p", 9));   // 2: duplicate of request 0 (lower)
  group.push_back(caused("a", 2, 2, "p", 11));  // 3: accepted, a at 4
  group.push_back(caused("b", 0, 1, "p", 10));  // 4: another stream: accepted
  group.push_back(caused("a", 4, 1, "q", 10));  // 5: another source: accepted, a at 5
  group.push_back(caused("c", 5, 1, "p", 1));   // 6: conflict: c does not exist
  group.push_back(caused("c", 0, 1, "p", 1));   // 7: accepted: the conflicting request 6 recorded nothing
  group.push_back(caused("a", 5, 1, "p", 1));   // 8: duplicate of what was stored before the group
  const auto results = s->group_append(group);
  REQUIRE(results.size() == group.size());
  REQUIRE(results[0]);
  CHECK(results[0]->new_version == 2);
  check_duplicate(results[1], "a", "p", 10);
  check_duplicate(results[2], "a", "p", 9);
  REQUIRE(results[3]);
  CHECK(results[3]->new_version == 4);
  REQUIRE(results[4]);
  REQUIRE(results[5]);
  CHECK(results[5]->new_version == 5);
  REQUIRE_FALSE(results[6]);
  CHECK(results[6].error().code() == errc::conflict);
  REQUIRE(results[7]);
  check_duplicate(results[8], "a", "p", 1);

  CHECK(*s->stream_version("a") == 5);
  CHECK(stored(*s, "a", "p") == causation_record{"p", 11, true, "", 4});
  CHECK(stored(*s, "a", "q") == causation_record{"q", 10, true, "", 5});
  CHECK(stored(*s, "b", "p") == causation_record{"p", 10, true, "", 1});
  CHECK(stored(*s, "c", "p") == causation_record{"p", 1, true, "", 1});
  CHECK(s->last_position() == 1 + 1 + 2 + 1 + 1 + 1);
  check_consistent(*s);
}

TEST_CASE("store/causation: the record's version is the stream's new head", "[store][causation]") {
  temp_dir dir;
  auto s = open_store(dir.path().string(), durability::buffered);
  REQUIRE(s->append(req("acct", 0, 2)));

  auto three = caused("acct", 2, 3, "transfer", 7);
  three.causation->message = "debited";
  three.causation->version = 999; // ignored: the store records the head
  auto r = s->append(three);
  REQUIRE(r);
  CHECK(r->new_version == 5);
  CHECK(stored(*s, "acct", "transfer") == causation_record{"transfer", 7, true, "debited", 5});

  SECTION("an accepted command without events records the unchanged head") {
    auto none = caused("acct", 5, 0, "transfer", 8);
    auto receipt = s->append(none);
    REQUIRE(receipt);
    CHECK(receipt->new_version == 5);
    CHECK(receipt->first_position == 0);
    CHECK(receipt->last_position == 0);
    CHECK(stored(*s, "acct", "transfer") == causation_record{"transfer", 8, true, "", 5});
    CHECK(s->last_position() == 5);
  }
  SECTION("with a snapshot and a tracking record in the same batch") {
    auto full = caused("acct", 5, 1, "transfer", 8);
    full.snapshot = snapshot_record{6, 1, "at-6"};
    full.tracking = tracking_record{"transfer", 8};
    REQUIRE(s->append(full));
    CHECK(stored(*s, "acct", "transfer").version == 6);
    CHECK(**s->latest_snapshot("acct") == snapshot_record{6, 1, "at-6"});
    CHECK(*s->tracking_position("transfer") == 8);
  }
}

TEST_CASE("store/causation: a rejection records only its causation", "[store][causation]") {
  temp_dir dir;
  auto s = open_store(dir.path().string(), durability::buffered);
  REQUIRE(s->append(req("stock-1", 0, 3)));
  const auto stats = s->stats();

  auto r = s->append(rejected("stock-1", 3, "reserve", 41, "out of stock"));
  REQUIRE(r);
  CHECK(r->new_version == 3);
  CHECK(r->first_position == 0);
  CHECK(r->last_position == 0);
  CHECK(*s->stream_version("stock-1") == 3);
  CHECK(s->last_position() == 3);
  CHECK(s->read_stream("stock-1", 1, 100)->size() == 3);
  CHECK(s->stats().events == stats.events);
  CHECK(stored(*s, "stock-1", "reserve") == causation_record{"reserve", 41, false, "out of stock", 3});

  // The rejection is remembered: the same command again is a duplicate, rejected or not this time.
  check_duplicate(s->append(rejected("stock-1", 3, "reserve", 41, "again")), "stock-1", "reserve", 41);
  check_duplicate(s->append(caused("stock-1", 3, 1, "reserve", 41)), "stock-1", "reserve", 41);
  CHECK(*s->stream_version("stock-1") == 3);

  SECTION("a later command of the same source is accepted and replaces the record") {
    REQUIRE(s->append(caused("stock-1", 3, 1, "reserve", 42)));
    CHECK(stored(*s, "stock-1", "reserve") == causation_record{"reserve", 42, true, "", 4});
  }
  SECTION("a rejection with events or a snapshot is invalid and writes nothing") {
    auto with_events = rejected("stock-1", 3, "reserve", 50, "no");
    with_events.events.push_back(ev("stock.reserved", "x"));
    auto bad = s->append(with_events);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code() == errc::invalid_argument);
    CHECK_THAT(bad.error().message(), Catch::Contains("rejection"));
    auto with_snapshot = rejected("stock-1", 3, "reserve", 50, "no");
    with_snapshot.snapshot = snapshot_record{3, 1, "at-3"};
    CHECK(s->append(with_snapshot).error().code() == errc::invalid_argument);
    CHECK(*s->stream_version("stock-1") == 3);
    CHECK(stored(*s, "stock-1", "reserve").sequence == 41);
    CHECK_FALSE(s->latest_snapshot("stock-1")->has_value());
  }
  SECTION("a stale instance cannot record a rejection") {
    auto stale = s->append(rejected("stock-1", 2, "reserve", 50, "no"));
    REQUIRE_FALSE(stale);
    CHECK(stale.error().code() == errc::conflict);
    CHECK(stored(*s, "stock-1", "reserve").sequence == 41);
  }
  SECTION("a rejection by a stream that does not exist yet leaves it absent") {
    REQUIRE(s->append(rejected("stock-2", 0, "reserve", 1, "unknown item")));
    CHECK(*s->stream_version("stock-2") == 0);
    CHECK(s->read_stream("stock-2", 1, 10)->empty());
    CHECK(stored(*s, "stock-2", "reserve") == causation_record{"reserve", 1, false, "unknown item", 0});
    // The stream can still be created afterwards.
    REQUIRE(s->append(caused("stock-2", 0, 1, "reserve", 2)));
  }
  check_consistent(*s);
}

TEST_CASE("store/causation: records survive a reopen", "[store][causation]") {
  temp_dir dir;
  {
    auto s = open_store(dir.path().string());
    REQUIRE(s->append(caused("a", 0, 2, "p", 3)));
    REQUIRE(s->append(rejected("a", 2, "q", 9, "why not")));
  }
  auto s = open_store(dir.path().string());
  CHECK(stored(*s, "a", "p") == causation_record{"p", 3, true, "", 2});
  CHECK(stored(*s, "a", "q") == causation_record{"q", 9, false, "why not", 2});
  check_duplicate(s->append(caused("a", 2, 1, "p", 3)), "a", "p", 3);
  check_duplicate(s->append(caused("a", 2, 1, "q", 9)), "a", "q", 9);
  REQUIRE(s->append(caused("a", 2, 1, "p", 4)));
  check_consistent(*s);
}

TEST_CASE("store/causation: malformed causations are invalid_argument", "[store][causation]") {
  temp_dir dir;
  auto s = open_store(dir.path().string(), durability::buffered);
  const auto invalid = [&](const append_request& r) {
    auto result = s->append(r);
    REQUIRE_FALSE(result);
    CHECK(result.error().code() == errc::invalid_argument);
    return result.error().message();
  };
  CHECK_THAT(invalid(caused("a", 0, 1, "", 1)), Catch::Contains("source") && Catch::Contains("empty"));
  CHECK_THAT(invalid(caused("a", 0, 1, std::string("p\0q", 3), 1)), Catch::Contains("NUL"));
  CHECK_THAT(invalid(caused("a", 0, 1, std::string(max_stream_name_bytes + 1, 'p'), 1)), Catch::Contains("longer"));
  auto long_message = caused("a", 0, 1, "p", 1);
  long_message.causation->message.assign(max_causation_message_bytes + 1, 'm');
  CHECK_THAT(invalid(long_message), Catch::Contains("message"));
  // A causation belongs to a stream.
  CHECK_THAT(invalid(caused("", 0, 0, "p", 1)), Catch::Contains("empty stream"));
  CHECK(s->last_position() == 0);
  CHECK_FALSE(s->causation("a", "p")->has_value());

  long_message.causation->message.resize(max_causation_message_bytes);
  REQUIRE(s->append(long_message));
  CHECK(stored(*s, "a", "p").message.size() == max_causation_message_bytes);

  CHECK(s->causation("", "p").error().code() == errc::invalid_argument);
  CHECK(s->causation("a", "").error().code() == errc::invalid_argument);
  CHECK(s->causation("a", std::string("p\0", 2)).error().code() == errc::invalid_argument);
}

TEST_CASE("store/causation: a duplicate comes with the record of its first answer", "[store][causation]") {
  temp_dir dir;
  auto s = open_store(dir.path().string(), durability::buffered);
  REQUIRE(s->append(caused("a", 0, 2, "p", 5)));                  // a at 2: accepted, first answer version 2
  REQUIRE(s->append(rejected("a", 2, "q", 7, "not enough stock"))); // refused, at version 2

  std::vector<append_request> group;
  group.push_back(caused("a", 2, 1, "p", 5));  // 0: repeat of the stored accepted one
  group.push_back(caused("a", 2, 1, "q", 7));  // 1: repeat of the stored rejection
  group.push_back(caused("a", 2, 1, "p", 6));  // 2: new: accepted, a at 3
  group.push_back(caused("a", 3, 1, "p", 6));  // 3: repeat of request 2 of this group
  group.push_back(caused("a", 3, 1, "p", 4));  // 4: older than request 2: superseded
  group.push_back(caused("b", 0, 1, "p", 1));  // 5: new elsewhere
  std::vector<std::optional<causation_record>> priors;
  const auto results = s->group_append(group, priors);
  REQUIRE(results.size() == group.size());
  REQUIRE(priors.size() == group.size());

  check_duplicate(results[0], "a", "p", 5);
  REQUIRE(priors[0]);
  CHECK(priors[0]->accepted);
  CHECK(priors[0]->sequence == 5);
  CHECK(priors[0]->version == 2);

  check_duplicate(results[1], "a", "q", 7);
  REQUIRE(priors[1]);
  CHECK_FALSE(priors[1]->accepted);
  CHECK(priors[1]->message == "not enough stock");
  CHECK(priors[1]->version == 2);

  REQUIRE(results[2]);
  CHECK_FALSE(priors[2]);

  check_duplicate(results[3], "a", "p", 6);
  REQUIRE(priors[3]);
  CHECK(priors[3]->sequence == 6);
  CHECK(priors[3]->version == 3);

  check_duplicate(results[4], "a", "p", 4);
  REQUIRE(priors[4]);
  CHECK(priors[4]->sequence == 6);

  REQUIRE(results[5]);
  CHECK_FALSE(priors[5]);
  CHECK(*s->stream_version("a") == 3);
}
