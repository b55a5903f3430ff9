// cairn::store event_store: appends, optimistic concurrency, the global log, snapshots, tracking, reads, open
// errors and corrupt data, against real RocksDB databases in temporary folders.
#include "store_checks.hpp"

#include <support/temp_dir.hpp>

#include <cairn/store/event_store.hpp>

#include <catch2/catch.hpp>
#include <rocksdb/db.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace cairn::store;
using cairn::test::temp_dir;
using namespace cairn::test::store_checks;

namespace {

// Opens the raw RocksDB database under a closed store, with all its column families.
struct raw_db {
  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  std::vector<std::string> names;

  explicit raw_db(const std::string& path) {
    REQUIRE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions{}, path, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const auto& n : names)
      descriptors.emplace_back(n, rocksdb::ColumnFamilyOptions{});
    REQUIRE(rocksdb::DB::Open(rocksdb::DBOptions{}, path, descriptors, &handles, &db).ok());
  }
  ~raw_db() {
    for (auto* h : handles)
      static_cast<void>(db->DestroyColumnFamilyHandle(h));
    delete db;
  }
  rocksdb::ColumnFamilyHandle* cf(const std::string& name) const {
    for (std::size_t i = 0; i < names.size(); ++i)
      if (names[i] == name)
        return handles[i];
    FAIL("no column family " << name);
    return nullptr;
  }
  void put(const std::string& family, const std::string& key, const std::string& value) {
    REQUIRE(db->Put(rocksdb::WriteOptions{}, cf(family), key, value).ok());
  }
  void del(const std::string& family, const std::string& key) {
    REQUIRE(db->Delete(rocksdb::WriteOptions{}, cf(family), key).ok());
  }
  std::string get(const std::string& family, const std::string& key) {
    std::string value;
    REQUIRE(db->Get(rocksdb::ReadOptions{}, cf(family), key, &value).ok());
    return value;
  }
};

// The documented keys (docs/store.md): big-endian u64, and "stream\0<be64 version>".
std::string be64(std::uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8)
    out[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
  return out;
}

std::string stream_key(const std::string& stream, std::uint64_t version) {
  return stream + std::string(1, '\0') + be64(version);
}

} // namespace

TEST_CASE("store/event_store: append and read back", "[store][event_store]") {
  temp_dir dir;
  auto s = open_store(dir.path().string());
  CHECK(s->mode() == durability::durable);
  CHECK(s->last_position() == 0);

  auto r1 = s->append(req("order-1", 0, 2));
  REQUIRE(r1);
  CHECK(r1->new_version == 2);
  CHECK(r1->first_position == 1);
  CHECK(r1->last_position == 2);

  auto r2 = s->append(req("order-2", 0, 1));
  REQUIRE(r2);
  CHECK(r2->first_position == 3);
  auto r3 = s->append(req("order-1", 2, 3));
  REQUIRE(r3);
  CHECK(r3->new_version == 5);
  CHECK(r3->first_position == 4);
  CHECK(r3->last_position == 6);
  CHECK(s->last_position() == 6);

  auto events = s->read_stream("order-1", 1, 100);
  REQUIRE(events);
  REQUIRE(events->size() == 5);
  const std::vector<std::uint64_t> positions{1, 2, 4, 5, 6};
  for (std::size_t i = 0; i < 5; ++i) {
    const auto& e = (*events)[i];
    CHECK(e.stream == "order-1");
    CHECK(e.version == i + 1);
    CHECK(e.position == positions[i]);
    CHECK(e.event.type == "test.e");
    CHECK(e.event.payload == "e-" + std::to_string(i + 1));
    CHECK(e.event.schema_version == 1);
  }
  CHECK((*events)[0].event.timestamp_us == 1000);
  CHECK((*events)[1].event.timestamp_us == 1001);

  auto middle = s->read_stream("order-1", 3, 2);
  REQUIRE(middle);
  REQUIRE(middle->size() == 2);
  CHECK(middle->front().version == 3);
  CHECK(middle->back().version == 4);
  auto past_end = s->read_stream("order-1", 6, 10);
  REQUIRE(past_end);
  CHECK(past_end->empty());
  auto unknown = s->read_stream("order-404", 1, 10);
  REQUIRE(unknown);
  CHECK(unknown->empty());
  auto from_zero = s->read_stream("order-2", 0, 10);
  REQUIRE(from_zero);
  CHECK(from_zero->size() == 1);

  auto log = s->read_log(3, 2);
  REQUIRE(log);
  REQUIRE(log->size() == 2);
  CHECK((*log)[0].stream == "order-2");
  CHECK((*log)[0].version == 1);
  CHECK((*log)[0].position == 3);
  CHECK((*log)[1].stream == "order-1");
  CHECK((*log)[1].version == 3);
  CHECK((*log)[1].event == (*events)[2].event);

  CHECK(*s->stream_version("order-1") == 5);
  CHECK(*s->stream_version("order-404") == 0);

  const auto stats = s->stats();
  CHECK(stats.writes == 3);
  CHECK(stats.syncs == 3);
  CHECK(stats.appends == 3);
  CHECK(stats.events == 6);
  check_consistent(*s);
}

