// cairn::store projection state: key/value puts written in the same batch as the events and tracking records,
// appends without a stream, reads and prefix scans, limits, old databases without the new column families, and
// what a failed write leaves behind (nothing, also of causations). Real RocksDB databases in temporary folders.
#include "store_checks.hpp"

#include <support/temp_dir.hpp>

#include <cairn/store/event_store.hpp>
#include <cairn/store/fault_injection.hpp>

#include <catch2/catch.hpp>
#include <rocksdb/db.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

using namespace cairn::store;
using cairn::test::temp_dir;
using namespace cairn::test::store_checks;

namespace {

using entries = std::vector<std::pair<std::string, std::string>>;

projection_put put(std::string key, std::string value) {
  return projection_put{std::move(key), std::move(value)};
}

projection_put erase(std::string key) {
  return projection_put{std::move(key), std::nullopt};
}

// What a projection's handler commits: its state changes with its position, and no stream.
append_request projection_step(std::string subscriber, std::uint64_t position, std::vector<projection_put> puts) {
  append_request r;
  r.tracking = tracking_record{std::move(subscriber), position};
  r.puts = std::move(puts);
  return r;
}

std::optional<std::string> value_of(const event_store& s, std::string_view key) {
  auto v = s.projection_value(key);
  INFO((v ? std::string{} : v.error().to_string()));
  REQUIRE(v);
  return *v;
}

entries scan(const event_store& s, std::string_view prefix, std::string_view after, std::size_t max_count) {
  auto r = s.scan_projection(prefix, after, max_count);
  INFO((r ? std::string{} : r.error().to_string()));
  REQUIRE(r);
  return *r;
}

} // namespace

TEST_CASE("store/projection_state: appends without a stream", "[store][projection_state]") {
  temp_dir dir;
  auto s = open_store(dir.path().string(), durability::buffered);
  REQUIRE(s->append(req("order-1", 0, 2)));

  auto step = projection_step("totals", 2, {put("totals/order-1", "2 lines")});
  step.expected_version = 42; // ignored: there is no stream to check
  auto r = s->append(step);
  INFO((r ? std::string{} : r.error().to_string()));
  REQUIRE(r);
  CHECK(r->new_version == 0);
  CHECK(r->first_position == 0);
  CHECK(r->last_position == 0);
  CHECK(s->last_position() == 2);
  CHECK(*s->tracking_position("totals") == 2);
  CHECK(value_of(*s, "totals/order-1") == "2 lines");
  CHECK(*s->stream_version("order-1") == 2);

  // Only puts, only tracking, and several in a group with streams.
  REQUIRE(s->append(append_request{"", 0, {}, {}, {}, {}, {put("totals/x", "1")}}));
  REQUIRE(s->append(append_request{"", 7, {}, {}, tracking_record{"audit", 2}}));
  std::vector<append_request> group;
  group.push_back(req("order-1", 2, 1));
  group.push_back(projection_step("totals", 3, {put("totals/order-1", "3 lines")}));
  group.push_back(req("order-1", 0, 1)); // conflicts; the streamless request does not care
  group.push_back(projection_step("audit", 3, {}));
  const auto results = s->group_append(group);
  REQUIRE(results[0]);
  REQUIRE(results[1]);
  CHECK(results[1]->new_version == 0);
  CHECK(results[2].error().code() == errc::conflict);
  REQUIRE(results[3]);
  CHECK(s->last_position() == 3);
  CHECK(*s->tracking_position("totals") == 3);
  CHECK(*s->tracking_position("audit") == 3);
  CHECK(value_of(*s, "totals/order-1") == "3 lines");
  CHECK(value_of(*s, "totals/x") == "1");
  check_consistent(*s);

  SECTION("everything else needs a stream") {
    const auto invalid = [&](const append_request& bad) {
      auto result = s->append(bad);
      REQUIRE_FALSE(result);
      CHECK(result.error().code() == errc::invalid_argument);
      CHECK_THAT(result.error().message(), Catch::Contains("empty stream"));
    };
    invalid(req("", 0, 1));
    auto with_events = projection_step("totals", 4, {put("totals/y", "1")});
    with_events.events.push_back(ev("t", "p"));
    invalid(with_events);
    auto with_snapshot = projection_step("totals", 4, {});
    with_snapshot.snapshot = snapshot_record{1, 1, "s"};
    invalid(with_snapshot);
    auto with_causation = projection_step("totals", 4, {});
    with_causation.causation = causation_record{"p", 1, true, "", 0};
    invalid(with_causation);
    invalid(append_request{});
    CHECK(*s->tracking_position("totals") == 3);
    CHECK_FALSE(value_of(*s, "totals/y"));
  }
}

