// The actor test kit (cairn::testing) on cairn's own example domains: given / when / then against the real
// aggregate actor on CAF's deterministic scheduler.
#include <cairn/domains/account.hpp>
#include <cairn/domains/example_aggregate.hpp>
#include <cairn/domains/inventory.hpp>
#include <cairn/domains/order.hpp>
#include <cairn/testing/aggregate_test.hpp>

#include <catch2/catch.hpp>

using namespace cairn;
using namespace cairn::domains;
using cairn::testing::aggregate_test;

TEST_CASE("test kit: an order takes lines while a draft, then submits", "[testkit]") {
  using namespace orders;
  aggregate_test<order> t;
  CHECK(t.when(create_order{"c-1"}).then_events({order_created{"c-1"}}));
  CHECK(t.when(add_line{"p-1", "Pen", 2, money{150}}).then_events({line_added{"p-1", "Pen", 2, money{150}}}));
  CHECK(t.when(submit_order{}).then_events({order_submitted{{order_line{"p-1", "Pen", 2, money{150}}}}}));
  CHECK(t.when(add_line{"p-2", "Ink", 1, money{100}}).then_error(command_errc::rejected));
  CHECK(t.then_state([](const order& o) { return o.status() == order_status::submitted && o.lines().size() == 1; }));
}

TEST_CASE("test kit: given prior events, the order rejects what breaks its invariants", "[testkit]") {
  using namespace orders;
  aggregate_test<order> t;
  t.given({order_created{"c-1"}, line_added{"p-1", "Desk", 1, money{999'900}}});
  CHECK(t.when(add_line{"p-2", "Lamp", 1, money{101}}).then_error(command_errc::rejected, "10000.00"));
  CHECK(t.when(add_line{"p-2", "Lamp", 1, money{100}}).then_events({line_added{"p-2", "Lamp", 1, money{100}}}));
  CHECK(t.result().version == 3);
  CHECK(t.when(remove_line{"p-9"}).then_error(command_errc::rejected, "p-9"));
}

TEST_CASE("test kit: a command to an aggregate that was never created is not_found", "[testkit]") {
  aggregate_test<orders::order> t;
  CHECK(t.when(orders::submit_order{}).then_error(command_errc::not_found));
  CHECK_FALSE(t.then_state([](const orders::order&) { return true; }));
}

TEST_CASE("test kit: a verdict explains what differs", "[testkit]") {
  using namespace orders;
  aggregate_test<order> t;
  auto wrong = t.when(create_order{"c-1"}).then_events({order_created{"someone else"}});
  CHECK_FALSE(wrong);
  CHECK_THAT(wrong.explanation(), Catch::Contains("order.created"));
  auto not_an_error = t.when(add_line{"p", "Pen", 1, money{1}}).then_error(command_errc::rejected);
  CHECK_FALSE(not_an_error);
}

TEST_CASE("test kit: inventory never goes negative", "[testkit]") {
  using namespace inventory;
  aggregate_test<product> t;
  t.given({product_registered{"sku-1", 5}});
  CHECK(t.when(reserve{"o-1", 3}).then_events({stock_reserved{"o-1", 3}}));
  CHECK(t.when(reserve{"o-2", 3}).then_error(command_errc::rejected));
  CHECK(t.when(release{"o-1"}).then_events({reservation_released{"o-1", 3}}));
  CHECK(t.then_state([](const product& p) { return p.available() == 5; }));
}

TEST_CASE("test kit: accounts do not overdraw and remember transfers", "[testkit]") {
  using namespace accounts;
  aggregate_test<account> t;
  t.given({account_opened{"ann"}, money_deposited{money{500}}});
  CHECK(t.when(withdraw{money{501}}).then_error(command_errc::rejected));
  CHECK(t.when(debit{"t-1", money{200}}).then_events({transfer_debited{"t-1", money{200}}}));
  CHECK(t.when(debit{"t-1", money{200}}).then_error(command_errc::rejected, "t-1"));
  CHECK(t.then_state([](const account& a) { return a.balance() == money{300}; }));
}

TEST_CASE("test kit: the DDD example aggregate counts its examples and stops when discarded", "[testkit]") {
  using namespace examples;
  aggregate_test<example_aggregate> t;
  CHECK(t.when(create_aggregate{}).then_events({aggregate_created{}}));
  CHECK(t.then_state([](const example_aggregate& a) { return a.count_examples() == 0; }));
  REQUIRE(t.when(create_examples{2}).result().ok());
  CHECK(t.committed().size() == 2);
  CHECK(t.then_state([](const example_aggregate& a) { return a.count_examples() == 2; }));
  CHECK(t.when(discard{}).then_events({aggregate_discarded{}}));
  CHECK(t.when(create_example{}).then_error(command_errc::not_found));
}