TEST_CASE("store/event_store: a version conflict writes nothing", "[store][event_store]") {
  temp_dir dir;
  auto s = open_store(dir.path().string(), durability::buffered);
  REQUIRE(s->append(req("acct-1", 0, 3)));

  auto stale = req("acct-1", 2, 1);
  stale.snapshot = snapshot_record{3, 1, "state"};
  stale.tracking = tracking_record{"projector", 3};
  auto r = s->append(stale);
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::conflict);
  CHECK_THAT(r.error().message(), Catch::Contains("acct-1") && Catch::Contains("3") && Catch::Contains("2"));

  SECTION("expected_version 0 on an existing stream") {
    auto again = s->append(req("acct-1", 0, 1));
    REQUIRE_FALSE(again);
    CHECK(again.error().code() == errc::conflict);
  }
  SECTION("expected_version ahead of the stream") {
    auto ahead = s->append(req("acct-2", 5, 1));
    REQUIRE_FALSE(ahead);
    CHECK(ahead.error().code() == errc::conflict);
    CHECK(*s->stream_version("acct-2") == 0);
  }
  CHECK(*s->stream_version("acct-1") == 3);
  CHECK(s->last_position() == 3);
  CHECK(s->read_log(1, 100)->size() == 3);
  CHECK_FALSE(s->latest_snapshot("acct-1")->has_value());
  CHECK(*s->tracking_position("projector") == 0);
  CHECK(s->stats().appends == 1);
}

TEST_CASE("store/event_store: group append leaves out what conflicts and commits the rest", "[store][event_store]") {
  temp_dir dir;
  auto s = open_store(dir.path().string());
  REQUIRE(s->append(req("b", 0, 1)));

  std::vector<append_request> group;
  group.push_back(req("a", 0, 2));               // ok: positions 2, 3
  group.push_back(req("b", 0, 1));               // conflict: b is at 1
  group.push_back(req("a", 2, 1));               // ok: sees the first request of the group, position 4
  group.push_back(req("a", 2, 1));               // conflict: a is at 3 by now
  group.push_back(req("", 0, 1));                // invalid
  group.push_back(req("c", 0, 3));               // ok: positions 5, 6, 7
  group.push_back(append_request{"b", 1, {}, {}, tracking_record{"sub", 7}}); // ok: tracking only
  const auto results = s->group_append(group);
  REQUIRE(results.size() == group.size());

  REQUIRE(results[0]);
  CHECK(results[0]->first_position == 2);
  CHECK(results[0]->last_position == 3);
  REQUIRE_FALSE(results[1]);
  CHECK(results[1].error().code() == errc::conflict);
  REQUIRE(results[2]);
  CHECK(results[2]->new_version == 3);
  CHECK(results[2]->first_position == 4);
  REQUIRE_FALSE(results[3]);
  CHECK(results[3].error().code() == errc::conflict);
  REQUIRE_FALSE(results[4]);
  CHECK(results[4].error().code() == errc::invalid_argument);
  REQUIRE(results[5]);
  CHECK(results[5]->first_position == 5);
  CHECK(results[5]->last_position == 7);
  REQUIRE(results[6]);
  CHECK(results[6]->new_version == 1);
  CHECK(results[6]->first_position == 0);
  CHECK(results[6]->last_position == 0);

  CHECK(s->last_position() == 7);
  CHECK(*s->stream_version("a") == 3);
  CHECK(*s->stream_version("b") == 1);
  CHECK(*s->stream_version("c") == 3);
  CHECK(*s->tracking_position("sub") == 7);
  CHECK(s->stats().writes == 2);
  CHECK(s->stats().appends == 5);
  CHECK(s->stats().events == 7);
  check_consistent(*s);

  SECTION("a group in which nothing is accepted writes nothing") {
    std::vector<append_request> losers{req("a", 0, 1), req("b", 0, 1)};
    const auto none = s->group_append(losers);
    CHECK_FALSE(none[0]);
    CHECK_FALSE(none[1]);
    CHECK(s->stats().writes == 2);
    CHECK(s->group_append({}).empty());
  }
}