TEST_CASE("store/projection_state: puts and deletes", "[store][projection_state]") {
  temp_dir dir;
  auto s = open_store(dir.path().string(), durability::buffered);
  CHECK_FALSE(value_of(*s, "p/a"));

  REQUIRE(s->append(projection_step("p", 1, {put("p/a", "1"), put("p/b", "2"), put("p/c", "")})));
  CHECK(value_of(*s, "p/a") == "1");
  CHECK(value_of(*s, "p/b") == "2");
  CHECK(value_of(*s, "p/c") == ""); // an empty value is a value, not a delete

  // In order: the last put of a key wins, a delete of a missing key is harmless.
  REQUIRE(s->append(projection_step("p", 2, {put("p/a", "10"), erase("p/b"), erase("p/missing"), put("p/a", "11"),
                                             put("p/d", "4"), erase("p/d")})));
  CHECK(value_of(*s, "p/a") == "11");
  CHECK_FALSE(value_of(*s, "p/b"));
  CHECK_FALSE(value_of(*s, "p/d"));
  CHECK(scan(*s, "p/", "", 100) == entries{{"p/a", "11"}, {"p/c", ""}});

  // Across requests of one group, later requests win too.
  std::vector<append_request> group;
  group.push_back(projection_step("p", 3, {put("p/a", "20")}));
  group.push_back(projection_step("p", 4, {put("p/a", "21"), put("p/b", "again")}));
  REQUIRE(s->group_append(group)[1]);
  CHECK(value_of(*s, "p/a") == "21");
  CHECK(value_of(*s, "p/b") == "again");
  CHECK(*s->tracking_position("p") == 4);

  SECTION("puts commit with a stream's events, and not when the append conflicts") {
    auto with_events = req("order-1", 0, 1);
    with_events.puts = {put("p/order-1", "created")};
    REQUIRE(s->append(with_events));
    CHECK(value_of(*s, "p/order-1") == "created");
    auto conflicting = req("order-1", 0, 1);
    conflicting.puts = {put("p/order-1", "overwritten"), put("p/z", "z")};
    CHECK(s->append(conflicting).error().code() == errc::conflict);
    CHECK(value_of(*s, "p/order-1") == "created");
    CHECK_FALSE(value_of(*s, "p/z"));
  }
  SECTION("keys are opaque bytes") {
    const std::string binary{"p/\0\xff\x01", 5};
    REQUIRE(s->append(projection_step("p", 5, {put(binary, std::string("v\0v", 3))})));
    CHECK(value_of(*s, binary) == std::string("v\0v", 3));
    CHECK_FALSE(value_of(*s, "p/"));
  }
}

