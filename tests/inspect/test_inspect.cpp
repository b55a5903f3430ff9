// cairn-inspect against real stores: a store written here with the example domains' events, looked into by the
// real binary (a child process) while the store is closed and while it is open for writing; and bad folders
// (missing, not a database, somebody else's RocksDB, an unknown store format), which must fail with a clear
// message and exit code 1 and change nothing. Also the store's read-only mode that the tool relies on.
#include <support/temp_dir.hpp>

#include <cairn/domains/order.hpp>
#include <cairn/store/event_codec.hpp>
#include <cairn/store/event_store.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <rocksdb/db.h>

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>

using namespace cairn::store;
using namespace cairn::domains::orders;
using cairn::money;
using cairn::test::temp_dir;

namespace {

struct run_result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string slurp(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs cairn-inspect with `args` (already shell-quoted where needed), capturing stdout, stderr and the exit code.
run_result inspect(const temp_dir& scratch, const std::string& args) {
  const std::string err_file = scratch.sub("stderr.txt");
  const std::string cmd = std::string{CAIRN_INSPECT_PATH} + " " + args + " 2>" + err_file;
  run_result r;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0)
    r.out.append(buf, n);
  const int status = ::pclose(pipe);
  REQUIRE(WIFEXITED(status));
  r.exit_code = WEXITSTATUS(status);
  r.err = slurp(err_file);
  return r;
}

nlohmann::json inspect_json(const temp_dir& scratch, const std::string& args) {
  const auto r = inspect(scratch, args);
  INFO("cairn-inspect " << args << "\nstderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out);
}

std::unique_ptr<event_store> open_store(const std::string& path) {
  options opts;
  opts.path = path;
  opts.mode = durability::buffered;
  auto s = event_store::open(opts);
  REQUIRE(s);
  return std::move(*s);
}

// Every file of a folder with its contents: to prove that a look changed nothing.
std::map<std::string, std::string> snapshot_folder(const std::string& path) {
  std::map<std::string, std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator{path})
    out[entry.path().filename().string()] = slurp(entry.path().string());
  return out;
}

// order-1: created, two lines, submitted; order-2: created; one event of a type no domain knows; a tracking record.
void write_sample(event_store& s) {
  const event_codec<order::event> codec;
  append_request a;
  a.stream = "order-1";
  a.events = {codec.encode(order_created{"c-1"}, 1000),
              codec.encode(line_added{"p-1", "Pen", 2, money::from_minor(150)}, 1001),
              codec.encode(line_added{"p-2", "Ink", 1, money::from_minor(1200)}, 1002)};
  REQUIRE(s.append(a));
  append_request b;
  b.stream = "order-2";
  b.events = {codec.encode(order_created{"c-2"}, 2000)};
  REQUIRE(s.append(b));
  append_request c;
  c.stream = "order-1";
  c.expected_version = 3;
  c.events = {codec.encode(order_submitted{{order_line{"p-1", "Pen", 2, money::from_minor(150)}}}, 3000)};
  REQUIRE(s.append(c));
  append_request d;
  d.stream = "custom-1";
  d.events = {event_record{"custom.thing", 7, 4000, std::string{"\x01\xff", 2}}};
  REQUIRE(s.append(d));
  append_request t;
  t.tracking = tracking_record{"order-summary", 2};
  REQUIRE(s.append(t));
}

} // namespace