TEST_CASE("store/event_store: concurrent group appends give a gapless log and contiguous versions",
          "[store][event_store]") {
  temp_dir dir;
  auto s = open_store(dir.path().string(), durability::buffered);
  constexpr int threads = 4;
  constexpr int rounds = 300;
  std::atomic<std::uint64_t> committed_events{0};
  std::atomic<std::uint64_t> conflicts{0};
  std::atomic<std::uint64_t> surprises{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::map<std::string, std::uint64_t> heads;
      std::mt19937 rng{static_cast<unsigned>(t)};
      for (int round = 0; round < rounds; ++round) {
        std::vector<append_request> group;
        for (int k = 0; k < 8; ++k) {
          // (built piecewise: GCC 12 misreports "literal" + std::string as overlapping memcpy, PR 105651)
          std::string stream{"t"};
          stream += std::to_string(t);
          stream += '-';
          stream += std::to_string(rng() % 16);
          group.push_back(req(stream, heads[stream], 1 + rng() % 3));
          heads[stream] += group.back().events.size();
        }
        // A stream every thread appends to: optimistic concurrency decides who wins.
        const auto shared_head = s->stream_version("shared");
        group.push_back(req("shared", shared_head ? *shared_head : 0, 1));
        const auto results = s->group_append(group);
        // Catch's assertions are not thread-safe: count surprises here, check them after the join.
        for (std::size_t i = 0; i < results.size(); ++i) {
          if (results[i]) {
            committed_events += group[i].events.size();
            if (results[i]->last_position != results[i]->first_position + group[i].events.size() - 1)
              ++surprises;
          } else if (i + 1 == results.size() && results[i].error().code() == errc::conflict) {
            ++conflicts; // only the shared stream can conflict; the thread's own streams are tracked exactly
          } else {
            ++surprises;
          }
        }
      }
    });
  }
  for (auto& w : workers)
    w.join();
  CHECK(surprises.load() == 0);
  // Each round's shared append either committed (one event) or conflicted.
  CHECK(*s->stream_version("shared") + conflicts.load() == threads * rounds);
  CHECK(s->last_position() == committed_events.load());
  CHECK(s->stats().events == committed_events.load());
  check_consistent(*s);
}

TEST_CASE("store/event_store: readers never see part of a write", "[store][event_store]") {
  temp_dir dir;
  auto s = open_store(dir.path().string(), durability::buffered);
  std::atomic<std::uint64_t> checks{0};
  std::atomic<std::uint64_t> torn{0};
  // Every write is a group of two appends of 3 events: whole writes only means multiples of 6 in the log and
  // of 3 in each stream, and a head never ahead of the stream's events.
  background_loop reader{[&] {
    const auto log = s->read_log(1, 1'000'000);
    const auto head = s->stream_version("x");
    const auto x = s->read_stream("x", 1, 1'000'000);
    if (!log || !head || !x || log->size() % 6 != 0 || x->size() % 3 != 0 || x->size() < *head)
      ++torn;
    ++checks;
  }};
  for (std::uint64_t i = 0; i < 300; ++i) {
    const std::vector<append_request> group{req("x", 3 * i, 3), req("y", 3 * i, 3)};
    for (const auto& r : s->group_append(group))
      REQUIRE(r);
  }
  while (checks.load() < 10)
    std::this_thread::yield();
  reader.stop();
  CHECK(torn.load() == 0);
  check_consistent(*s);
}

TEST_CASE("store/event_store: reopen keeps everything", "[store][event_store]") {
  temp_dir dir;
  {
    auto s = open_store(dir.path().string(), durability::buffered);
    auto r = req("acct-1", 0, 3);
    r.snapshot = snapshot_record{3, 2, "state-3"};
    r.tracking = tracking_record{"projector", 3};
    REQUIRE(s->append(r));
    REQUIRE(s->append(req("acct-2", 0, 2)));
    REQUIRE(s->flush());
  }
  auto s = open_store(dir.path().string());
  CHECK(s->last_position() == 5);
  CHECK(*s->stream_version("acct-1") == 3);
  CHECK(*s->stream_version("acct-2") == 2);
  auto snapshot = s->latest_snapshot("acct-1");
  REQUIRE(snapshot);
  REQUIRE(snapshot->has_value());
  CHECK(**snapshot == snapshot_record{3, 2, "state-3"});
  CHECK(*s->tracking_position("projector") == 3);
  CHECK(s->stats().writes == 0);
  auto next = s->append(req("acct-2", 2, 1));
  REQUIRE(next);
  CHECK(next->first_position == 6);
  check_consistent(*s);
}

