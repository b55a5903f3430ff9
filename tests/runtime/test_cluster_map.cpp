// Placement in a cluster (cluster_map.hpp): the cluster file, the stable partition hash, rendezvous ownership, and a
// node's runtime that refuses a store holding foreign partitions and answers `unavailable` for aggregates it does
// not own.
#include <cairn/domains/order.hpp>
#include <cairn/runtime/cluster_map.hpp>
#include <cairn/runtime/runtime.hpp>
#include <cairn/store/event_store.hpp>

#include <support/free_port.hpp>
#include <support/temp_dir.hpp>

#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <memory>
#include <string>

using namespace cairn;
namespace orders = cairn::domains::orders;
using orders::order;

namespace {

constexpr std::string_view three_nodes = R"(# a three-node cluster on one machine
partitions 256
node a 127.0.0.1 7101
node b 127.0.0.1 7102   # trailing comments are fine
node c 127.0.0.1 7103
)";

cluster_map parsed(std::string_view text) {
  auto map = cluster_map::parse(text);
  REQUIRE(map);
  return std::move(map).value();
}

std::string error_of(std::string_view text) {
  auto map = cluster_map::parse(text, "cluster.txt");
  REQUIRE_FALSE(map);
  CHECK(map.error().code() == store::errc::invalid_argument);
  return map.error().message();
}

/// An id of type `type_name` whose owner is (or is not) `node` under `map`.
std::string id_owned_by(const cluster_map& map, std::string_view type_name, std::string_view node, bool owned) {
  for (int i = 0;; ++i) {
    auto id = "o-" + std::to_string(i);
    if ((map.owner_of(type_name, id).id == node) == owned)
      return id;
  }
}

} // namespace

TEST_CASE("cluster_map: the partition hash is pinned: it never changes between builds", "[cluster]") {
  // Values computed independently (a Python transcription of FNV-1a 64 + splitmix64, see cluster_map.hpp): stored
  // data is placed by them, so a change here moves every aggregate of every cluster.
  CHECK(placement_hash("order", "o-1") == 0x45f2c17772a3e569ULL);
  CHECK(placement_hash("order", "o-2") == 0x9c938272331f3c71ULL);
  CHECK(placement_hash("product", "p-1") == 0x6a8a2bb221aa04d0ULL);
  CHECK(placement_hash("account", "alice") == 0xf7a7aedbfd35c8d9ULL);
  CHECK(placement_hash("transfer", "t-42") == 0xf0909c2e1c5c1aadULL);
  CHECK(placement_hash("", "") == 0x71b8262bb6e2e086ULL);
  auto map = parsed(three_nodes);
  CHECK(map.partition_of("order", "o-1") == 105);
  CHECK(map.partition_of("transfer", "t-42") == 173);
  // The type is part of the key: the same id of two types lands apart.
  CHECK(placement_hash("order", "x") != placement_hash("product", "x"));
  // Rendezvous owners of the first partitions, also computed independently.
  std::string owners;
  for (std::uint32_t p = 0; p < 8; ++p)
    owners += map.owner_of_partition(p).id;
  CHECK(owners == "bcccbaac");
}

TEST_CASE("cluster_map: a cluster file is read with its comments, and its meaning does not depend on the order",
          "[cluster]") {
  auto map = parsed(three_nodes);
  CHECK(map.partitions() == 256);
  REQUIRE(map.nodes().size() == 3);
  CHECK(map.nodes()[1] == cluster_node{"b", "127.0.0.1", 7102});
  CHECK(map.node("c") != nullptr);
  CHECK(map.node("d") == nullptr);
  auto reordered = parsed("node c 127.0.0.1 7103\nnode a 127.0.0.1 7101\n\n  node b 127.0.0.1 7102\npartitions 256");
  CHECK(reordered == map);
  CHECK(reordered.fingerprint() == map.fingerprint());
  CHECK(map.to_text() == "partitions 256\nnode a 127.0.0.1 7101\nnode b 127.0.0.1 7102\nnode c 127.0.0.1 7103\n");
  CHECK(parsed(map.to_text()) == map);
  // Any change of meaning changes the fingerprint peers compare.
  CHECK(parsed("partitions 256\nnode a 127.0.0.1 7101\nnode b 127.0.0.1 7102\nnode c 127.0.0.1 7104\n")
          .fingerprint() != map.fingerprint());
  CHECK(parsed("partitions 128\nnode a 127.0.0.1 7101\nnode b 127.0.0.1 7102\nnode c 127.0.0.1 7103\n")
          .fingerprint() != map.fingerprint());
}

