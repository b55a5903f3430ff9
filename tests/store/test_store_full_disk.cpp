// cairn::store on a real full disk: a 2 MiB tmpfs mounted by the test (root only; skipped with the reason
// otherwise), filled up by another file. Appends fail cleanly with storage_failure and the store says it is
// unhealthy, the process does not abort, and once the space is back the store recovers by itself and goes on
// without a gap. A start on a full disk fails with an error and leaves nothing behind. Each scenario runs in a
// child process, so that an abort inside RocksDB fails the test instead of ending the program.
#include "store_checks.hpp"

#include <support/child_process.hpp>
#include <support/tmpfs.hpp>

#include <cairn/store/event_store.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

using namespace cairn::store;
using namespace cairn::test::store_checks;
namespace fs = std::filesystem;

namespace {

constexpr std::size_t disk_bytes = 2u << 20;

std::set<std::string> children(const fs::path& folder) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator{folder})
    names.insert(e.path().filename().string());
  return names;
}

std::string listing(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names)
    out += (out.empty() ? "" : " ") + n;
  return out.empty() ? "(nothing)" : out;
}

// Mounts the tmpfs, runs the hidden test `scenario` on it in a child process, unmounts.
void run_on_tmpfs(const char* scenario) {
  cairn::test::tmpfs_mount disk{disk_bytes};
  if (!disk.mounted()) {
    WARN("skipped: " << disk.why_not());
    return;
  }
  const auto outcome = cairn::test::run_self({scenario}, {{"CAIRN_TMPFS", disk.path().string()}},
                                             std::chrono::seconds{120});
  INFO("\"" << scenario << "\" ran in a child process on a " << disk_bytes << "-byte tmpfs: "
            << outcome.describe());
  CHECK(outcome.passed());
}

fs::path tmpfs_from_env() {
  const char* path = std::getenv("CAIRN_TMPFS");
  REQUIRE(path != nullptr);
  return fs::path{path};
}

append_request kilobyte_event(const std::string& stream, std::uint64_t expected) {
  append_request r;
  r.stream = stream;
  r.expected_version = expected;
  r.events.push_back(ev("test.kilobyte", std::string(1024, 'k')));
  return r;
}

} // namespace

TEST_CASE("store/full disk: appends fail cleanly while the disk is full and resume when space is back",
          "[store][faults][tmpfs]") {
  run_on_tmpfs("store/full disk child: serving");
}

TEST_CASE("store/full disk: a start on a full disk fails with an error and leaves nothing behind",
          "[store][faults][tmpfs]") {
  run_on_tmpfs("store/full disk child: starting");
}

TEST_CASE("store/full disk child: serving", "[.][child]") {
  const fs::path disk = tmpfs_from_env();
  const std::string path = (disk / "db").string();
  std::uint64_t committed = 0;
  std::uint64_t version = 0;
  {
    auto s = open_store(path);
    for (int i = 0; i < 10; ++i) {
      const auto r = s->append(kilobyte_event("s", version));
      REQUIRE(r);
      version = r->new_version;
      committed = r->last_position;
    }
    cairn::test::filler fill{disk / "filler"};
    INFO("the filler took " << fill.bytes() << " bytes");
    REQUIRE(fill.bytes() > 0);

    // Appends may still land in space RocksDB holds already; within a few hundred kilobytes they fail.
    std::size_t failures = 0;
    for (int i = 0; i < 2000 && failures < 20; ++i) {
      const auto r = s->append(kilobyte_event("s", version));
      if (r) {
        REQUIRE(failures == 0); // once full, it stays full
        version = r->new_version;
        committed = r->last_position;
        continue;
      }
      INFO(r.error().to_string());
      REQUIRE(r.error().code() == errc::storage_failure);
      ++failures;
    }
    REQUIRE(failures == 20);
    const auto full = s->check_health();
    CHECK_FALSE(full.writable);
    INFO(full.reason);
    CHECK(full.reason.find("No space left") != std::string::npos);
    // Reads keep working and show what was committed.
    CHECK(s->last_position() == committed);
    CHECK(*s->stream_version("s") == version);

    fill.release();
    // The store recovers by itself on a health check, without an append and without a restart ...
    const auto back = s->check_health();
    INFO(back.reason);
    CHECK(back.writable);
    // ... and the next append goes on right after the last committed one.
    const auto next = s->append(kilobyte_event("s", version));
    INFO((next ? std::string{} : next.error().to_string()));
    REQUIRE(next);
    CHECK(next->first_position == committed + 1);
    committed = next->last_position;
    version = next->new_version;
    check_consistent(*s);
  }
  auto s = open_store(path);
  CHECK(s->last_position() == committed);
  CHECK(*s->stream_version("s") == version);
  check_consistent(*s);
  const auto names = children(path);
  INFO(listing(names));
  CHECK(std::none_of(names.begin(), names.end(), [](const std::string& n) { return n.starts_with("LOG.old"); }));
}

TEST_CASE("store/full disk child: starting", "[.][child]") {
  const fs::path disk = tmpfs_from_env();
  const std::string existing = (disk / "existing").string();
  std::uint64_t committed = 0;
  {
    auto s = open_store(existing);
    for (std::uint64_t v = 0; v < 5; ++v)
      committed = s->append(kilobyte_event("s", v))->last_position;
  }
  const auto before = children(existing);
  const std::string fresh = (disk / "fresh").string();
  {
    cairn::test::filler fill{disk / "filler"};
    REQUIRE(fill.bytes() > 0);

    options o;
    o.path = fresh;
    const auto created = event_store::open(o);
    REQUIRE_FALSE(created);
    INFO(created.error().to_string());
    CHECK(created.error().code() == errc::io_error);
    CHECK_FALSE(fs::exists(fresh)); // nothing of the failed creation stays

    o.path = existing;
    for (int attempt = 0; attempt < 3; ++attempt) {
      const auto opened = event_store::open(o);
      REQUIRE_FALSE(opened);
      INFO(opened.error().to_string());
      CHECK(opened.error().code() == errc::io_error);
    }
    const auto after = children(existing);
    INFO("before: " << listing(before) << "\nafter:  " << listing(after));
    CHECK(after == before); // no LOG.old.*, no half-made files
  }
  // The space is back: both start.
  auto s = open_store(existing);
  CHECK(s->last_position() == committed);
  check_consistent(*s);
  auto f = open_store(fresh);
  CHECK(f->last_position() == 0);
}