TEST_CASE("store/event_store: a long stream reads back in bounded chunks", "[store][event_store]") {
  temp_dir dir;
  auto s = open_store(dir.path().string(), durability::buffered);
  constexpr std::uint64_t total = 100'000;
  constexpr std::size_t per_append = 5'000;
  REQUIRE(s->append(req("other", 0, 3)));
  for (std::uint64_t v = 0; v < total; v += per_append)
    REQUIRE(s->append(req("long", v, per_append)));
  REQUIRE(s->append(req("other", 3, 3)));

  for (const std::size_t chunk : {std::size_t{1}, std::size_t{999}, std::size_t{4096}}) {
    std::uint64_t next = 1;
    std::size_t chunks = 0;
    for (;;) {
      auto part = s->read_stream("long", next, chunk);
      REQUIRE(part);
      if (part->empty())
        break;
      ++chunks;
      REQUIRE(part->size() <= chunk);
      for (const auto& e : *part) {
        REQUIRE(e.version == next);
        REQUIRE(e.stream == "long");
        REQUIRE(e.position == next + 3);
        ++next;
      }
      if (chunk == 1 && chunks == 2000)
        next = total - 5; // one-event chunks: sample the start and the end
    }
    CHECK(next == total + 1);
  }
  // The log in chunks: "other" before and after the long stream.
  auto tail = s->read_log(total + 1, 10);
  REQUIRE(tail);
  REQUIRE(tail->size() == 6);
  CHECK(tail->front().stream == "long");
  CHECK(tail->front().version == total - 2);
  CHECK(tail->back().stream == "other");
  CHECK(tail->back().version == 6);
  CHECK(whole_log(*s, 4096).size() == total + 6);
}

TEST_CASE("store/event_store: snapshots", "[store][event_store]") {
  temp_dir dir;
  auto s = open_store(dir.path().string());
  CHECK_FALSE(s->latest_snapshot("acct-1")->has_value());

  auto first = req("acct-1", 0, 2);
  first.snapshot = snapshot_record{2, 1, "at-2"};
  REQUIRE(s->append(first));
  CHECK(**s->latest_snapshot("acct-1") == snapshot_record{2, 1, "at-2"});

  // A snapshot on its own, at the current head: checked against the expected version like any append.
  REQUIRE(s->append(req("acct-1", 2, 3)));
  append_request only_snapshot{"acct-1", 5, {}, snapshot_record{5, 2, std::string(100'000, 'x')}, {}};
  auto r = s->append(only_snapshot);
  REQUIRE(r);
  CHECK(r->new_version == 5);
  CHECK(r->first_position == 0);
  CHECK(**s->latest_snapshot("acct-1") == *only_snapshot.snapshot);
  CHECK(s->last_position() == 5);

  only_snapshot.expected_version = 4;
  only_snapshot.snapshot->version = 4;
  auto stale = s->append(only_snapshot);
  REQUIRE_FALSE(stale);
  CHECK(stale.error().code() == errc::conflict);

  SECTION("a snapshot beyond the stream's head is invalid") {
    auto ahead = req("acct-1", 5, 1);
    ahead.snapshot = snapshot_record{7, 1, "future"};
    auto bad = s->append(ahead);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code() == errc::invalid_argument);
    ahead.snapshot = snapshot_record{0, 1, "nothing"};
    CHECK(s->append(ahead).error().code() == errc::invalid_argument);
    CHECK(*s->stream_version("acct-1") == 5);
  }
  SECTION("the latest snapshot of a group wins") {
    auto a = req("acct-1", 5, 1);
    a.snapshot = snapshot_record{6, 1, "at-6"};
    auto b = req("acct-1", 6, 1);
    b.snapshot = snapshot_record{7, 1, "at-7"};
    const std::vector<append_request> group{a, b};
    const auto results = s->group_append(group);
    REQUIRE(results[0]);
    REQUIRE(results[1]);
    CHECK(**s->latest_snapshot("acct-1") == snapshot_record{7, 1, "at-7"});
  }
}

TEST_CASE("store/event_store: tracking records commit with the events", "[store][event_store]") {
  temp_dir dir;
  auto s = open_store(dir.path().string());
  CHECK(*s->tracking_position("policy") == 0);
  CHECK(s->tracking_positions()->empty());

  auto r = req("shipment-1", 0, 1);
  r.tracking = tracking_record{"policy", 41};
  REQUIRE(s->append(r));
  CHECK(*s->tracking_position("policy") == 41);

  std::vector<append_request> group;
  group.push_back(append_request{"shipment-1", 1, {}, {}, tracking_record{"policy", 42}});
  group.push_back(append_request{"projection-x", 0, {}, {}, tracking_record{"projection", 1}});
  const auto results = s->group_append(group);
  REQUIRE(results[0]);
  REQUIRE(results[1]);
  CHECK(*s->tracking_position("policy") == 42);
  CHECK(*s->stream_version("projection-x") == 0);

  const auto all = s->tracking_positions();
  REQUIRE(all);
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].subscriber == "policy");
  CHECK((*all)[0].position == 42);
  CHECK((*all)[1].subscriber == "projection");
  CHECK((*all)[1].position == 1);

  auto conflicting = req("shipment-1", 0, 1);
  conflicting.tracking = tracking_record{"policy", 99};
  CHECK_FALSE(s->append(conflicting));
  CHECK(*s->tracking_position("policy") == 42);
}