TEST_CASE("cluster_map: a malformed cluster file is refused with its line and what is wrong", "[cluster]") {
  CHECK(error_of("partitions 16\nnode a h 1\nnodes b h 2\n") ==
        "cluster.txt:3: unknown entry \"nodes\" (a line is \"partitions N\" or \"node ID HOST PORT\")");
  CHECK(error_of("partitions 16\nnode a h 70000\n") ==
        "cluster.txt:2: port must be a number from 1 to 65535, got \"70000\"");
  CHECK(error_of("partitions 16\nnode a h\n") == "cluster.txt:2: expected \"node ID HOST PORT\"");
  CHECK(error_of("partitions 0\nnode a h 1\n") ==
        "cluster.txt:1: partitions must be a number from 1 to 65536, got \"0\"");
  CHECK(error_of("partitions 16\npartitions 32\nnode a h 1\n") ==
        "cluster.txt:2: partitions given again (first on line 1)");
  CHECK(error_of("node a h 1\n") == "cluster.txt: no \"partitions N\" line");
  CHECK(error_of("partitions 16\n# nobody\n") == "cluster.txt: a cluster needs at least one node");
  CHECK(error_of("partitions 16\nnode a h 1\nnode a h 2\n") == "cluster.txt: node id a is listed twice");
  CHECK(error_of("partitions 16\nnode a h 1\nnode b h 1\n") == "cluster.txt: nodes share the address h:1 (node b)");
  CHECK(error_of("partitions 16\nnode Node-A h 1\n") ==
        "cluster.txt: node id \"Node-A\" must be 1 to 64 bytes of a-z, 0-9, '_', '.', '-'");
}

TEST_CASE("cluster_map: a cluster file is loaded from disk; a missing one is an io_error naming it", "[cluster]") {
  test::temp_dir dir;
  auto path = dir.sub("cluster.txt");
  std::ofstream{path} << three_nodes;
  auto map = cluster_map::load(path);
  REQUIRE(map);
  CHECK(*map == parsed(three_nodes));
  auto missing = cluster_map::load(dir.sub("nothing.txt"));
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code() == store::errc::io_error);
  CHECK(missing.error().message().find("nothing.txt") != std::string::npos);
}

TEST_CASE("cluster_map: rendezvous ownership is balanced and a change of membership moves few partitions",
          "[cluster]") {
  auto three = parsed(three_nodes);
  std::map<std::string, std::size_t> owned;
  for (const auto& n : three.nodes())
    owned[n.id] = three.partitions_of(n.id).size();
  CHECK(owned["a"] + owned["b"] + owned["c"] == 256);
  for (const auto& [node, count] : owned) {
    INFO(node << " owns " << count << " of 256");
    CHECK(count > 256 / 3 * 7 / 10); // within 30% of a fair share
    CHECK(count < 256 / 3 * 13 / 10);
  }
  // Removing c: only c's partitions move; a and b keep every one of theirs.
  auto two = parsed("partitions 256\nnode a 127.0.0.1 7101\nnode b 127.0.0.1 7102\n");
  // Adding d: partitions move only to d.
  auto four = parsed(std::string{three_nodes} + "node d 127.0.0.1 7104\n");
  std::size_t moved_to_d = 0;
  for (std::uint32_t p = 0; p < 256; ++p) {
    const auto& before = three.owner_of_partition(p).id;
    if (before != "c")
      CHECK(two.owner_of_partition(p).id == before);
    const auto& after = four.owner_of_partition(p).id;
    if (after != before) {
      CHECK(after == "d");
      ++moved_to_d;
    }
  }
  CHECK(moved_to_d > 256 / 4 * 7 / 10);
  CHECK(moved_to_d < 256 / 4 * 13 / 10);
}