TEST_CASE("store/projection_state: scans by prefix, after a key, bounded", "[store][projection_state]") {
  temp_dir dir;
  auto s = open_store(dir.path().string(), durability::buffered);
  std::vector<projection_put> puts;
  for (const char* key : {"p1/a", "p1/b", "p1/c", "p1/d", "p2/a", "p1", "p10/x", "p1.", "o/z"})
    puts.push_back(put(key, std::string{"v:"} + key));
  puts.push_back(put(std::string("\xff\xff", 2), "top"));
  puts.push_back(put(std::string("\xff\xff\x01", 3), "top+1"));
  puts.push_back(put(std::string("p1/\0", 4), "nul"));
  REQUIRE(s->append(projection_step("scan", 1, puts)));

  const entries p1_all{{std::string("p1/\0", 4), "nul"},
                       {"p1/a", "v:p1/a"},
                       {"p1/b", "v:p1/b"},
                       {"p1/c", "v:p1/c"},
                       {"p1/d", "v:p1/d"}};
  CHECK(scan(*s, "p1/", "", 100) == p1_all);
  // Strictly after: an existing key, a key between two, a key before the prefix, a key after it.
  CHECK(scan(*s, "p1/", "p1/b", 100) == entries{p1_all.begin() + 3, p1_all.end()});
  CHECK(scan(*s, "p1/", "p1/bb", 100) == entries{p1_all.begin() + 3, p1_all.end()});
  CHECK(scan(*s, "p1/", "a", 100) == p1_all);
  CHECK(scan(*s, "p1/", "p2", 100).empty());
  CHECK(scan(*s, "p1/", "p1/d", 100).empty());
  // Bounded, and paging with the last key returned visits everything once.
  CHECK(scan(*s, "p1/", "", 2) == entries{p1_all.begin(), p1_all.begin() + 2});
  entries paged;
  for (std::string after;;) {
    const auto page = scan(*s, "p1/", after, 2);
    if (page.empty())
      break;
    CHECK(page.size() <= 2);
    paged.insert(paged.end(), page.begin(), page.end());
    after = page.back().first;
  }
  CHECK(paged == p1_all);
  // A prefix without the separator takes in the names that extend it: hence "<projection name>/<key>".
  CHECK(scan(*s, "p1", "", 100).size() == p1_all.size() + 3);
  CHECK(scan(*s, "p2/", "", 100) == entries{{"p2/a", "v:p2/a"}});
  CHECK(scan(*s, "q/", "", 100).empty());
  // A prefix of 0xff bytes has no end key; the empty prefix scans everything, in bytewise order.
  CHECK(scan(*s, std::string("\xff", 1), "", 100) ==
        entries{{std::string("\xff\xff", 2), "top"}, {std::string("\xff\xff\x01", 3), "top+1"}});
  CHECK(scan(*s, std::string("\xff\xff", 2), std::string("\xff\xff", 2), 100) ==
        entries{{std::string("\xff\xff\x01", 3), "top+1"}});
  const auto all = scan(*s, "", "", 100);
  REQUIRE(all.size() == puts.size());
  CHECK(all.front().first == "o/z");
  CHECK(all.back().first == std::string("\xff\xff\x01", 3));
  CHECK(scan(*s, "", "p2/a", 100).size() == 2);

  CHECK(s->scan_projection("p1/", "", 0).error().code() == errc::invalid_argument);
  CHECK(s->scan_projection(std::string(max_projection_key_bytes + 1, 'k'), "", 1).error().code() ==
        errc::invalid_argument);
}

