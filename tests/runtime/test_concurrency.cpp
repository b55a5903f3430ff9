// The runtime under concurrent load on real threads: one command at a time per instance, nothing lost or
// answered twice, state equal after a restart, passivation churn, and admission control.
#include "load_driver.hpp"
#include "resident_memory.hpp"

#include <cairn/domains/account.hpp>
#include <cairn/domains/example_aggregate.hpp>
#include <cairn/domains/inventory.hpp>
#include <cairn/runtime/runtime.hpp>

#include <support/temp_dir.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <sstream>

using namespace cairn;
using namespace cairn::domains;

namespace {

runtime_config config_in(const test::temp_dir& dir) {
  runtime_config cfg;
  cfg.data_dir = dir.sub("db");
  cfg.scheduler_threads = 2;
  return cfg;
}

std::string product_id(std::size_t i) {
  return "p-" + std::to_string(i);
}

} // namespace

TEST_CASE("10,000 concurrent commands to one aggregate get versions 1..N with no gap, each answered once",
          "[runtime][concurrency]") {
  test::temp_dir dir;
  auto cfg = config_in(dir);
  cfg.durability = commit_mode::buffered;
  runtime rt{cfg};
  rt.register_aggregate<examples::example_aggregate>();
  REQUIRE(rt.start());
  REQUIRE(rt.execute<examples::example_aggregate>("hot", examples::create_aggregate{}).ok());

  constexpr std::size_t n = 10'000;
  test::load_driver driver{n, n, [&](std::size_t, auto done) {
                             rt.send<examples::example_aggregate>("hot", examples::create_example{}, done);
                           }};
  const auto& results = driver.run();
  std::vector<std::uint64_t> versions;
  for (std::size_t i = 0; i < n; ++i) {
    REQUIRE(driver.answers_of(i) == 1);
    REQUIRE(results[i].ok());
    versions.push_back(results[i].version);
  }
  std::sort(versions.begin(), versions.end());
  for (std::size_t i = 0; i < n; ++i)
    REQUIRE(versions[i] == i + 2);
  auto state = rt.get<examples::example_aggregate>("hot");
  CHECK(state.root->version() == n + 1);
  CHECK(state.root->state().count_examples() == n);
}

TEST_CASE("100,000 commands over 10,000 aggregates on 2 threads: the state after restart equals the state before",
          "[runtime][concurrency]") {
  test::temp_dir dir;
  constexpr std::size_t products = 10'000;
  constexpr std::size_t total = 100'000;
  std::vector<std::int64_t> expected(products, 0);
  std::vector<std::pair<std::uint64_t, std::int64_t>> before(products); // version and stock, before the restart
  std::vector<std::size_t> target(total);
  std::vector<std::int64_t> amount(total);
  std::mt19937_64 rng{42};
  for (std::size_t i = 0; i < total; ++i) {
    target[i] = i < products ? i : rng() % products;
    amount[i] = static_cast<std::int64_t>(rng() % 100 + 1);
    expected[target[i]] += amount[i];
  }
  {
    runtime rt{config_in(dir)};
    rt.register_aggregate<inventory::product>();
    REQUIRE(rt.start());
    // The first 10,000 commands create the products; the rest arrive concurrently across all of them.
    test::load_driver create{products, 1000, [&](std::size_t i, auto done) {
                               rt.send<inventory::product>(product_id(i),
                                                           inventory::register_product{"sku", amount[i]}, done);
                             }};
    create.run();
    REQUIRE(create.tally()[command_errc::none] == products);
    test::load_driver add{total - products, 1000, [&](std::size_t j, auto done) {
                            auto i = j + products;
                            rt.send<inventory::product>(product_id(target[i]), inventory::add_stock{amount[i]},
                                                        done);
                          }};
    add.run();
    for (std::size_t j = 0; j < total - products; ++j)
      REQUIRE(add.answers_of(j) == 1);
    REQUIRE(add.tally()[command_errc::none] == total - products);
    // The state before the restart, as the live instances hold it: each product's version and stock.
    std::size_t wrong_before = 0;
    for (std::size_t p = 0; p < products; ++p) {
      auto got = rt.get<inventory::product>(product_id(p));
      REQUIRE(got.ok());
      before[p] = {got.root->version(), got.root->state().on_hand()};
      if (before[p].second != expected[p])
        ++wrong_before;
    }
    CHECK(wrong_before == 0);
  }
  runtime rt{config_in(dir)};
  rt.register_aggregate<inventory::product>();
  REQUIRE(rt.start());
  std::size_t mismatches = 0;
  std::ostringstream first_mismatches;
  for (std::size_t p = 0; p < products; ++p) {
    auto got = rt.get<inventory::product>(product_id(p));
    std::pair<std::uint64_t, std::int64_t> after{0, 0};
    if (got.ok())
      after = {got.root->version(), got.root->state().on_hand()};
    if (after != before[p] && ++mismatches <= 5)
      first_mismatches << ' ' << product_id(p) << ": v" << before[p].first << '/' << before[p].second << " before, v"
                       << after.first << '/' << after.second << " after;";
  }
  INFO("products whose version/stock differ after the restart:" << first_mismatches.str());
  CHECK(mismatches == 0);
  CHECK(rt.store().last_position() == total);
}