namespace {

runtime_config node_config(const test::temp_dir& dir, std::shared_ptr<const cluster_map> map, std::string node) {
  runtime_config cfg;
  cfg.data_dir = dir.sub("db");
  cfg.scheduler_threads = 2;
  cfg.cluster = std::move(map);
  cfg.node_id = std::move(node);
  return cfg;
}

} // namespace

TEST_CASE("cluster node: a command for an aggregate whose owner is not running is answered unavailable and writes "
          "nothing", "[cluster]") {
  test::temp_dir dir;
  // Node a listens: on a port nobody else uses. Nodes b and c are never started.
  auto made = cluster_map::make({{"a", "127.0.0.1", test::free_port()}, {"b", "127.0.0.1", test::free_port()},
                                 {"c", "127.0.0.1", test::free_port()}},
                                256);
  REQUIRE(made);
  auto map = std::make_shared<const cluster_map>(std::move(made).value());
  auto foreign = id_owned_by(*map, "order", "a", false);
  auto own = id_owned_by(*map, "order", "a", true);
  {
    runtime rt{node_config(dir, map, "a")};
    rt.register_aggregate<order>();
    REQUIRE(rt.start());
    auto refused = rt.execute<order>(foreign, orders::create_order{"c-1"});
    CHECK(refused.code == command_errc::unavailable);
    const auto& owner = map->owner_of("order", foreign);
    CHECK(refused.message ==
          "node " + owner.id + " (127.0.0.1:" + std::to_string(owner.port) + ") is not connected: nothing was sent");
    auto query = rt.get<order>(foreign);
    CHECK(query.status.code == command_errc::unavailable);
    CHECK(query.status.message == "order " + foreign + " is owned by node " + owner.id +
                                    ": queries are not forwarded yet");
    CHECK(rt.execute<order>(own, orders::create_order{"c-1"}).ok());
    CHECK(rt.store().stream_version(stream_name<order>(foreign)).value() == 0);
    CHECK(rt.store().stream_version(stream_name<order>(own)).value() == 1);
    CHECK(rt.stats().in_flight == 0);
  }
  // The same store starts again as node a: it holds only a's partitions.
  runtime again{node_config(dir, map, "a")};
  again.register_aggregate<order>();
  CHECK(again.start());
}

TEST_CASE("cluster node: start() refuses an id the map does not list, and a store with foreign partitions",
          "[cluster]") {
  test::temp_dir dir;
  auto map = std::make_shared<const cluster_map>(parsed(three_nodes));
  {
    runtime rt{node_config(dir, map, "z")};
    rt.register_aggregate<order>();
    auto started = rt.start();
    REQUIRE_FALSE(started);
    CHECK(started.error().code() == store::errc::invalid_argument);
    CHECK(started.error().message().find("node id \"z\" is not in the cluster map") == 0);
  }
  // A single-node runtime writes aggregates of every partition; then the store is given to node a of the cluster.
  std::size_t foreign = 0;
  std::string first_foreign;
  {
    runtime single{node_config(dir, nullptr, "")};
    single.register_aggregate<order>();
    REQUIRE(single.start());
    for (int i = 0; i < 30; ++i) {
      auto id = "o-" + std::to_string(i);
      REQUIRE(single.execute<order>(id, orders::create_order{"c"}).ok());
      if (map->owner_of("order", id).id != "a") {
        auto stream = stream_name<order>(id);
        if (foreign++ == 0 || stream < first_foreign)
          first_foreign = stream;
      }
    }
  }
  REQUIRE(foreign > 0);
  runtime node{node_config(dir, map, "a")};
  node.register_aggregate<order>();
  auto started = node.start();
  REQUIRE_FALSE(started);
  CHECK(started.error().code() == store::errc::invalid_argument);
  auto id = std::string{first_foreign}.substr(std::string{"order-"}.size());
  CHECK(started.error().message() ==
        "the store holds " + std::to_string(foreign) + " streams of partitions node a does not own under this " +
          "cluster map, e.g. " + first_foreign + " (partition " + std::to_string(map->partition_of("order", id)) +
          ", owned by node " + map->owner_of("order", id).id + "): start it with the map these streams were " +
          "written under, or move them to their owners first (docs/cluster.md, \"Changing membership\")");
  CHECK_FALSE(node.running());
}
