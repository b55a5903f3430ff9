// cairn::store under disk faults: a write that fails (failing Append, failing Sync, no space) leaves nothing
// behind, positions do not skip, and the store works again once the fault clears, before and after a reopen.
// A failure of any kind of file (WAL, info LOG, MANIFEST, table files, the rest) never aborts the process: those
// scenarios run in a child process, so that an abort inside RocksDB fails the test instead of ending the program.
#include "store_checks.hpp"

#include <support/child_process.hpp>
#include <support/temp_dir.hpp>

#include <cairn/store/event_store.hpp>
#include <cairn/store/fault_injection.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

using namespace cairn::store;
using namespace cairn::test::store_checks;
using cairn::test::temp_dir;

namespace {

enum class fault { failing_append, failing_sync, no_space };

const char* name(fault f) {
  switch (f) {
    case fault::failing_append:
      return "failing append";
    case fault::failing_sync:
      return "failing sync";
    case fault::no_space:
      return "no space";
  }
  return "?";
}

void inject(fault_injection& faults, fault f) {
  switch (f) {
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
}

const char* key(fault f) {
  switch (f) {
    case fault::failing_append:
      return "failing_append";
    case fault::failing_sync:
      return "failing_sync";
    case fault::no_space:
      return "no_space";
  }
  return "?";
}

std::uint64_t injected(const fault_injection& faults) {
  return faults.injected_write_failures() + faults.injected_sync_failures() + faults.injected_no_space_failures();
}

// The seed every fault test starts from: stream a (2 events, a snapshot, tracked by "sub"), stream b (1 event).
void seed(event_store& s) {
  auto a = req("a", 0, 2);
  a.snapshot = snapshot_record{2, 1, "a-at-2"};
  a.tracking = tracking_record{"sub", 2};
  REQUIRE(s.append(a));
  REQUIRE(s.append(req("b", 0, 1)));
  REQUIRE(s.last_position() == 3);
}

// The group that the fault makes fail: touches events, heads, the log, a snapshot and two tracking records.
std::vector<append_request> doomed_group() {
  std::vector<append_request> group;
  auto a = req("a", 2, 2, "doomed");
  a.snapshot = snapshot_record{4, 1, "a-at-4"};
  a.tracking = tracking_record{"sub", 5};
  group.push_back(a);
  auto c = req("c", 0, 3, "doomed");
  c.snapshot = snapshot_record{3, 1, "c-at-3"};
  c.tracking = tracking_record{"other", 9};
  group.push_back(c);
  group.push_back(req("b", 0, 1)); // conflicts whatever the disk does
  return group;
}

// Exactly the seed is visible: nothing of the failed group.
void check_only_seed(const event_store& s) {
  CHECK(s.last_position() == 3);
  CHECK(*s.stream_version("a") == 2);
  CHECK(*s.stream_version("b") == 1);
  CHECK(*s.stream_version("c") == 0);
  auto a = s.read_stream("a", 1, 100);
  REQUIRE(a);
  CHECK(a->size() == 2);
  CHECK(s.read_stream("c", 1, 100)->empty());
  auto log = s.read_log(1, 100);
  REQUIRE(log);
  CHECK(log->size() == 3);
  CHECK(**s.latest_snapshot("a") == snapshot_record{2, 1, "a-at-2"});
  CHECK_FALSE(s.latest_snapshot("c")->has_value());
  CHECK(*s.tracking_position("sub") == 2);
  CHECK(*s.tracking_position("other") == 0);
  CHECK(s.tracking_positions()->size() == 1);
}

} // namespace

TEST_CASE("store/faults: a failed write leaves nothing behind and the store recovers", "[store][faults]") {
  const fault kind = GENERATE(fault::failing_append, fault::failing_sync, fault::no_space);
  const fault_scope scope = GENERATE(fault_scope::all_files, fault_scope::wal);
  INFO(name(kind) << (scope == fault_scope::wal ? ", WAL only" : ", all files"));

  temp_dir dir;
  fault_injection faults;
  faults.scope(scope);
  {
    auto s = open_store(dir.path().string(), durability::durable, faults.env());
    seed(*s);
    const auto before = s->stats();

    inject(faults, kind);
    const auto group = doomed_group();
    const auto results = s->group_append(group);
    CHECK(injected(faults) > 0);
    REQUIRE(results.size() == 3);
    REQUIRE_FALSE(results[0]);
    CHECK(results[0].error().code() == errc::storage_failure);
    REQUIRE_FALSE(results[1]);
    CHECK(results[1].error().code() == errc::storage_failure);
    REQUIRE_FALSE(results[2]);
    CHECK(results[2].error().code() == errc::conflict);
    check_only_seed(*s);
    CHECK(s->stats().appends == before.appends);
    CHECK(s->stats().events == before.events);

    // While the fault lasts every write fails, and reads keep working.
    auto again = s->append(req("d", 0, 1));
    REQUIRE_FALSE(again);
    CHECK(again.error().code() == errc::storage_failure);
    check_only_seed(*s);

    faults.clear();
    check_only_seed(*s);
    auto next = s->append(req("d", 0, 2));
    INFO((next ? std::string{} : next.error().to_string()));
    REQUIRE(next);
    CHECK(next->first_position == 4); // the failed write's positions are reused: no gap
    CHECK(next->last_position == 5);
    // Recovery did not bring the failed group back, here or later.
    CHECK(*s->stream_version("c") == 0);
    CHECK(*s->stream_version("a") == 2);
    CHECK(**s->latest_snapshot("a") == snapshot_record{2, 1, "a-at-2"});
    CHECK(*s->tracking_position("sub") == 2);
    auto a = req("a", 2, 1);
    a.tracking = tracking_record{"sub", 6};
    REQUIRE(s->append(a));
    check_consistent(*s);
  }
  auto s = open_store(dir.path().string(), durability::durable, faults.env());
  CHECK(s->last_position() == 6);
  CHECK(*s->stream_version("a") == 3);
  CHECK(*s->stream_version("c") == 0);
  CHECK(*s->stream_version("d") == 2);
  CHECK(**s->latest_snapshot("a") == snapshot_record{2, 1, "a-at-2"});
  CHECK(*s->tracking_position("sub") == 6);
  CHECK(*s->tracking_position("other") == 0);
  check_consistent(*s);
}

TEST_CASE("store/faults: buffered mode", "[store][faults]") {
  temp_dir dir;
  fault_injection faults;
  faults.scope(fault_scope::wal);
  auto s = open_store(dir.path().string(), durability::buffered, faults.env());
  seed(*s);

  SECTION("a failing WAL write fails the append") {
    faults.fail_writes(true);
    auto r = s->append(req("c", 0, 1));
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == errc::storage_failure);
    check_only_seed(*s);
    faults.clear();
    REQUIRE(s->append(req("c", 0, 1)));
    CHECK(s->last_position() == 4);
  }
  SECTION("appends do not sync; flush() does, and reports a failing sync") {
    faults.fail_syncs(true);
    REQUIRE(s->append(req("c", 0, 1)));
    CHECK(faults.injected_sync_failures() == 0);
    const auto flushed = s->flush();
    REQUIRE_FALSE(flushed);
    CHECK(flushed.error().code() == errc::storage_failure);
    CHECK(faults.injected_sync_failures() > 0);
    faults.clear();
    REQUIRE(s->flush());
    auto r = s->append(req("c", 1, 1));
    REQUIRE(r);
    CHECK(r->first_position == 5);
    CHECK(s->stats().syncs == 1);
  }
  check_consistent(*s);
}