TEST_CASE("store/event_store: malformed requests are invalid_argument", "[store][event_store]") {
  temp_dir dir;
  auto s = open_store(dir.path().string(), durability::buffered);
  const auto invalid = [&](const append_request& r) {
    auto result = s->append(r);
    REQUIRE_FALSE(result);
    CHECK(result.error().code() == errc::invalid_argument);
    return result.error().message();
  };
  CHECK_THAT(invalid(req("", 0, 1)), Catch::Contains("empty"));
  CHECK_THAT(invalid(req(std::string(max_stream_name_bytes + 1, 's'), 0, 1)), Catch::Contains("longer"));
  CHECK_THAT(invalid(req(std::string("nul\0byte", 8), 0, 1)), Catch::Contains("NUL"));
  invalid(append_request{"s", 0, {}, {}, {}});
  invalid(append_request{"s", 0, {ev("", "p")}, {}, {}});
  invalid(append_request{"s", 0, {ev(std::string(max_event_type_bytes + 1, 't'), "p")}, {}, {}});
  invalid(append_request{"s", 0, {ev("t", "p")}, {}, tracking_record{"", 1}});
  invalid(append_request{"s", UINT64_MAX, {ev("t", "p")}, {}, {}});

  CHECK(s->append(req(std::string(max_stream_name_bytes, 's'), 0, 1)));
  CHECK(s->append(req("s", 0, max_events_per_append)));
  CHECK(s->last_position() == 1 + max_events_per_append);

  CHECK(s->read_stream("", 1, 10).error().code() == errc::invalid_argument);
  CHECK(s->read_stream("s", 1, 0).error().code() == errc::invalid_argument);
  CHECK(s->read_log(1, 0).error().code() == errc::invalid_argument);
}

TEST_CASE("store/event_store: an append over the size limits is too_large and writes nothing", "[store][event_store]") {
  temp_dir dir;
  auto s = open_store(dir.path().string(), durability::buffered);
  const auto too_large = [&](const append_request& r) {
    auto result = s->append(r);
    REQUIRE_FALSE(result);
    CHECK(result.error().code() == errc::too_large);
    CHECK(to_string(result.error().code()) == "too_large");
    return result.error().message();
  };
  CHECK_THAT(too_large(req("s", 0, max_events_per_append + 1)), Catch::Contains("events"));
  CHECK_THAT(too_large(append_request{"s", 0, {ev("t", std::string(max_event_payload_bytes + 1, 'p'))}, {}, {}}),
             Catch::Contains("payload over"));
  CHECK(s->last_position() == 0);
  CHECK(*s->stream_version("s") == 0);
  CHECK(s->stream_version(std::string("a\0b", 3)).error().code() == errc::invalid_argument);
  CHECK(s->tracking_position("").error().code() == errc::invalid_argument);
  CHECK(s->latest_snapshot("").error().code() == errc::invalid_argument);
}

TEST_CASE("store/event_store: stream names that share a prefix do not mix", "[store][event_store]") {
  temp_dir dir;
  auto s = open_store(dir.path().string(), durability::buffered);
  REQUIRE(s->append(req("a", 0, 2)));
  REQUIRE(s->append(req("ab", 0, 3)));
  REQUIRE(s->append(req(std::string("a\x01", 2), 0, 1)));
  REQUIRE(s->append(req(std::string("a\xff", 2), 0, 1)));
  CHECK(s->read_stream("a", 1, 100)->size() == 2);
  CHECK(s->read_stream("ab", 1, 100)->size() == 3);
  CHECK(s->read_stream(std::string("a\x01", 2), 1, 100)->size() == 1);
  check_consistent(*s);
}