TEST_CASE("store/projection_state: limits, and an invalid request writes nothing", "[store][projection_state]") {
  temp_dir dir;
  auto s = open_store(dir.path().string(), durability::buffered);
  const auto invalid = [&](const append_request& r) {
    auto result = s->append(r);
    REQUIRE_FALSE(result);
    CHECK(result.error().code() == errc::invalid_argument);
    return result.error().message();
  };

  // The oversized key comes last: the events and the puts before it are not written either.
  auto oversized = req("order-1", 0, 2);
  oversized.tracking = tracking_record{"p", 1};
  oversized.puts = {put("p/ok", "1"), put(std::string(max_projection_key_bytes + 1, 'k'), "2")};
  CHECK_THAT(invalid(oversized), Catch::Contains("projection key") && Catch::Contains("longer"));
  CHECK_THAT(invalid(projection_step("p", 1, {put("", "1")})), Catch::Contains("empty"));
  CHECK_THAT(invalid(projection_step("p", 1, {erase(std::string(max_projection_key_bytes + 1, 'k'))})),
             Catch::Contains("longer"));
  CHECK_THAT(invalid(projection_step("p", 1, {put("p/big", std::string(max_projection_value_bytes + 1, 'v'))})),
             Catch::Contains("over"));
  CHECK(s->last_position() == 0);
  CHECK(*s->stream_version("order-1") == 0);
  CHECK(*s->tracking_position("p") == 0);
  CHECK(scan(*s, "", "", 10).empty());

  CHECK(s->projection_value("").error().code() == errc::invalid_argument);
  CHECK(s->projection_value(std::string(max_projection_key_bytes + 1, 'k')).error().code() ==
        errc::invalid_argument);

  // The limits themselves are allowed.
  const std::string longest(max_projection_key_bytes, 'k');
  REQUIRE(s->append(projection_step("p", 1, {put(longest, std::string(max_projection_value_bytes, 'v'))})));
  CHECK(value_of(*s, longest)->size() == max_projection_value_bytes);
  // The number of puts is not limited: a subscription's chunk may change many keys.
  REQUIRE(s->append(projection_step("p", 2, std::vector<projection_put>(20'000, put("p/k", "v")))));
  CHECK(value_of(*s, "p/k") == "v");
}

TEST_CASE("store/projection_state: survives a reopen", "[store][projection_state]") {
  temp_dir dir;
  {
    auto s = open_store(dir.path().string());
    REQUIRE(s->append(projection_step("p", 1, {put("p/a", "1"), put("p/b", "2")})));
    REQUIRE(s->append(projection_step("p", 2, {erase("p/a")})));
  }
  auto s = open_store(dir.path().string());
  CHECK(scan(*s, "p/", "", 10) == entries{{"p/b", "2"}});
  CHECK(*s->tracking_position("p") == 2);
}

TEST_CASE("store/projection_state: a store created before causations and projections opens and gets them",
          "[store][projection_state]") {
  temp_dir dir;
  const std::string path = dir.path().string();
  open_store(path).reset();
  {
    // Make it a store of the earlier layout: format 1 with six column families.
    std::vector<std::string> names;
    REQUIRE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions{}, path, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const auto& n : names)
      descriptors.emplace_back(n, rocksdb::ColumnFamilyOptions{});
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    REQUIRE(rocksdb::DB::Open(rocksdb::DBOptions{}, path, descriptors, &handles, &db).ok());
    for (auto* h : handles) {
      if (h->GetName() == "causations" || h->GetName() == "projections" || h->GetName() == "runtime")
        REQUIRE(db->DropColumnFamily(h).ok());
    }
    REQUIRE(db->Put(rocksdb::WriteOptions{}, "cairn.format", std::string("\0\0\0\x01", 4)).ok());
    for (auto* h : handles)
      REQUIRE(db->DestroyColumnFamilyHandle(h).ok());
    delete db;
    names.clear();
    REQUIRE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions{}, path, &names).ok());
    REQUIRE(names.size() == 6);
  }
  {
    auto s = open_store(path);
    CHECK_FALSE(s->causation("a", "p")->has_value());
    CHECK_FALSE(value_of(*s, "p/a"));
    auto r = req("a", 0, 1);
    r.causation = causation_record{"p", 1, true, "", 0};
    r.puts = {put("p/a", "1")};
    REQUIRE(s->append(r));
  }
  std::vector<std::string> names;
  REQUIRE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions{}, path, &names).ok());
  CHECK(names.size() == 9);
  auto s = open_store(path);
  CHECK(s->causation("a", "p")->value().version == 1);
  CHECK(value_of(*s, "p/a") == "1");
}

namespace {

enum class fault { failing_append, failing_sync, no_space };

// The seed: stream a at 1 with causation (p, 1), projection key p/a = 1, subscriber "p" at 1.
void seed(event_store& s) {
  auto a = req("a", 0, 1);
  a.causation = causation_record{"p", 1, true, "", 0};
  REQUIRE(s.append(a));
  REQUIRE(s.append(projection_step("p", 1, {put("p/a", "1")})));
}

// Touches causations (a new record and a replaced one, a rejection), projection keys (new, changed, deleted)
// and tracking; the first group has events, the second none, so that the log cannot show it came back.
std::vector<append_request> doomed_group(bool with_events) {
  std::vector<append_request> group;
  auto a = req("a", 1, with_events ? 1 : 0, "doomed");
  a.causation = causation_record{"p", 2, true, "", 0};
  a.puts = {put("p/new", "x")};
  group.push_back(a);
  auto b = append_request{"b", 0, {}, {}, {}, causation_record{"q", 5, false, "no", 0}, {}};
  group.push_back(b);
  group.push_back(projection_step("p", 2, {put("p/a", "changed"), erase("p/a"), put("p/b", "2")}));
  group.push_back(projection_step("p", 3, {erase("p/a")}));
  return group;
}

void check_only_seed(const event_store& s) {
  CHECK(s.last_position() == 1);
  CHECK(*s.stream_version("a") == 1);
  CHECK(s.causation("a", "p")->value() == causation_record{"p", 1, true, "", 1});
  CHECK_FALSE(s.causation("b", "q")->has_value());
  CHECK(*s.tracking_position("p") == 1);
  CHECK(scan(s, "", "", 100) == entries{{"p/a", "1"}});
}

} // namespace

