// The README's test-kit example, on the README's wallet (README.md shows the marked region verbatim).
#include "../../examples/quickstart/wallet.hpp"

#include <cairn/testing/aggregate_test.hpp>
#include <cairn/testing/decision_test.hpp>

#include <catch2/catch.hpp>

using namespace quickstart;

TEST_CASE("the README's wallet: decisions alone and through the actor", "[readme]") {
  // readme-begin: testing
  cairn::testing::decision_test<wallet> t;                       // no actor, no store
  t.given({wallet_opened{"ann"}});
  CHECK(t.when(deposit{500}).then_events({money_deposited{500}}));
  CHECK(t.when(withdraw{501}).then_rejected("not enough money"));
  cairn::testing::aggregate_test<wallet> actor;                  // the same, through the actor and RocksDB
  CHECK(actor.when(open_wallet{"ann"}).then_events({wallet_opened{"ann"}}));
  // readme-end: testing
  CHECK(t.root().state().balance() == 500);
  CHECK(actor.then_state([](const wallet& w) { return w.owner() == "ann"; }));
}