TEST_CASE("cairn-inspect shows streams, events, the log, subscriptions and sizes of a closed store") {
  temp_dir dir;
  const std::string db = dir.sub("data");
  write_sample(*open_store(db));
  const auto before = snapshot_folder(db);
  const std::string at = "--data-dir " + db + " ";

  const auto streams = inspect_json(dir, at + "streams");
  REQUIRE(streams["streams"].size() == 3);
  CHECK(streams["streams"][0] == nlohmann::json({{"stream", "custom-1"}, {"version", 1}}));
  CHECK(streams["streams"][1] == nlohmann::json({{"stream", "order-1"}, {"version", 4}}));
  CHECK(streams["streams"][2] == nlohmann::json({{"stream", "order-2"}, {"version", 1}}));
  const auto page = inspect_json(dir, at + "streams --after custom-1 --limit 1");
  REQUIRE(page["streams"].size() == 1);
  CHECK(page["streams"][0]["stream"] == "order-1");
  CHECK(page["next_after"] == "order-1");

  const auto order1 = inspect_json(dir, at + "stream order-1");
  CHECK(order1["version"] == 4);
  const auto& events = order1["events"];
  REQUIRE(events.size() == 4);
  CHECK(events[0]["type"] == "order.created");
  CHECK(events[0]["domain"] == "orders");
  CHECK(events[0]["data"] == nlohmann::json::array({"c-1"}));
  CHECK(events[0]["timestamp_us"] == 1000);
  CHECK(events[1]["data"] == nlohmann::json::array({"p-1", "Pen", 2, "1.50"}));
  CHECK(events[2]["data"] == nlohmann::json::array({"p-2", "Ink", 1, "12.00"}));
  CHECK(events[3]["version"] == 4);
  CHECK(events[3]["position"] == 5);
  CHECK(events[3]["data"] == nlohmann::json::parse(R"([[["p-1", "Pen", 2, "1.50"]]])"));
  const auto tail = inspect_json(dir, at + "stream order-1 --from 3 --limit 1");
  REQUIRE(tail["events"].size() == 1);
  CHECK(tail["events"][0]["version"] == 3);

  const auto custom = inspect_json(dir, at + "stream custom-1");
  REQUIRE(custom["events"].size() == 1);
  CHECK(custom["events"][0]["payload_hex"] == "01ff");
  CHECK(custom["events"][0]["schema_version"] == 7);
  CHECK(custom["events"][0].contains("decode_error"));
  CHECK_FALSE(custom["events"][0].contains("data"));

  const auto log = inspect_json(dir, at + "log --from 4 --limit 2");
  CHECK(log["last_position"] == 6);
  REQUIRE(log["events"].size() == 2);
  CHECK(log["events"][0]["stream"] == "order-2");
  CHECK(log["events"][0]["position"] == 4);
  CHECK(log["events"][1]["stream"] == "order-1");
  CHECK(log["events"][1]["type"] == "order.submitted");
  CHECK(inspect_json(dir, at + "log --from 7")["events"].empty());

  const auto subs = inspect_json(dir, at + "subscriptions");
  REQUIRE(subs["subscriptions"].size() == 1);
  CHECK(subs["subscriptions"][0] ==
        nlohmann::json({{"subscriber", "order-summary"}, {"position", 2}, {"lag", 4}}));

  const auto sizes = inspect_json(dir, at + "sizes");
  REQUIRE(sizes["column_families"].size() == 9);
  CHECK(sizes["column_families"][0]["name"] == "default");
  CHECK(sizes["column_families"][1]["name"] == "streams");
  // Reopened read-only, the events are in the memtable replayed from the WAL or in SST files.
  const auto& streams_cf = sizes["column_families"][1];
  CHECK(streams_cf["memtable_bytes"].get<std::uint64_t>() + streams_cf["sst_bytes"].get<std::uint64_t>() > 0);

  CHECK(snapshot_folder(db) == before);
}

TEST_CASE("cairn-inspect reads a store that a running store holds open") {
  temp_dir dir;
  const std::string db = dir.sub("data");
  auto live = open_store(db);
  write_sample(*live);
  const auto streams = inspect_json(dir, "--data-dir " + db + " streams");
  CHECK(streams["streams"].size() == 3);
  const auto log = inspect_json(dir, "--data-dir " + db + " log");
  CHECK(log["events"].size() == 6);
  // The live store still writes: the look took no lock.
  append_request more;
  more.stream = "order-2";
  more.expected_version = 1;
  more.events = {event_codec<order::event>{}.encode(order_confirmed{}, 5000)};
  CHECK(live->append(more));
}