TEST_CASE("passivation churn with max_active 100 over 10,000 aggregates loses and duplicates nothing",
          "[runtime][concurrency]") {
  test::temp_dir dir;
  auto cfg = config_in(dir);
  cfg.max_active = 100;
  cfg.durability = commit_mode::buffered;
  runtime rt{cfg};
  rt.register_aggregate<accounts::account>();
  REQUIRE(rt.start());
  constexpr std::size_t accounts = 10'000;
  constexpr std::size_t deposits = 40'000;
  auto account_id = [](std::size_t i) { return "a-" + std::to_string(i); };
  test::load_driver open{accounts, 500, [&](std::size_t i, auto done) {
                           rt.send<accounts::account>(account_id(i), accounts::open_account{"owner"}, done);
                         }};
  open.run();
  REQUIRE(open.tally()[command_errc::none] == accounts);

  std::mt19937_64 rng{7};
  std::vector<std::size_t> target(deposits);
  std::vector<std::int64_t> expected(accounts, 0);
  for (auto& t : target) {
    t = rng() % accounts;
    expected[t] += 1;
  }
  test::load_driver deposit{deposits, 500, [&](std::size_t i, auto done) {
                              rt.send<accounts::account>(account_id(target[i]), accounts::deposit{money{1}}, done);
                            }};
  deposit.run();
  for (std::size_t i = 0; i < deposits; ++i)
    REQUIRE(deposit.answers_of(i) == 1);
  REQUIRE(deposit.tally()[command_errc::none] == deposits);
  // Instances asked to make room stop once idle: the count settles near the budget once the traffic is over.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{5};
  while (rt.stats().active_instances > cfg.max_active && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
  CHECK(rt.stats().active_instances <= cfg.max_active);

  std::size_t mismatches = 0;
  for (std::size_t a = 0; a < accounts; ++a) {
    auto got = rt.get<accounts::account>(account_id(a));
    if (!got.ok() || got.root->state().balance() != money{expected[a]} || got.root->version() !=
                                                                              static_cast<std::uint64_t>(expected[a]) + 1)
      ++mismatches;
  }
  CHECK(mismatches == 0);
  CHECK(rt.store().last_position() == accounts + deposits);
}

TEST_CASE("commands beyond the in-flight maximum are overloaded at once, change nothing, and memory stays bounded",
          "[runtime][concurrency]") {
  test::temp_dir dir;
  auto cfg = config_in(dir);
  cfg.max_in_flight = 100;
  runtime rt{cfg};
  rt.register_aggregate<examples::example_aggregate>();
  REQUIRE(rt.start());
  REQUIRE(rt.execute<examples::example_aggregate>("x", examples::create_aggregate{}).ok());
  std::atomic<std::size_t> answered{0};
  std::mutex m;
  std::map<command_errc, std::size_t> counts;
  auto flood = [&](std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
      rt.send<examples::example_aggregate>("x", examples::create_example{}, [&](command_result r) {
        {
          std::lock_guard guard{m};
          ++counts[r.code];
        }
        answered.fetch_add(1);
      });
  };
  flood(20'000);
  auto before = test::resident_bytes();
  // Ten times more, as fast as one thread can send: the bound on commands in flight must keep memory flat.
  flood(200'000);
  auto after = test::resident_bytes();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{120};
  while (answered.load() < 220'000 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  INFO("resident before " << before << " after " << after << "; " << answered.load()
                          << " of 220000 answered when the wait ended");
  REQUIRE(answered.load() == 220'000);
  CHECK(after < before + (32u << 20));
  CHECK(counts[command_errc::overloaded] > 0);
  CHECK(counts[command_errc::none] + counts[command_errc::overloaded] == 220'000);
  CHECK(rt.stats().in_flight == 0);
  // Exactly the accepted ones are in the store.
  CHECK(rt.store().stream_version("example_aggregate-x").value() == 1 + counts[command_errc::none]);
}
