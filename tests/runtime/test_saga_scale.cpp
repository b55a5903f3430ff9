// The order fulfilment saga at scale through the runtime: its cost per answer must not grow with the steps still
// outstanding (it once copied its whole state and rebuilt its whole outbox on every answer: 8,000 products took
// longer than 30 s).
#include <cairn/domains/inventory.hpp>
#include <cairn/domains/order.hpp>
#include <cairn/domains/order_fulfillment.hpp>
#include <shop.hpp>

#include <support/temp_dir.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

using namespace cairn;
using namespace cairn::domains;

namespace {

/// Sends `count` commands made by `make(i)` at once and waits (bounded) until every one is answered accepted.
template <class A, class Make>
void send_all(runtime& rt, std::size_t count, Make make) {
  std::atomic<std::size_t> accepted{0}, refused{0};
  for (std::size_t i = 0; i < count; ++i) {
    auto [id, command] = make(i);
    rt.send<A>(id, std::move(command), [&](const command_result& r) { (r.ok() ? accepted : refused)++; });
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{60};
  while (accepted + refused < count && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
  INFO(count - accepted - refused << " of " << count << " commands still unanswered after 60 s");
  REQUIRE(accepted + refused == count);
  REQUIRE(refused == 0);
}

/// Seconds from the order's submission until its saga confirmed it.
double fulfil_order_of(std::size_t products) {
  test::temp_dir dir;
  runtime_config cfg;
  cfg.data_dir = dir.sub("db");
  cfg.durability = commit_mode::buffered;
  runtime rt{cfg};
  shop::register_shop(rt);
  REQUIRE(rt.start());
  send_all<inventory::product>(rt, products, [](std::size_t i) {
    return std::pair{"p-" + std::to_string(i), inventory::register_product{"SKU", 5}};
  });
  REQUIRE(rt.execute<orders::order>("o-1", orders::create_order{"ann"}).ok());
  for (std::size_t i = 0; i < products; ++i)
    REQUIRE(rt.execute<orders::order>("o-1", orders::add_line{"p-" + std::to_string(i), "Item", 1, money{}}).ok());

  const auto start = std::chrono::steady_clock::now();
  REQUIRE(rt.execute<orders::order>("o-1", orders::submit_order{}).ok());
  const auto deadline = start + std::chrono::seconds{30};
  bool done = false;
  while (!done && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
    auto saga = rt.get<fulfillment::order_fulfillment>("o-1");
    done = saga.ok() && saga.root->state().done();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  INFO("the saga of " << products << " products did not finish within 30 s");
  REQUIRE(done);
  auto saga = rt.get<fulfillment::order_fulfillment>("o-1");
  REQUIRE(saga.ok());
  CHECK(saga.root->state().status() == fulfillment::fulfillment_status::confirmed);
  CHECK(saga.root->state().steps().size() == 2 * products + 1); // reserve and commit per product, and confirm
  auto order = rt.get<orders::order>("o-1");
  REQUIRE(order.ok());
  CHECK(order.root->state().status() == orders::order_status::confirmed);
  auto last = rt.get<inventory::product>("p-" + std::to_string(products - 1));
  REQUIRE(last.ok());
  CHECK(last.root->state().on_hand() == 4);
  rt.stop();
  return seconds;
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr std::size_t large_order = 2'000; // a sanitizer's 5-15x slowdown would not fit the deadline
#else
constexpr std::size_t large_order = 8'000;
#endif

} // namespace

TEST_CASE("an order of 8,000 distinct products is fulfilled, at a cost linear in its lines", "[sagas][scale]") {
  const double small = fulfil_order_of(large_order / 8);
  const double large = fulfil_order_of(large_order);
  std::printf("order fulfilment through the runtime: %zu products %.3f s, %zu products %.3f s\n", large_order / 8,
              small, large_order, large);
  // Quadratic work makes 8x the lines cost 64x; linear, 8x. The bound leaves room for a loaded machine.
  CHECK(large < 24 * std::max(small, 0.05));
}