TEST_CASE("cairn-inspect fails clearly on a bad folder and changes nothing") {
  temp_dir dir;
  SECTION("missing") {
    const auto r = inspect(dir, "--data-dir " + dir.sub("nowhere") + " streams");
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("not_a_database") != std::string::npos);
    CHECK(r.err.find("does not exist") != std::string::npos);
    CHECK(r.out.empty());
    CHECK_FALSE(std::filesystem::exists(dir.sub("nowhere")));
  }
  SECTION("an empty folder") {
    std::filesystem::create_directories(dir.sub("empty"));
    const auto r = inspect(dir, "--data-dir " + dir.sub("empty") + " sizes");
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("not_a_database") != std::string::npos);
    CHECK(std::filesystem::is_empty(dir.sub("empty")));
  }
  SECTION("a folder of other files") {
    std::filesystem::create_directories(dir.sub("other"));
    std::ofstream{dir.sub("other/notes.txt")} << "not a database";
    const auto r = inspect(dir, "--data-dir " + dir.sub("other") + " log");
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("not_a_database") != std::string::npos);
  }
  SECTION("a file") {
    std::ofstream{dir.sub("file")} << "x";
    const auto r = inspect(dir, "--data-dir " + dir.sub("file") + " streams");
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("is not a folder") != std::string::npos);
  }
  SECTION("somebody else's RocksDB database") {
    rocksdb::DB* raw = nullptr;
    rocksdb::Options o;
    o.create_if_missing = true;
    REQUIRE(rocksdb::DB::Open(o, dir.sub("foreign"), &raw).ok());
    REQUIRE(raw->Put(rocksdb::WriteOptions{}, "k", "v").ok());
    delete raw;
    const auto r = inspect(dir, "--data-dir " + dir.sub("foreign") + " streams");
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("not a cairn store") != std::string::npos);
  }
  SECTION("a cairn store of an unknown format") {
    const std::string db = dir.sub("future");
    open_store(db).reset();
    {
      std::vector<std::string> names;
      REQUIRE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions{}, db, &names).ok());
      std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
      for (const auto& n : names)
        descriptors.emplace_back(n, rocksdb::ColumnFamilyOptions{});
      std::vector<rocksdb::ColumnFamilyHandle*> handles;
      rocksdb::DB* raw = nullptr;
      REQUIRE(rocksdb::DB::Open(rocksdb::DBOptions{}, db, descriptors, &handles, &raw).ok());
      REQUIRE(raw->Put(rocksdb::WriteOptions{}, "cairn.format", std::string{"\0\0\0\x03", 4}).ok());
      for (auto* h : handles)
        static_cast<void>(raw->DestroyColumnFamilyHandle(h));
      delete raw;
    }
    const auto before = snapshot_folder(db);
    const auto r = inspect(dir, "--data-dir " + db + " streams");
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("unknown_format") != std::string::npos);
    CHECK(r.err.find("store format 3") != std::string::npos);
    CHECK(snapshot_folder(db) == before);
  }
  SECTION("bad arguments") {
    const auto r = inspect(dir, "--data-dir " + dir.sub("x") + " stream");
    CHECK(r.exit_code != 0);
    CHECK(r.out.empty());
    CHECK(inspect(dir, "--data-dir " + dir.sub("x")).exit_code != 0);
    CHECK(inspect(dir, "--data-dir " + dir.sub("x") + " log --from 0").exit_code != 0);
    for (const auto* args : {" log --limit 0", " streams --limit 0", " log --from 99999999999999999999",
                             " stream s --from 18446744073709551616", " log --from -1", " log --limit 1e3"}) {
      INFO(args);
      const auto bad = inspect(dir, "--data-dir " + dir.sub("x") + args);
      CHECK(bad.exit_code != 0);
      CHECK(bad.out.empty());
      CHECK(bad.err.find("must be a whole number from 1 to 18446744073709551615") != std::string::npos);
    }
  }
}

TEST_CASE("a read-only store reads but refuses writes") {
  temp_dir dir;
  const std::string db = dir.sub("data");
  write_sample(*open_store(db));
  options opts;
  opts.path = db;
  opts.read_only = true;
  auto ro = event_store::open(opts);
  REQUIRE(ro);
  CHECK((*ro)->last_position() == 6);
  auto heads = (*ro)->list_streams("", 10);
  REQUIRE(heads);
  CHECK(heads->size() == 3);
  append_request a;
  a.stream = "order-9";
  a.events = {event_record{"order.created", 1, 0, "x"}};
  auto refused = (*ro)->append(a);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code() == errc::invalid_argument);
  CHECK_FALSE((*ro)->flush());
  CHECK((*(*ro)->stream_version("order-9")) == 0);
  // A read-only open of a missing folder creates nothing, whatever create_if_missing says.
  options missing;
  missing.path = dir.sub("nowhere");
  missing.read_only = true;
  auto none = event_store::open(missing);
  REQUIRE_FALSE(none);
  CHECK(none.error().code() == errc::not_a_database);
  CHECK_FALSE(std::filesystem::exists(dir.sub("nowhere")));
}