TEST_CASE("store/event_store: open errors", "[store][event_store]") {
  temp_dir dir;
  options o;

  SECTION("a regular file") {
    o.path = dir.sub("file");
    std::ofstream{o.path} << "not a database";
    auto s = event_store::open(o);
    REQUIRE_FALSE(s);
    CHECK(s.error().code() == errc::not_a_database);
  }
  SECTION("a folder of other files") {
    o.path = dir.sub("junk");
    std::filesystem::create_directory(o.path);
    std::ofstream{o.path + "/notes.txt"} << "hello";
    std::ofstream{o.path + "/MANIFEST-000001"} << "garbage";
    auto s = event_store::open(o);
    REQUIRE_FALSE(s);
    CHECK(s.error().code() == errc::not_a_database);
    CHECK(std::filesystem::exists(o.path + "/notes.txt"));
  }
  SECTION("a folder whose CURRENT file names no database") {
    o.path = dir.sub("fake");
    std::filesystem::create_directory(o.path);
    std::ofstream{o.path + "/CURRENT"} << "MANIFEST-000042\n";
    auto s = event_store::open(o);
    REQUIRE_FALSE(s);
    INFO(s.error().to_string());
    CHECK(s.error().code() == errc::not_a_database);
  }
  SECTION("a missing path without create_if_missing") {
    o.path = dir.sub("missing");
    o.create_if_missing = false;
    auto s = event_store::open(o);
    REQUIRE_FALSE(s);
    CHECK(s.error().code() == errc::not_a_database);
    CHECK_FALSE(std::filesystem::exists(o.path));
  }
  SECTION("an empty path") {
    CHECK(event_store::open(o).error().code() == errc::invalid_argument);
  }
  SECTION("an empty folder becomes a store") {
    o.path = dir.sub("empty");
    std::filesystem::create_directory(o.path);
    CHECK(event_store::open(o));
  }
  SECTION("another RocksDB database is left alone") {
    o.path = dir.sub("foreign");
    {
      rocksdb::Options raw;
      raw.create_if_missing = true;
      rocksdb::DB* db = nullptr;
      REQUIRE(rocksdb::DB::Open(raw, o.path, &db).ok());
      REQUIRE(db->Put(rocksdb::WriteOptions{}, "key", "value").ok());
      delete db;
    }
    auto s = event_store::open(o);
    REQUIRE_FALSE(s);
    CHECK(s.error().code() == errc::not_a_database);
    std::vector<std::string> names;
    REQUIRE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions{}, o.path, &names).ok());
    CHECK(names == std::vector<std::string>{"default"});
  }
  SECTION("a creation that stopped before the format was written is completed") {
    o.path = dir.sub("half");
    {
      rocksdb::Options raw;
      raw.create_if_missing = true;
      rocksdb::DB* db = nullptr;
      REQUIRE(rocksdb::DB::Open(raw, o.path, &db).ok());
      delete db;
    }
    auto s = event_store::open(o);
    REQUIRE(s);
    CHECK((*s)->append(req("x", 0, 1)));
  }
  SECTION("an unknown store format") {
    o.path = dir.sub("future");
    open_store(o.path).reset();
    {
      raw_db raw{o.path};
      CHECK(raw.get("default", "cairn.format") == std::string("\0\0\0\x02", 4));
      raw.put("default", "cairn.format", std::string("\0\0\0\x63", 4));
    }
    auto s = event_store::open(o);
    REQUIRE_FALSE(s);
    CHECK(s.error().code() == errc::unknown_format);
    CHECK_THAT(s.error().message(), Catch::Contains("99"));
    {
      raw_db raw{o.path};
      raw.put("default", "cairn.format", "1");
    }
    CHECK(event_store::open(o).error().code() == errc::unknown_format);
  }
  SECTION("a store open in this process") {
    o.path = dir.sub("busy");
    auto first = open_store(o.path);
    auto second = event_store::open(o);
    REQUIRE_FALSE(second);
    CHECK(second.error().code() == errc::locked);
    first.reset();
    CHECK(event_store::open(o));
  }
  SECTION("a store open in another process") {
    o.path = dir.sub("busy");
    open_store(o.path).reset();
    int ready[2];
    int release[2];
    REQUIRE(::pipe(ready) == 0);
    REQUIRE(::pipe(release) == 0);
    const std::string lock_file = o.path + "/LOCK";
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      // Only async-signal-safe calls after fork: take RocksDB's lock the way RocksDB does (fcntl).
      const int fd = ::open(lock_file.c_str(), O_RDWR);
      struct flock fl {};
      fl.l_type = F_WRLCK;
      fl.l_whence = SEEK_SET;
      const char ok = (fd >= 0 && ::fcntl(fd, F_SETLK, &fl) == 0) ? '1' : '0';
      static_cast<void>(::write(ready[1], &ok, 1));
      char byte = 0;
      static_cast<void>(::read(release[0], &byte, 1));
      ::_exit(0);
    }
    char ok = 0;
    REQUIRE(::read(ready[0], &ok, 1) == 1);
    REQUIRE(ok == '1');
    auto s = event_store::open(o);
    const char byte = 'x';
    REQUIRE(::write(release[1], &byte, 1) == 1);
    int status = 0;
    ::waitpid(child, &status, 0);
    for (const int fd : {ready[0], ready[1], release[0], release[1]})
      ::close(fd);
    REQUIRE_FALSE(s);
    CHECK(s.error().code() == errc::locked);
    CHECK(event_store::open(o));
  }
}

namespace {

using entries = std::vector<std::pair<std::string, std::string>>;

entries all_runtime_keys(const event_store& s) {
  auto page = s.scan_runtime("", "", 100);
  REQUIRE(page);
  return *page;
}

entries all_projection_keys(const event_store& s) {
  auto page = s.scan_projection("", "", 100);
  REQUIRE(page);
  return *page;
}

} // namespace

