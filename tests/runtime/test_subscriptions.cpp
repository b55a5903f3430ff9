// Subscriptions: projections kept in the store (exactly once in effect), subscribers (at least once), catch-up
// from the log then live with no gap or duplicate at the seam, and a slow subscriber that never holds back commits.
#include "load_driver.hpp"
#include "resident_memory.hpp"

#include <cairn/domains/account.hpp>
#include <cairn/domains/order.hpp>
#include <cairn/runtime/runtime.hpp>

#include "wait_caught_up.hpp"

#include <support/temp_dir.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <thread>

using namespace cairn;
using namespace cairn::domains;
using orders::order;

using test::wait_caught_up;

namespace {

runtime_config config_in(const test::temp_dir& dir) {
  runtime_config cfg;
  cfg.data_dir = dir.sub("db");
  cfg.scheduler_threads = 2;
  cfg.durability = commit_mode::buffered;
  return cfg;
}

/// Counts orders per customer: a projection kept in cairn's store.
void count_orders_by_customer(const store::stored_event& e, projection_writer& w, const store::event_store& s) {
  if (e.event.type != orders::order_created::event_type)
    return;
  orders::order_created created;
  if (!store::decode(e.event.payload, created))
    throw std::runtime_error{"undecodable order.created at position " + std::to_string(e.position)};
  auto current = w.get(s, created.customer_id);
  w.put(created.customer_id, std::to_string(current ? std::stoll(*current) + 1 : 1));
}

long long orders_of(runtime& rt, const std::string& customer) {
  auto v = rt.store().projection_value(projection_key("orders_by_customer", customer));
  return v && *v ? std::stoll(**v) : 0;
}

} // namespace

TEST_CASE("a projection kept in the store counts each event exactly once, across restarts", "[subscriptions]") {
  test::temp_dir dir;
  auto run = [&](int first, int count) {
    runtime rt{config_in(dir)};
    rt.register_aggregate<order>();
    REQUIRE(rt.add_projection("orders_by_customer", [&rt](const store::stored_event& e, projection_writer& w) {
                count_orders_by_customer(e, w, rt.store());
              }).ok());
    REQUIRE(rt.start());
    test::load_driver driver{static_cast<std::size_t>(count), 100, [&](std::size_t i, auto done) {
                               auto n = first + static_cast<int>(i);
                               rt.send<order>("o-" + std::to_string(n),
                                              orders::create_order{"c-" + std::to_string(n % 10)}, done);
                             }};
    driver.run();
    REQUIRE(driver.tally()[command_errc::none] == static_cast<std::size_t>(count));
    REQUIRE(wait_caught_up(rt));
    std::vector<long long> counts;
    for (int c = 0; c < 10; ++c)
      counts.push_back(orders_of(rt, "c-" + std::to_string(c)));
    return counts;
  };
  auto first = run(0, 1000);
  for (auto c : first)
    CHECK(c == 100);
  // A restart resumes from the tracked position: nothing is counted twice, nothing is missed.
  auto second = run(1000, 500);
  for (auto c : second)
    CHECK(c == 150);
}

TEST_CASE("a subscription added after 100,000 events catches up, then goes live with no gap or duplicate",
          "[subscriptions]") {
  test::temp_dir dir;
  runtime rt{config_in(dir)};
  rt.register_aggregate<accounts::account>();
  REQUIRE(rt.start());
  constexpr std::size_t accounts = 1000;
  constexpr std::size_t before = 100'000;
  test::load_driver open{accounts, 500, [&](std::size_t i, auto done) {
                           rt.send<accounts::account>("a-" + std::to_string(i), accounts::open_account{"o"}, done);
                         }};
  open.run();
  test::load_driver fill{before - accounts, 1000, [&](std::size_t i, auto done) {
                           rt.send<accounts::account>("a-" + std::to_string(i % accounts),
                                                      accounts::deposit{money{1}}, done);
                         }};
  fill.run();
  REQUIRE(rt.store().last_position() == before);

  std::mutex m;
  std::vector<std::uint64_t> seen;
  seen.reserve(2 * before);
  // Traffic goes on while the new subscription catches up, so that it crosses the seam under load.
  std::thread traffic{[&] {
    test::load_driver more{20'000, 200, [&](std::size_t i, auto done) {
                             rt.send<accounts::account>("a-" + std::to_string(i % accounts),
                                                        accounts::deposit{money{1}}, done);
                           }};
    more.run();
  }};
  REQUIRE(rt.add_subscriber("audit", [&](const store::stored_event& e) {
              std::lock_guard guard{m};
              seen.push_back(e.position);
            }).ok());
  traffic.join();
  REQUIRE(wait_caught_up(rt));
  auto status = rt.subscriptions();
  REQUIRE(status.size() == 1);
  CHECK(status[0].live);
  CHECK(status[0].lag == 0);
  std::lock_guard guard{m};
  REQUIRE(seen.size() == before + 20'000);
  for (std::size_t i = 0; i < seen.size(); ++i)
    REQUIRE(seen[i] == i + 1);
}

