// cairn::store across a simulated power cut (cairn::store::power_cut): what was synced is there, what was not is
// gone as a whole (a suffix of the log, never a part of an append), and the store is consistent when reopened.
#include "store_checks.hpp"

#include <support/temp_dir.hpp>

#include <cairn/store/event_store.hpp>
#include <cairn/store/power_cut.hpp>

#include <catch2/catch.hpp>

#include <rocksdb/env.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
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

TEST_CASE("durable appends survive a power cut; appends after it fail and leave nothing", "[power_cut]") {
  temp_dir dir;
  const auto path = dir.sub("db");
  power_cut power;
  {
    auto s = open_store(path, durability::durable, power.env());
    append_many(*s, 0, 100);
    power.freeze();
    for (int i = 0; i < 10; ++i) // the disk is dead: refused, and nothing of them reaches it
      CHECK_FALSE(s->append(req("s", 300, 3)));
  }
  power.cut();

  auto s = open_store(path);
  CHECK(s->last_position() == 300);
  check_consistent(*s);
  // The store goes on from there.
  REQUIRE(s->append(req("s", 300, 1)));
  CHECK(s->last_position() == 301);
}

TEST_CASE("a store closed normally loses nothing to a power cut", "[power_cut]") {
  temp_dir dir;
  const auto path = dir.sub("db");
  power_cut power;
  {
    auto s = open_store(path, durability::durable, power.env());
    append_many(*s, 0, 5);
  }
  // The open synced the folder, the appends the WAL, the close the rest.
  const auto report = power.cut();
  CHECK(report.files_removed == 0);
  auto s = open_store(path);
  CHECK(s->last_position() == 15);
  check_consistent(*s);
}

namespace {

void write_file(rocksdb::Env& env, const std::string& name, const std::string& data) {
  std::unique_ptr<rocksdb::WritableFile> file;
  REQUIRE(env.NewWritableFile(name, &file, rocksdb::EnvOptions{}).ok());
  REQUIRE(file->Append(data).ok());
  REQUIRE(file->Sync().ok());
  REQUIRE(file->Close().ok());
}

std::string read_file(const std::string& name) {
  std::ifstream in{name, std::ios::binary};
  return std::string{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

void sync_folder(rocksdb::Env& env, const std::string& folder) {
  std::unique_ptr<rocksdb::Directory> d;
  REQUIRE(env.NewDirectory(folder, &d).ok());
  REQUIRE(d->Fsync().ok());
}

} // namespace

TEST_CASE("a synced file its folder never recorded is gone after a power cut", "[power_cut]") {
  temp_dir dir;
  power_cut power;
  write_file(*power.env(), dir.sub("early"), "data");
  sync_folder(*power.env(), dir.path().string());
  write_file(*power.env(), dir.sub("late"), "data"); // synced, but the folder does not know it yet
  const auto report = power.cut();
  CHECK(report.files_removed == 1);
  CHECK(read_file(dir.sub("early")) == "data");
  CHECK_FALSE(std::filesystem::exists(dir.sub("late")));
}

TEST_CASE("a rename its folder never recorded is undone by a power cut", "[power_cut]") {
  temp_dir dir;
  {
    std::ofstream{dir.sub("CURRENT"), std::ios::binary} << "old";
  }
  SECTION("without a folder sync the old contents come back") {
    power_cut power;
    write_file(*power.env(), dir.sub("CURRENT.tmp"), "new");
    REQUIRE(power.env()->RenameFile(dir.sub("CURRENT.tmp"), dir.sub("CURRENT")).ok());
    REQUIRE(read_file(dir.sub("CURRENT")) == "new");
    const auto report = power.cut();
    CHECK(report.files_restored == 1);
    CHECK(read_file(dir.sub("CURRENT")) == "old");
    CHECK_FALSE(std::filesystem::exists(dir.sub("CURRENT.tmp")));
  }
  SECTION("after a folder sync the rename stays") {
    power_cut power;
    write_file(*power.env(), dir.sub("CURRENT.tmp"), "new");
    REQUIRE(power.env()->RenameFile(dir.sub("CURRENT.tmp"), dir.sub("CURRENT")).ok());
    sync_folder(*power.env(), dir.path().string());
    const auto report = power.cut();
    CHECK(report.files_restored == 0);
    CHECK(read_file(dir.sub("CURRENT")) == "new");
  }
}

TEST_CASE("a file closed without a sync is cut back to its synced part", "[power_cut]") {
  temp_dir dir;
  power_cut power;
  std::unique_ptr<rocksdb::WritableFile> file;
  REQUIRE(power.env()->NewWritableFile(dir.sub("f"), &file, rocksdb::EnvOptions{}).ok());
  REQUIRE(file->Append("synced;").ok());
  REQUIRE(file->Sync().ok());
  REQUIRE(file->Append("unsynced").ok());
  REQUIRE(file->Flush().ok());
  CHECK(read_file(dir.sub("f")) == "synced;"); // the rest is in the "page cache"
  REQUIRE(file->Close().ok());
  CHECK(read_file(dir.sub("f")) == "synced;unsynced"); // readable once closed
  sync_folder(*power.env(), dir.path().string());
  const auto report = power.cut();
  CHECK(report.files_truncated == 1);
  CHECK(report.unsynced_bytes_dropped == 8);
  CHECK(read_file(dir.sub("f")) == "synced;");
}
