// The pure given/when/then helper (cairn::testing::decision_test) on the order domain: no actor, no store.
#include <cairn/domains/example_aggregate.hpp>
#include <cairn/domains/order.hpp>
#include <cairn/testing/decision_test.hpp>

#include <catch2/catch.hpp>

using namespace cairn;
using namespace cairn::domains::orders;
using cairn::testing::decision_test;

TEST_CASE("decision_test: an order takes lines while a draft, then submits", "[decision_test]") {
  decision_test<order> t{"o-1"};
  CHECK(t.when(create_order{"c-1"}).then_events({order_created{"c-1"}}));
  CHECK(t.when(add_line{"p-1", "Pen", 2, money{150}}).then_events({line_added{"p-1", "Pen", 2, money{150}}}));
  CHECK(t.when(submit_order{}).then_events({order_submitted{{order_line{"p-1", "Pen", 2, money{150}}}}}));
  CHECK(t.when(add_line{"p-2", "Ink", 1, money{100}}).then_rejected("not a draft"));
  CHECK(t.recorded().empty());
  CHECK(t.then_state([](const order& o) { return o.status() == order_status::submitted && o.lines().size() == 1; }));
  CHECK(t.root().version() == 3);
}

TEST_CASE("decision_test: given prior events, a rejection changes nothing", "[decision_test]") {
  decision_test<order> t;
  t.given({order_created{"c-1"}, line_added{"p-1", "Desk", 1, money{999'900}}});
  CHECK(t.when(add_line{"p-2", "Lamp", 1, money{101}}).then_rejected("10000.00"));
  CHECK(t.root().version() == 2);
  CHECK(t.when(add_line{"p-2", "Lamp", 1, money{100}}).then_events({line_added{"p-2", "Lamp", 1, money{100}}}));
  CHECK(t.root().version() == 3);
}

TEST_CASE("decision_test: a verdict explains what differs", "[decision_test]") {
  decision_test<order> t;
  auto wrong = t.when(create_order{"c-1"}).then_events({order_created{"someone else"}});
  CHECK_FALSE(wrong);
  CHECK_THAT(wrong.explanation(), Catch::Contains("order.created"));
  auto accepted_not_rejected = t.when(add_line{"p", "Pen", 1, money{1}}).then_rejected();
  CHECK_FALSE(accepted_not_rejected);
  CHECK_THAT(accepted_not_rejected.explanation(), Catch::Contains("order.line_added"));
  t.when(submit_order{});
  auto other_reason = t.when(add_line{"p-2", "Ink", 1, money{100}}).then_rejected("out of stock");
  CHECK_FALSE(other_reason);
  CHECK_THAT(other_reason.explanation(), Catch::Contains("not a draft"));
  CHECK_FALSE(t.when(add_line{"p-2", "Ink", 1, money{100}}).then_events({}));
  CHECK_FALSE(t.then_state([](const order& o) { return o.lines().empty(); }));
}

TEST_CASE("decision_test: one command may record several events", "[decision_test]") {
  using namespace cairn::domains::examples;
  decision_test<example_aggregate> t;
  t.given({aggregate_created{}});
  CHECK(t.when(create_examples{2}).then_events({example_created{1}, example_created{2}}));
  CHECK(t.then_state([](const example_aggregate& a) { return a.count_examples() == 2; }));
}
