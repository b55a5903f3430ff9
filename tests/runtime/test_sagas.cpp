// The sagas through the runtime: order placement with stock (confirmed, or rejected with every reservation
// released), money transfers (completed, or compensated), and the read models.
#include <cairn/domains/account.hpp>
#include <cairn/domains/inventory.hpp>
#include <cairn/domains/order.hpp>
#include <cairn/domains/order_fulfillment.hpp>
#include <cairn/domains/transfer.hpp>
#include <shop.hpp>

#include <support/temp_dir.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

using namespace cairn;
using namespace cairn::domains;

namespace {

runtime_config config_in(const test::temp_dir& dir) {
  runtime_config cfg;
  cfg.data_dir = dir.sub("db");
  cfg.scheduler_threads = 2;
  return cfg;
}

template <class Predicate>
bool eventually(Predicate p, std::chrono::seconds limit = std::chrono::seconds{20}) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (p())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  return false;
}

orders::order_status status_of(runtime& rt, const std::string& id) {
  auto o = rt.get<orders::order>(id);
  return o.ok() ? o.root->state().status() : orders::order_status::draft;
}

} // namespace

TEST_CASE("an order with stock for every line is confirmed and its stock committed", "[sagas]") {
  test::temp_dir dir;
  runtime rt{config_in(dir)};
  shop::register_shop(rt);
  REQUIRE(rt.start());
  REQUIRE(rt.execute<inventory::product>("pen", inventory::register_product{"PEN", 10}).ok());
  REQUIRE(rt.execute<inventory::product>("ink", inventory::register_product{"INK", 5}).ok());
  REQUIRE(rt.execute<orders::order>("o-1", orders::create_order{"ann"}).ok());
  REQUIRE(rt.execute<orders::order>("o-1", orders::add_line{"pen", "Pen", 3, money{150}}).ok());
  REQUIRE(rt.execute<orders::order>("o-1", orders::add_line{"ink", "Ink", 5, money{300}}).ok());
  REQUIRE(rt.execute<orders::order>("o-1", orders::submit_order{}).ok());

  REQUIRE(eventually([&] { return status_of(rt, "o-1") == orders::order_status::confirmed; }));
  CHECK(eventually([&] { return rt.get<inventory::product>("pen").root->state().on_hand() == 7; }));
  CHECK(rt.get<inventory::product>("pen").root->state().reserved() == 0);
  CHECK(rt.get<inventory::product>("ink").root->state().on_hand() == 0);
  CHECK(eventually([&] { return shop::stock_of(rt.store(), "pen") == shop::stock_level{7, 0}; }));
  CHECK(shop::orders_of(rt.store(), "ann") == std::vector<std::string>{"o-1"});
}

TEST_CASE("an order short of stock is rejected and every reservation it made is released", "[sagas]") {
  test::temp_dir dir;
  runtime rt{config_in(dir)};
  shop::register_shop(rt);
  REQUIRE(rt.start());
  REQUIRE(rt.execute<inventory::product>("pen", inventory::register_product{"PEN", 10}).ok());
  REQUIRE(rt.execute<inventory::product>("ink", inventory::register_product{"INK", 1}).ok());
  REQUIRE(rt.execute<orders::order>("o-2", orders::create_order{"bob"}).ok());
  REQUIRE(rt.execute<orders::order>("o-2", orders::add_line{"pen", "Pen", 3, money{150}}).ok());
  REQUIRE(rt.execute<orders::order>("o-2", orders::add_line{"ink", "Ink", 2, money{300}}).ok());
  REQUIRE(rt.execute<orders::order>("o-2", orders::submit_order{}).ok());

  REQUIRE(eventually([&] { return status_of(rt, "o-2") == orders::order_status::rejected; }));
  auto pen = rt.get<inventory::product>("pen").root->state();
  CHECK(pen.on_hand() == 10);
  CHECK(pen.reserved() == 0);
  CHECK(rt.get<inventory::product>("ink").root->state().reserved() == 0);
  CHECK(eventually([&] { return shop::stock_of(rt.store(), "pen") == shop::stock_level{10, 0}; }));
}

TEST_CASE("a transfer moves money, and a transfer to a missing account is refunded", "[sagas]") {
  test::temp_dir dir;
  runtime rt{config_in(dir)};
  shop::register_shop(rt);
  REQUIRE(rt.start());
  REQUIRE(rt.execute<accounts::account>("a", accounts::open_account{"ann"}).ok());
  REQUIRE(rt.execute<accounts::account>("b", accounts::open_account{"bob"}).ok());
  REQUIRE(rt.execute<accounts::account>("a", accounts::deposit{money{1000}}).ok());

  REQUIRE(rt.execute<transfers::transfer>("t-1", transfers::start_transfer{"t-1", "a", "b", money{300}}).ok());
  REQUIRE(eventually([&] {
    auto t = rt.get<transfers::transfer>("t-1");
    return t.ok() && t.root->state().status() == transfers::transfer_status::completed;
  }));
  CHECK(rt.get<accounts::account>("a").root->state().balance() == money{700});
  CHECK(rt.get<accounts::account>("b").root->state().balance() == money{300});

  REQUIRE(rt.execute<transfers::transfer>("t-2", transfers::start_transfer{"t-2", "a", "nobody", money{100}}).ok());
  REQUIRE(eventually([&] {
    auto t = rt.get<transfers::transfer>("t-2");
    return t.ok() && t.root->state().status() == transfers::transfer_status::compensated;
  }));
  CHECK(rt.get<accounts::account>("a").root->state().balance() == money{700});

  REQUIRE(rt.execute<transfers::transfer>("t-3", transfers::start_transfer{"t-3", "b", "a", money{301}}).ok());
  REQUIRE(eventually([&] {
    auto t = rt.get<transfers::transfer>("t-3");
    return t.ok() && t.root->state().status() == transfers::transfer_status::failed;
  }));
  CHECK(rt.get<accounts::account>("b").root->state().balance() == money{300});
}

TEST_CASE("an idempotent command sent twice takes effect once and gets the first answer again", "[sagas]") {
  test::temp_dir dir;
  runtime rt{config_in(dir)};
  rt.register_aggregate<accounts::account>();
  REQUIRE(rt.start());
  REQUIRE(rt.execute<accounts::account>("a", accounts::open_account{"ann"}).ok());
  auto send = [&](auto cmd, std::uint64_t seq) {
    std::promise<command_result> p;
    rt.send<accounts::account>("a", cmd, causation{"test", seq}, [&](command_result r) { p.set_value(r); });
    return p.get_future().get();
  };
  auto first = send(accounts::deposit{money{10}}, 1);
  auto again = send(accounts::deposit{money{10}}, 1);
  REQUIRE(first.ok());
  CHECK(again.ok());
  CHECK(again.version == first.version);
  auto refused = send(accounts::withdraw{money{1000}}, 2);
  auto refused_again = send(accounts::withdraw{money{1}}, 2); // same causation: the first answer, not a new try
  CHECK(refused.code == command_errc::rejected);
  CHECK(refused_again.code == command_errc::rejected);
  CHECK(refused_again.message == refused.message);
  CHECK(rt.get<accounts::account>("a").root->state().balance() == money{10});
  CHECK(rt.get<accounts::account>("a").root->version() == 2);
}