TEST_CASE("a deliberately slow subscriber does not hold back commits and its backlog stays bounded",
          "[subscriptions]") {
  test::temp_dir dir;
  runtime rt{config_in(dir)};
  rt.register_aggregate<accounts::account>();
  std::atomic<std::size_t> handled{0};
  REQUIRE(rt.add_subscriber("slow", [&](const store::stored_event&) {
              std::this_thread::sleep_for(std::chrono::milliseconds{1});
              handled.fetch_add(1);
            }).ok());
  REQUIRE(rt.start());
  constexpr std::size_t accounts = 1000;
  test::load_driver open{accounts, 500, [&](std::size_t i, auto done) {
                           rt.send<accounts::account>("a-" + std::to_string(i), accounts::open_account{"o"}, done);
                         }};
  open.run();
  // First the subscriber catches up and goes live, so that what follows shows it leaving the live feed.
  REQUIRE(wait_caught_up(rt));
  auto live_deadline = std::chrono::steady_clock::now() + std::chrono::seconds{20};
  while (!rt.subscriptions()[0].live && std::chrono::steady_clock::now() < live_deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
  REQUIRE(rt.subscriptions()[0].live);
  auto resident_before = test::resident_bytes();
  std::size_t resident_peak = resident_before;
  test::load_driver deposits{50'000, 1000, [&](std::size_t i, auto done) {
                               rt.send<accounts::account>("a-" + std::to_string(i % accounts),
                                                          accounts::deposit{money{1}}, done);
                             }};
  std::atomic<bool> sampling{true};
  std::thread sampler{[&] {
    while (sampling) {
      resident_peak = std::max(resident_peak, test::resident_bytes());
      std::this_thread::sleep_for(std::chrono::milliseconds{5});
    }
  }};
  deposits.run();
  sampling = false;
  sampler.join();
  REQUIRE(deposits.tally()[command_errc::none] == 50'000);
  // All commits are done while the subscriber (1,000 events/s at most) is far behind: it fell off the live feed and
  // reads the log at its own pace instead of queueing batches.
  auto status = rt.subscriptions();
  REQUIRE(status.size() == 1);
  CHECK(status[0].lag > 10'000);
  CHECK_FALSE(status[0].live);
  CHECK(handled.load() < 50'000);
  // What the subscriber holds is at most router::max_outstanding_batches batches, not the 40,000-odd events it is
  // behind. The bound stated: 32 MiB of growth for 50,000 commits, RocksDB's memtable and the actors included;
  // a queue of every batch would add the events' copies on top of that. Under a sanitizer the bound is
  // scaled by its memory overhead (measured under ASan: 36.7 MB).
  auto growth = resident_peak > resident_before ? resident_peak - resident_before : 0;
  INFO("resident before " << resident_before << " peak " << resident_peak << " growth " << growth);
  CHECK(growth < (32u << 20) * test::sanitizer_memory_factor);
}

TEST_CASE("a projection whose handler throws is retried from its tracked position, losing nothing",
          "[subscriptions]") {
  test::temp_dir dir;
  runtime rt{config_in(dir)};
  rt.register_aggregate<order>();
  std::atomic<int> failures_left{3};
  REQUIRE(rt.add_projection("orders_by_customer", [&](const store::stored_event& e, projection_writer& w) {
              if (e.position == 5 && failures_left.fetch_sub(1) > 0)
                throw std::runtime_error{"transient"};
              count_orders_by_customer(e, w, rt.store());
            }).ok());
  REQUIRE(rt.start());
  for (int i = 0; i < 10; ++i)
    REQUIRE(rt.execute<order>("o-" + std::to_string(i), orders::create_order{"c"}).ok());
  REQUIRE(wait_caught_up(rt));
  CHECK(orders_of(rt, "c") == 10);
  CHECK(failures_left.load() <= 0);
}

TEST_CASE("subscription names are checked", "[subscriptions]") {
  test::temp_dir dir;
  runtime rt{config_in(dir)};
  CHECK(rt.add_subscriber("", [](const store::stored_event&) {}).code == command_errc::invalid_argument);
  CHECK(rt.add_subscriber("a/b", [](const store::stored_event&) {}).code == command_errc::invalid_argument);
  CHECK(rt.add_subscriber("ok", [](const store::stored_event&) {}).ok());
  CHECK(rt.add_projection("ok", [](const store::stored_event&, projection_writer&) {}).code ==
        command_errc::invalid_argument);
}