TEST_CASE("store/faults: a failed sync is an ambiguous commit only if the process ends before recovering",
          "[store][faults]") {
  temp_dir dir;
  fault_injection faults;
  {
    auto s = open_store(dir.path().string(), durability::durable, faults.env());
    seed(*s);
    faults.fail_syncs(true);
    const auto group = doomed_group();
    const auto results = s->group_append(group);
    REQUIRE_FALSE(results[0]);
    check_only_seed(*s);
    // The store is closed without a further write: it never recovered.
  }
  faults.clear();
  auto s = open_store(dir.path().string(), durability::durable, faults.env());
  // The failed group's bytes reached the WAL (only its sync failed), so it may be back; if it is, then all of
  // it, at the positions it was given, and the store goes on from there.
  const bool back = *s->stream_version("c") == 3;
  INFO("the failed group " << (back ? "came back" : "stayed away"));
  if (back) {
    CHECK(s->last_position() == 8);
    CHECK(*s->stream_version("a") == 4);
    CHECK(**s->latest_snapshot("a") == snapshot_record{4, 1, "a-at-4"});
    CHECK(*s->tracking_position("other") == 9);
  } else {
    check_only_seed(*s);
  }
  auto next = s->append(req("d", 0, 1));
  REQUIRE(next);
  CHECK(next->first_position == s->last_position());
  check_consistent(*s);
}

