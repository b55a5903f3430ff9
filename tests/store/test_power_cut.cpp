// cairn::store across a simulated power cut (cairn::store::power_cut): what was synced is there, what was not is
// gone as a whole (a suffix of the log, never a part of an append), and the store is consistent when reopened.
#include "store_checks.hpp"

#include <support/temp_dir.hpp>

#include <cairn/store/event_store.hpp>
#include <cairn/store/power_cut.hpp>

#include <catch2/catch.hpp>

#include <rocksdb/env.h>

#include <filesystem>
#include <string>

using namespace cairn::store;
using namespace cairn::test::store_checks;
using cairn::test::temp_dir;

namespace {

// Appends `count` appends of three events each to stream "s", starting at its version `from`.
void append_many(event_store& s, std::uint64_t from, int count) {
  for (int i = 0; i < count; ++i)
    REQUIRE(s.append(req("s", from + 3 * static_cast<std::uint64_t>(i), 3)));
}

} // namespace

TEST_CASE("a power cut takes away the appends of buffered mode that were not synced, and only them",
          "[power_cut]") {
  temp_dir dir;
  const auto path = dir.sub("db");
  power_cut power;
  {
    auto s = open_store(path, durability::buffered, power.env());
    append_many(*s, 0, 100);
    REQUIRE(s->flush()); // positions 1..300 synced
    append_many(*s, 300, 50);
    REQUIRE(s->last_position() == 450);
    power.freeze();
  }
  const auto report = power.cut();
  CHECK(report.unsynced_bytes_dropped > 0);

  auto s = open_store(path);
  CHECK(s->last_position() == 300);
  CHECK(*s->stream_version("s") == 300);
  check_consistent(*s);
}

TEST_CASE("durable appends survive a power cut; appends after it are gone", "[power_cut]") {
  temp_dir dir;
  const auto path = dir.sub("db");
  power_cut power;
  {
    auto s = open_store(path, durability::durable, power.env());
    append_many(*s, 0, 100);
    power.freeze();
    append_many(*s, 300, 10); // answered, but the disk never sees them
  }
  power.cut();

  auto s = open_store(path);
  CHECK(s->last_position() == 300);
  check_consistent(*s);
  // The store goes on from there.
  REQUIRE(s->append(req("s", 300, 1)));
  CHECK(s->last_position() == 301);
}

TEST_CASE("a store created after the last folder sync is gone after a power cut", "[power_cut]") {
  temp_dir dir;
  const auto path = dir.sub("db");
  power_cut power;
  {
    auto s = open_store(path, durability::durable, power.env());
    append_many(*s, 0, 5);
  }
  // Nothing was lost: the open synced the folder, the appends the WAL, the close the rest.
  power.cut();
  {
    auto s = open_store(path);
    CHECK(s->last_position() == 15);
  }
  // A file written and synced but never made known to its folder is not there after a cut.
  power_cut second;
  {
    std::unique_ptr<rocksdb::WritableFile> file;
    REQUIRE(second.env()->NewWritableFile(dir.sub("orphan"), &file, rocksdb::EnvOptions{}).ok());
    REQUIRE(file->Append("data").ok());
    REQUIRE(file->Sync().ok());
    REQUIRE(file->Close().ok());
  }
  REQUIRE(std::filesystem::exists(dir.sub("orphan")));
  const auto report = second.cut();
  CHECK(report.files_removed == 1);
  CHECK_FALSE(std::filesystem::exists(dir.sub("orphan")));
}