TEST_CASE("store/projection_state: a failed write leaves no causation or projection state behind",
          "[store][projection_state][faults]") {
  const fault kind = GENERATE(fault::failing_append, fault::failing_sync, fault::no_space);
  const bool with_events = GENERATE(true, false);
  INFO((kind == fault::failing_append ? "failing append" : kind == fault::failing_sync ? "failing sync" : "no space")
       << (with_events ? ", with events" : ", without events"));

  temp_dir dir;
  fault_injection faults;
  faults.scope(fault_scope::wal);
  {
    auto s = open_store(dir.path().string(), durability::durable, faults.env());
    seed(*s);
    switch (kind) {
      case fault::failing_append:
        faults.fail_writes(true);
        break;
      case fault::failing_sync:
        faults.fail_syncs(true);
        break;
      case fault::no_space:
        faults.disk_full(true);
        break;
    }
    const auto group = doomed_group(with_events);
    for (const auto& r : s->group_append(group)) {
      REQUIRE_FALSE(r);
      CHECK(r.error().code() == errc::storage_failure);
    }
    check_only_seed(*s);
    faults.clear();
    check_only_seed(*s);

    // The next write recovers (a resume or a reopen that may replay the failed batch, which must be undone).
    REQUIRE(s->append(req("c", 0, 1)));
    CHECK(s->last_position() == 2);
    CHECK(*s->stream_version("a") == 1);
    CHECK(s->causation("a", "p")->value() == causation_record{"p", 1, true, "", 1});
    CHECK_FALSE(s->causation("b", "q")->has_value());
    CHECK(*s->tracking_position("p") == 1);
    CHECK(scan(*s, "", "", 100) == entries{{"p/a", "1"}});
    // The sequences the failed group used are still free.
    auto again = doomed_group(with_events);
    for (const auto& r : s->group_append(again))
      REQUIRE(r);
    CHECK(s->causation("a", "p")->value().sequence == 2);
    CHECK(s->causation("b", "q")->value() == causation_record{"q", 5, false, "no", 0});
    CHECK(scan(*s, "", "", 100) == entries{{"p/b", "2"}, {"p/new", "x"}});
    check_consistent(*s);
  }
  auto s = open_store(dir.path().string(), durability::durable, faults.env());
  CHECK(s->causation("a", "p")->value().sequence == 2);
  CHECK(*s->tracking_position("p") == 3);
  CHECK(scan(*s, "", "", 100) == entries{{"p/b", "2"}, {"p/new", "x"}});
  check_consistent(*s);
}

TEST_CASE("store/projection_state: a failed sync is undone after the reopen that brings it back",
          "[store][projection_state][faults]") {
  // A batch without events leaves no mark in the log: the undo must not depend on the log to be written.
  temp_dir dir;
  fault_injection faults;
  auto s = open_store(dir.path().string(), durability::durable, faults.env());
  seed(*s);
  faults.fail_syncs(true);
  const auto group = doomed_group(false);
  CHECK_FALSE(s->group_append(group)[0]);
  faults.clear();
  REQUIRE(s->append(projection_step("other", 1, {put("other/x", "1")})));
  CHECK_FALSE(s->causation("b", "q")->has_value());
  CHECK(s->causation("a", "p")->value().sequence == 1);
  CHECK(*s->tracking_position("p") == 1);
  CHECK(scan(*s, "p/", "", 100) == entries{{"p/a", "1"}});
  s.reset();

  s = open_store(dir.path().string(), durability::durable, faults.env());
  CHECK_FALSE(s->causation("b", "q")->has_value());
  CHECK(s->causation("a", "p")->value().sequence == 1);
  CHECK(*s->tracking_position("p") == 1);
  CHECK(scan(*s, "p/", "", 100) == entries{{"p/a", "1"}});
  CHECK(value_of(*s, "other/x") == "1");
}