TEST_CASE("store/faults: the fault injection counts what it sees", "[store][faults]") {
  temp_dir dir;
  fault_injection faults;
  auto s = open_store(dir.path().string(), durability::durable, faults.env());
  const auto writes = faults.write_calls();
  const auto syncs = faults.sync_calls();
  REQUIRE(s->append(req("a", 0, 1)));
  CHECK(faults.write_calls() > writes);
  CHECK(faults.sync_calls() > syncs);
  CHECK(injected(faults) == 0);
}

TEST_CASE("store/faults: readers keep reading while the store recovers", "[store][faults]") {
  temp_dir dir;
  fault_injection faults;
  auto s = open_store(dir.path().string(), durability::durable, faults.env());
  seed(*s);
  std::atomic<std::uint64_t> reads{0};
  std::atomic<std::uint64_t> surprises{0};
  background_loop reader{[&] {
    // Appends go on meanwhile: a stream read after its head has at least that many events.
    const auto head = s->stream_version("a");
    const auto a = s->read_stream("a", 1, 100);
    const auto log = s->read_log(1, 100);
    const auto c = s->stream_version("c");
    if (!head || !a || !log || !c || a->size() < *head || log->size() < a->size() || *c != 0)
      ++surprises;
    ++reads;
  }};
  for (const fault kind : {fault::failing_sync, fault::failing_append, fault::no_space}) {
    inject(faults, kind);
    const auto group = doomed_group();
    CHECK_FALSE(s->group_append(group)[0]);
    faults.clear();
    const auto before = reads.load();
    while (reads.load() < before + 3)
      std::this_thread::yield();
    // This write runs the recovery (a resume or a reopen) under the reader's feet.
    const auto version = *s->stream_version("a");
    REQUIRE(s->append(req("a", version, 1)));
  }
  reader.stop();
  CHECK(reads.load() > 0);
  CHECK(surprises.load() == 0);
  check_consistent(*s);
}

namespace {

// A kind of file the faults hit, and whether the store needs it to write: the info LOG and the rest (CURRENT,
// OPTIONS, ...) are written only by an open, so appends keep working while they fail.
struct file_kind {
  const char* name;
  fault_scope scope;
  bool needed_to_write;
};

constexpr file_kind file_kinds[] = {
  {"wal", fault_scope::wal, true},           {"info_log", fault_scope::info_log, false},
  {"manifest", fault_scope::manifest, true}, {"table", fault_scope::table, true},
  {"other", fault_scope::other, false},
};

constexpr fault all_faults[] = {fault::no_space, fault::failing_append, fault::failing_sync};

// The info log is written without syncs: a failing sync never reaches it.
bool applies(const file_kind& kind, fault f) {
  return !(kind.scope == fault_scope::info_log && f == fault::failing_sync);
}

const char* child_test = "store/faults child: one kind of file fails";

} // namespace

TEST_CASE("store/faults: a failing file of any kind never aborts the process and the store recovers",
          "[store][faults]") {
  for (const auto& kind : file_kinds) {
    for (const fault f : all_faults) {
      if (!applies(kind, f))
        continue;
      DYNAMIC_SECTION(kind.name << ": " << name(f)) {
        const auto outcome = cairn::test::run_self({child_test}, {{"CAIRN_FAULT_FILE_KIND", kind.name},
                                                                  {"CAIRN_FAULT", key(f)}},
                                                   std::chrono::seconds{120});
        INFO("the scenario for " << kind.name << " and " << name(f) << " ran in a child process: "
                                 << outcome.describe());
        CHECK(outcome.passed());
      }
    }
  }
}