TEST_CASE("store/event_store: the runtime's keys are a key space of their own, apart from every projection's",
          "[store][event_store][runtime_keys]") {
  temp_dir dir;
  {
    auto s = open_store(dir.path().string());
    // The same key in both spaces: neither write touches the other.
    auto r = req("pm-1", 0, 1);
    r.runtime_puts = {runtime_put{"open-process/pm-1", std::string{}}};
    r.puts = {projection_put{"open-process/pm-1", std::string{"a projection's"}}};
    REQUIRE(s->append(r));
    append_request erase_projection;
    erase_projection.puts = {projection_put{"open-process/pm-1", std::nullopt}};
    REQUIRE(s->append(erase_projection));
    CHECK(all_runtime_keys(*s) == entries{{"open-process/pm-1", ""}});
    CHECK(all_projection_keys(*s).empty());
    // Runtime puts alone need no stream, and a later write of a key wins, as for projection puts.
    append_request runtime_only;
    runtime_only.runtime_puts = {runtime_put{"open-process/pm-2", std::string{"x"}},
                                 runtime_put{"open-process/pm-1", std::nullopt},
                                 runtime_put{"open-process/pm-2", std::string{"y"}}};
    REQUIRE(s->append(runtime_only));
    append_request empty_key;
    empty_key.runtime_puts = {runtime_put{"", std::string{}}};
    CHECK(s->append(empty_key).error().code() == errc::invalid_argument);
  }
  auto s = open_store(dir.path().string());
  CHECK(all_runtime_keys(*s) == entries{{"open-process/pm-2", "y"}});
  CHECK(all_projection_keys(*s).empty());
  auto page = s->scan_runtime("open-process/", "open-process/pm-2", 10);
  REQUIRE(page);
  CHECK(page->empty());
}

TEST_CASE("store/event_store: a format-1 store is upgraded by a read-write open and refused by a read-only one",
          "[store][event_store][runtime_keys]") {
  temp_dir dir;
  const std::string path = dir.path().string();
  {
    auto s = open_store(path);
    auto r = req("order_fulfillment-f-1", 0, 2);
    r.puts = {projection_put{"orders/x", std::string{"1"}}};
    REQUIRE(s->append(r));
  }
  {
    // Make it a format-1 store as that format left it: no runtime column family, an open-process marker among the
    // projections' keys.
    raw_db raw{path};
    REQUIRE(raw.db->DropColumnFamily(raw.cf("runtime")).ok());
    raw.put("projections", "cairn.open-process/order_fulfillment-f-1", "");
    raw.put("default", "cairn.format", std::string("\0\0\0\x01", 4));
  }
  options read_only;
  read_only.path = path;
  read_only.read_only = true;
  auto refused = event_store::open(read_only);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code() == errc::unknown_format);
  CHECK_THAT(refused.error().message(), Catch::Contains("opening it read-write once upgrades it"));
  {
    auto s = open_store(path);
    CHECK(all_runtime_keys(*s) == entries{{"open-process/order_fulfillment-f-1", ""}});
    CHECK(all_projection_keys(*s) == entries{{"orders/x", "1"}});
    auto events = s->read_stream("order_fulfillment-f-1", 1, 10);
    REQUIRE(events);
    CHECK(events->size() == 2);
  }
  {
    raw_db raw{path};
    CHECK(raw.get("default", "cairn.format") == std::string("\0\0\0\x02", 4));
  }
  auto s = event_store::open(read_only);
  REQUIRE(s);
  CHECK(all_runtime_keys(**s) == entries{{"open-process/order_fulfillment-f-1", ""}});
}

