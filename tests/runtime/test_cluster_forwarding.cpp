// Commands between the nodes of a cluster (cluster_link over CAF's middleman): two runtimes in one test program on
// loopback ports, each owning its share of the partitions.
#include <cairn/domains/order.hpp>
#include <cairn/runtime/cluster_map.hpp>
#include <cairn/runtime/runtime.hpp>

#include <support/free_port.hpp>
#include <support/temp_dir.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

using namespace cairn;
namespace orders = cairn::domains::orders;
using orders::order;

namespace {

std::shared_ptr<const cluster_map> two_nodes() {
  auto map = cluster_map::make({{"a", "127.0.0.1", test::free_port()}, {"b", "127.0.0.1", test::free_port()}}, 16);
  REQUIRE(map);
  return std::make_shared<const cluster_map>(std::move(map).value());
}

std::unique_ptr<runtime> node(const test::temp_dir& dir, std::shared_ptr<const cluster_map> map, std::string id) {
  runtime_config cfg;
  cfg.data_dir = dir.sub("db-" + id);
  cfg.scheduler_threads = 2;
  cfg.cluster = std::move(map);
  cfg.node_id = std::move(id);
  auto rt = std::make_unique<runtime>(cfg);
  rt->register_aggregate<order>();
  auto started = rt->start();
  if (!started)
    FAIL("node " << cfg.node_id << " did not start: " << started.error().to_string());
  return rt;
}

std::string id_owned_by(const cluster_map& map, std::string_view node) {
  for (int i = 0;; ++i)
    if (auto id = "o-" + std::to_string(i); map.owner_of("order", id).id == node)
      return id;
}

/// Waits (at most 10 s) until `rt` is connected to `peer`.
void wait_connected(const runtime& rt, const std::string& peer) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
  for (;;) {
    auto peers = rt.connected_peers();
    if (std::find(peers.begin(), peers.end(), peer) != peers.end())
      return;
    if (std::chrono::steady_clock::now() > deadline)
      FAIL("not connected to node " << peer << " after 10 s");
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
}

} // namespace

TEST_CASE("cluster: a command sent to any node reaches the aggregate's owner and is stored only there",
          "[cluster][forwarding]") {
  test::temp_dir dir;
  auto map = two_nodes();
  auto a = node(dir, map, "a");
  auto b = node(dir, map, "b");
  wait_connected(*a, "b");
  auto on_b = id_owned_by(*map, "b");
  auto created = a->execute<order>(on_b, orders::create_order{"c-1"});
  INFO(to_string(created));
  REQUIRE(created.ok());
  CHECK(created.version == 1);
  CHECK(a->execute<order>(on_b, orders::submit_order{}).code == command_errc::rejected); // the owner's invariant
  CHECK(a->store().stream_version(stream_name<order>(on_b)).value() == 0);
  CHECK(b->store().stream_version(stream_name<order>(on_b)).value() == 1);
  CHECK(b->get<order>(on_b).ok());
}

TEST_CASE("cluster: commands for a stopped node are answered unavailable within 2 s, and reach it again when it is "
          "back", "[cluster][forwarding]") {
  test::temp_dir dir;
  auto map = two_nodes();
  auto a = node(dir, map, "a");
  auto on_b = id_owned_by(*map, "b");
  {
    auto b = node(dir, map, "b");
    wait_connected(*a, "b");
    REQUIRE(a->execute<order>(on_b, orders::create_order{"c-1"}).ok());
  }
  auto start = std::chrono::steady_clock::now();
  auto refused = a->execute<order>(on_b, orders::add_line{"p-1", "tea", 1, money{100}});
  CHECK(refused.code == command_errc::unavailable);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds{2});
  auto b = node(dir, map, "b");
  wait_connected(*a, "b");
  auto again = a->execute<order>(on_b, orders::add_line{"p-1", "tea", 1, money{100}});
  INFO(to_string(again));
  CHECK(again.ok());
  CHECK(again.version == 2);
}