// Run by the test above in a child process (hidden: "[.]").
TEST_CASE("store/faults child: one kind of file fails", "[.][child]") {
  const char* kind_name = std::getenv("CAIRN_FAULT_FILE_KIND");
  const char* fault_name = std::getenv("CAIRN_FAULT");
  REQUIRE(kind_name != nullptr);
  REQUIRE(fault_name != nullptr);
  const file_kind* kind = nullptr;
  for (const auto& k : file_kinds)
    if (std::string_view{k.name} == kind_name)
      kind = &k;
  REQUIRE(kind != nullptr);
  fault f = fault::no_space;
  bool known_fault = false;
  for (const fault candidate : all_faults)
    if (std::string_view{key(candidate)} == fault_name) {
      f = candidate;
      known_fault = true;
    }
  REQUIRE(known_fault);
  INFO(kind->name << ": " << name(f));

  temp_dir dir;
  fault_injection faults;
  faults.scope(kind->scope);
  std::uint64_t committed = 0; // the last committed position
  std::uint64_t version = 0;   // of stream "s"
  std::uintmax_t log_bytes_at_clear = 0;
  {
    auto s = open_store(dir.path().string(), durability::durable, faults.env());
    inject(faults, f);
    // Appends (the WAL) with 1 MiB of projection state each: 24 of them overflow a memtable of the projections
    // column family, so RocksDB flushes it (a table file, a MANIFEST edit), and it logs all of it (the LOG).
    const std::string big(1u << 20, 'x');
    bool failed = false;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds{30};
    for (int round = 0; !failed && std::chrono::steady_clock::now() < until; ++round) {
      if (!kind->needed_to_write && round == 2)
        break;
      for (int i = 0; i < 24 && !failed; ++i) {
        auto r = req("s", version, 1);
        r.puts.push_back(projection_put{"p/" + std::to_string(round) + "-" + std::to_string(i), big});
        const auto written = s->append(r);
        if (written) {
          version = written->new_version;
          committed = written->last_position;
          continue;
        }
        INFO(written.error().to_string());
        REQUIRE(written.error().code() == errc::storage_failure);
        failed = true;
      }
    }
    if (kind->needed_to_write) {
      REQUIRE(failed); // within 30 s of writes
      // While the fault lasts the store says so, and appends keep failing cleanly.
      CHECK_FALSE(s->health().writable);
      CHECK_FALSE(s->health().reason.empty());
      const auto again = s->append(req("s", version, 1));
      REQUIRE_FALSE(again);
      CHECK(again.error().code() == errc::storage_failure);
      CHECK_FALSE(s->check_health().writable);
    } else {
      CHECK_FALSE(failed);
      CHECK(s->health().writable);
    }
    CHECK(s->last_position() == committed);

    faults.clear();
    log_bytes_at_clear = std::filesystem::file_size(dir.path() / "LOG");
    // The store recovers without an append (a health check polled while no command arrives) ...
    const auto health = s->check_health();
    INFO(health.reason);
    CHECK(health.writable);
    // ... and goes on where it stopped: nothing of the failed writes, no gap.
    const auto next = s->append(req("s", version, 1));
    INFO((next ? std::string{} : next.error().to_string()));
    REQUIRE(next);
    CHECK(next->first_position == committed + 1);
    committed = next->last_position;
    version = next->new_version;
    check_consistent(*s);
  }
  // A start while the fault lasts either works (the files of this kind are not needed) or fails with an error.
  inject(faults, f);
  {
    options o;
    o.path = dir.path().string();
    o.env = faults.env();
    const auto reopened = event_store::open(o);
    if (!reopened) {
      INFO(reopened.error().to_string());
      CHECK(reopened.error().code() == errc::io_error);
    }
  }
  CHECK(injected(faults) > 0); // the faults did reach files of this kind
  faults.clear();
  auto s = open_store(dir.path().string(), durability::durable, faults.env());
  CHECK(s->last_position() == committed);
  CHECK(*s->stream_version("s") == version);
  check_consistent(*s);
  // The info log takes lines again once its file does (one file, appended to across opens) ...
  CHECK(std::filesystem::file_size(dir.path() / "LOG") > log_bytes_at_clear);
  // ... and no start left an info log behind (RocksDB's own logger left a LOG.old.<time> at every open).
  for (const auto& entry : std::filesystem::directory_iterator{dir.path()}) {
    INFO(entry.path().filename().string());
    CHECK_FALSE(entry.path().filename().string().starts_with("LOG.old"));
  }
}