TEST_CASE("store/event_store: corrupt stored values are corrupt_data naming what is broken",
          "[store][event_store]") {
  temp_dir dir;
  {
    auto s = open_store(dir.path().string());
    REQUIRE(s->append(req("acct-1", 0, 3)));
    REQUIRE(s->append(req("acct-2", 0, 2)));
    auto r = req("acct-3", 0, 1);
    r.snapshot = snapshot_record{1, 1, "state"};
    REQUIRE(s->append(r));
  }
  const auto reopen_and = [&](auto&& check) {
    auto s = open_store(dir.path().string());
    check(*s);
  };

  SECTION("garbage in a stream event") {
    { raw_db{dir.path().string()}.put("streams", stream_key("acct-1", 2), "\x01garbage"); }
    reopen_and([](event_store& s) {
      auto events = s.read_stream("acct-1", 1, 10);
      REQUIRE_FALSE(events);
      CHECK(events.error().code() == errc::corrupt_data);
      CHECK_THAT(events.error().message(), Catch::Contains("acct-1") && Catch::Contains("version 2"));
      // Reads that do not touch the broken event still work.
      CHECK(s.read_stream("acct-1", 3, 10)->size() == 1);
      CHECK(s.read_stream("acct-1", 1, 1)->size() == 1);
    });
  }
  SECTION("a truncated stream event") {
    {
      raw_db raw{dir.path().string()};
      std::string value = raw.get("streams", stream_key("acct-2", 1));
      value.pop_back();
      raw.put("streams", stream_key("acct-2", 1), value);
    }
    reopen_and([](event_store& s) {
      auto events = s.read_stream("acct-2", 1, 10);
      REQUIRE_FALSE(events);
      CHECK(events.error().code() == errc::corrupt_data);
      CHECK_THAT(events.error().message(), Catch::Contains("acct-2") && Catch::Contains("version 1"));
    });
  }
  SECTION("a missing stream event") {
    { raw_db{dir.path().string()}.del("streams", stream_key("acct-1", 2)); }
    reopen_and([](event_store& s) {
      auto events = s.read_stream("acct-1", 1, 10);
      REQUIRE_FALSE(events);
      CHECK(events.error().code() == errc::corrupt_data);
      CHECK_THAT(events.error().message(), Catch::Contains("acct-1") && Catch::Contains("version 2"));
    });
  }
  SECTION("a malformed stream key") {
    // Sorts between versions 2 and 3, one byte too long.
    { raw_db{dir.path().string()}.put("streams", stream_key("acct-1", 2) + "x", "\x01"); }
    reopen_and([](event_store& s) {
      auto events = s.read_stream("acct-1", 1, 10);
      REQUIRE_FALSE(events);
      CHECK(events.error().code() == errc::corrupt_data);
      CHECK_THAT(events.error().message(), Catch::Contains("acct-1"));
    });
  }
  SECTION("garbage in the global log") {
    { raw_db{dir.path().string()}.put("log", be64(4), "\x07nonsense"); }
    reopen_and([](event_store& s) {
      auto log = s.read_log(1, 10);
      REQUIRE_FALSE(log);
      CHECK(log.error().code() == errc::corrupt_data);
      CHECK_THAT(log.error().message(), Catch::Contains("position 4"));
      CHECK(s.read_log(5, 10)->size() == 2);
    });
  }
  SECTION("a log entry whose event is cut short names its stream") {
    {
      raw_db raw{dir.path().string()};
      std::string value = raw.get("log", be64(5));
      value.resize(value.size() - 2);
      raw.put("log", be64(5), value);
    }
    reopen_and([](event_store& s) {
      auto log = s.read_log(5, 10);
      REQUIRE_FALSE(log);
      CHECK_THAT(log.error().message(), Catch::Contains("position 5") && Catch::Contains("acct-2"));
    });
  }
  SECTION("a gap in the global log") {
    { raw_db{dir.path().string()}.del("log", be64(3)); }
    reopen_and([](event_store& s) {
      auto log = s.read_log(1, 10);
      REQUIRE_FALSE(log);
      CHECK_THAT(log.error().message(), Catch::Contains("position 3"));
    });
  }
  SECTION("a malformed head, snapshot and tracking record") {
    {
      raw_db raw{dir.path().string()};
      raw.put("heads", "acct-1", "\x01\x02");
      raw.put("snapshots", "acct-3", "\x01\x05");
      raw.put("tracking", "sub", "123");
    }
    reopen_and([](event_store& s) {
      auto head = s.stream_version("acct-1");
      REQUIRE_FALSE(head);
      CHECK(head.error().code() == errc::corrupt_data);
      CHECK_THAT(head.error().message(), Catch::Contains("acct-1"));
      auto append = s.append(req("acct-1", 3, 1));
      REQUIRE_FALSE(append);
      CHECK(append.error().code() == errc::corrupt_data);
      auto snapshot = s.latest_snapshot("acct-3");
      REQUIRE_FALSE(snapshot);
      CHECK(snapshot.error().code() == errc::corrupt_data);
      CHECK_THAT(snapshot.error().message(), Catch::Contains("acct-3"));
      CHECK(s.tracking_position("sub").error().code() == errc::corrupt_data);
      CHECK(s.tracking_positions().error().code() == errc::corrupt_data);
    });
  }
  SECTION("random values never crash a read") {
    std::mt19937_64 rng{7};
    {
      raw_db raw{dir.path().string()};
      for (std::uint64_t v = 1; v <= 300; ++v) {
        std::string value(rng() % 40, '\0');
        for (auto& b : value)
          b = static_cast<char>(rng());
        if (v % 3 == 0 && !value.empty())
          value[0] = '\x01'; // get past the format byte now and then
        raw.put("streams", stream_key("fuzz", v), value);
        raw.put("log", be64(1000 + v), value);
      }
    }
    reopen_and([](event_store& s) {
      for (std::uint64_t v = 1; v <= 300; ++v) {
        auto events = s.read_stream("fuzz", v, 1);
        if (!events)
          CHECK(events.error().code() == errc::corrupt_data);
        auto log = s.read_log(1000 + v, 1);
        if (!log)
          CHECK(log.error().code() == errc::corrupt_data);
      }
    });
  }
}
