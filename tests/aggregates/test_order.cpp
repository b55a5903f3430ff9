#include "domain_testing.hpp"

#include <cairn/domains/order.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

using namespace cairn::domains::orders;
using cairn::aggregate_root;
using cairn::money;
using cairn::testing::require_accepted;
using cairn::testing::require_rejected;

namespace {

static_assert(cairn::aggregate<order>);
static_assert(cairn::snapshottable<order>);
static_assert(cairn::testing::all_message_types<order::command>);
static_assert(cairn::testing::all_message_types<order::event>);
static_assert(cairn::creates_aggregate_v<create_order>);
static_assert(!cairn::creates_aggregate_v<add_line> && !cairn::creates_aggregate_v<submit_order>);

money amount(std::string_view text) {
  return money::parse(text).value();
}

aggregate_root<order> draft_order() {
  aggregate_root<order> root{"order-1"};
  require_accepted(root, create_order{"customer-7"});
  return root;
}

aggregate_root<order> submitted_order() {
  auto root = draft_order();
  require_accepted(root, add_line{"pen", "Pen", 2, amount("1.50")});
  require_accepted(root, submit_order{});
  return root;
}

} // namespace

TEST_CASE("order: names its events and versions their schemas", "[order]") {
  cairn::testing::check_event_types<order>();
  for (auto version : cairn::testing::schema_versions(std::type_identity<order::event>{}))
    CHECK(version == 1);
  CHECK(order::snapshot_version == 1);
}

TEST_CASE("order: every command and event survives inspect", "[order]") {
  cairn::testing::check_round_trips(std::vector<order::command>{
    create_order{"c-1"}, add_line{"p-1", "Pen", 3, amount("1.25")}, remove_line{"p-1"}, submit_order{},
    confirm_order{}, reject_order{"out of stock"}});
  cairn::testing::check_round_trips(std::vector<order::event>{
    order_created{"c-1"}, line_added{"p-1", "Pen", 3, amount("1.25")}, line_removed{"p-1"},
    order_submitted{{order_line{"p-1", "Pen", 3, amount("1.25")}, order_line{"p-1", "Pen", 1, amount("1.20")}}},
    order_confirmed{}, order_rejected{"out of stock"}});
}

TEST_CASE("order: create_order opens a draft for a customer", "[order]") {
  aggregate_root<order> root{"order-1"};
  const auto events = require_accepted(root, create_order{"customer-7"});
  CHECK(events == std::vector<order::event>{order_created{"customer-7"}});
  CHECK(root.version() == 1);
  CHECK(root.exists());
  CHECK(root.state().created());
  CHECK(root.state().customer_id() == "customer-7");
  CHECK(root.state().status() == order_status::draft);
  CHECK(root.state().lines().empty());
  CHECK(root.state().total() == money{});
}

TEST_CASE("order: create_order is rejected on an existing order or without a customer", "[order]") {
  aggregate_root<order> fresh{"order-1"};
  require_rejected(fresh, create_order{""}, "customer_id must not be empty");
  auto root = draft_order();
  require_rejected(root, create_order{"customer-8"}, "order already exists");
  CHECK(root.state().customer_id() == "customer-7");
}

TEST_CASE("order: every command but create is rejected on an order that does not exist", "[order]") {
  aggregate_root<order> root{"order-1"};
  for (const order::command& cmd : std::vector<order::command>{
         add_line{"pen", "Pen", 1, amount("1")}, remove_line{"pen"}, submit_order{}, confirm_order{},
         reject_order{"no"}})
    require_rejected(root, cmd, "order does not exist");
}

TEST_CASE("order: add_line adds a line, and the same product may appear on several lines", "[order]") {
  auto root = draft_order();
  require_accepted(root, add_line{"pen", "Pen", 2, amount("1.50")});
  require_accepted(root, add_line{"ink", "Ink", 1, amount("4.00")});
  require_accepted(root, add_line{"pen", "Pen", 1, amount("1.40")});
  CHECK(root.version() == 4);
  const auto lines = root.state().lines();
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == order_line{"pen", "Pen", 2, amount("1.50")});
  CHECK(lines[0].total() == amount("3.00"));
  CHECK(lines[2].total() == amount("1.40"));
  CHECK(root.state().total() == amount("8.40"));
}

TEST_CASE("order: add_line validates product, quantity and price", "[order]") {
  auto root = draft_order();
  require_rejected(root, add_line{"", "Pen", 1, amount("1")}, "product_id must not be empty");
  require_rejected(root, add_line{"pen", "Pen", 0, amount("1")}, "quantity must be positive, got 0");
  require_rejected(root, add_line{"pen", "Pen", -3, amount("1")}, "quantity must be positive, got -3");
  require_rejected(root, add_line{"pen", "Pen", 1, amount("-0.01")}, "unit_price must not be negative, got -0.01");
  require_accepted(root, add_line{"gift", "Gift", 1, money{}});
  CHECK(root.state().total() == money{});
}

TEST_CASE("order: the total may reach 10,000.00 but not exceed it", "[order]") {
  auto root = draft_order();
  require_rejected(root, add_line{"safe", "Safe", 1, amount("10000.01")}, "order total would exceed 10000.00");
  require_accepted(root, add_line{"desk", "Desk", 4, amount("1500.00")});
  require_accepted(root, add_line{"chair", "Chair", 1, amount("4000.00")});
  CHECK(root.state().total() == max_order_total);
  require_rejected(root, add_line{"pen", "Pen", 1, amount("0.01")}, "order total would exceed 10000.00");
  require_accepted(root, add_line{"sticker", "Sticker", 5, money{}});
  CHECK(root.state().total() == max_order_total);
}

TEST_CASE("order: holds at most max_order_lines lines", "[order]") {
  auto root = draft_order();
  for (std::size_t i = 0; i < max_order_lines; ++i) {
    auto added = root.decide(add_line{"p-" + std::to_string(i), "Free sample", 1, money{}});
    REQUIRE(added.accepted());
    root.apply(added.events());
  }
  CHECK(root.state().lines().size() == max_order_lines);
  require_rejected(root, add_line{"one-more", "One more", 1, money{}}, "the most allowed");
  require_accepted(root, remove_line{"p-0"});
  require_accepted(root, add_line{"one-more", "One more", 1, money{}});
}

TEST_CASE("order: a quantity times price that overflows is rejected, not wrapped", "[order]") {
  auto root = draft_order();
  constexpr auto huge = std::numeric_limits<std::int64_t>::max();
  require_rejected(root, add_line{"pen", "Pen", huge, amount("2.00")}, "line total overflows");
  require_rejected(root, add_line{"pen", "Pen", 2, money::from_minor(huge)}, "line total overflows");
  require_rejected(root, add_line{"pen", "Pen", 1, money::from_minor(huge)}, "order total would exceed");
  require_accepted(root, add_line{"pen", "Pen", 1, amount("0.01")});
  require_rejected(root, add_line{"pen", "Pen", 1, money::from_minor(huge)}, "order total would exceed");
}

TEST_CASE("order: remove_line removes every line of the product", "[order]") {
  auto root = draft_order();
  require_accepted(root, add_line{"pen", "Pen", 2, amount("1.50")});
  require_accepted(root, add_line{"ink", "Ink", 1, amount("4.00")});
  require_accepted(root, add_line{"pen", "Pen", 1, amount("1.40")});
  const auto events = require_accepted(root, remove_line{"pen"});
  CHECK(events == std::vector<order::event>{line_removed{"pen"}});
  REQUIRE(root.state().lines().size() == 1);
  CHECK(root.state().lines()[0].product_id == "ink");
  CHECK(root.state().total() == amount("4.00"));
}

TEST_CASE("order: remove_line is rejected for a product the order does not have", "[order]") {
  auto root = draft_order();
  require_accepted(root, add_line{"pen", "Pen", 2, amount("1.50")});
  require_rejected(root, remove_line{"stapler"}, "order has no line for product 'stapler'");
}

TEST_CASE("order: submit_order needs a non-empty draft", "[order]") {
  auto root = draft_order();
  require_rejected(root, submit_order{}, "order is empty");
  require_accepted(root, add_line{"pen", "Pen", 2, amount("1.50")});
  require_accepted(root, submit_order{});
  CHECK(root.state().status() == order_status::submitted);
  require_rejected(root, submit_order{}, "order is already submitted");
}

TEST_CASE("order: order_submitted carries the lines as submitted", "[order]") {
  auto root = draft_order();
  require_accepted(root, add_line{"pen", "Pen", 2, amount("1.50")});
  require_accepted(root, add_line{"ink", "Ink", 1, amount("4.00")});
  require_accepted(root, add_line{"pen", "Pen", 1, amount("1.40")});
  require_accepted(root, remove_line{"ink"});
  const auto events = require_accepted(root, submit_order{});
  const std::vector<order_line> lines{{"pen", "Pen", 2, amount("1.50")}, {"pen", "Pen", 1, amount("1.40")}};
  CHECK(events == std::vector<order::event>{order_submitted{lines}});
  CHECK(std::ranges::equal(root.state().lines(), lines));
}

TEST_CASE("order: a submitted order's lines no longer change", "[order]") {
  auto root = submitted_order();
  require_rejected(root, add_line{"ink", "Ink", 1, amount("4.00")}, "order is submitted, not a draft");
  require_rejected(root, remove_line{"pen"}, "order is submitted, not a draft");
}

TEST_CASE("order: only a submitted order is confirmed or rejected", "[order]") {
  auto draft = draft_order();
  require_accepted(draft, add_line{"pen", "Pen", 2, amount("1.50")});
  require_rejected(draft, confirm_order{}, "order is draft, not submitted");
  require_rejected(draft, reject_order{"no stock"}, "order is draft, not submitted");

  SECTION("confirmed") {
    auto root = submitted_order();
    require_accepted(root, confirm_order{});
    CHECK(root.state().status() == order_status::confirmed);
    require_rejected(root, confirm_order{}, "order is confirmed, not submitted");
    require_rejected(root, reject_order{"late"}, "order is confirmed, not submitted");
    require_rejected(root, submit_order{}, "order is already confirmed");
    require_rejected(root, add_line{"ink", "Ink", 1, amount("4.00")}, "order is confirmed, not a draft");
  }
  SECTION("rejected") {
    auto root = submitted_order();
    require_rejected(root, reject_order{""}, "reason must not be empty");
    require_accepted(root, reject_order{"pen out of stock"});
    CHECK(root.state().status() == order_status::rejected);
    CHECK(root.state().rejection_reason() == "pen out of stock");
    require_rejected(root, confirm_order{}, "order is rejected, not submitted");
  }
}

TEST_CASE("order: statuses have names", "[order]") {
  CHECK(to_string(order_status::draft) == "draft");
  CHECK(to_string(order_status::submitted) == "submitted");
  CHECK(to_string(order_status::confirmed) == "confirmed");
  CHECK(to_string(order_status::rejected) == "rejected");
}

TEST_CASE("order: replaying the events rebuilds the same state", "[order]") {
  aggregate_root<order> root{"order-1"};
  std::vector<order::event> log;
  for (const order::command& cmd : std::vector<order::command>{
         create_order{"customer-7"}, add_line{"pen", "Pen", 2, amount("1.50")},
         add_line{"ink", "Ink", 1, amount("4.00")}, remove_line{"pen"}, submit_order{}, reject_order{"no ink"}}) {
    const auto events = require_accepted(root, cmd);
    log.insert(log.end(), events.begin(), events.end());
  }
  aggregate_root<order> replayed{"order-1"};
  replayed.apply(log);
  CHECK(replayed.version() == root.version());
  CHECK(replayed.state() == root.state());
}

TEST_CASE("order: a snapshot restores the whole state", "[order]") {
  auto root = draft_order();
  require_accepted(root, add_line{"pen", "Pen", 2, amount("1.50")});
  require_accepted(root, add_line{"ink", "Ink", 1, amount("4.00")});
  auto restored = cairn::testing::restored_from_snapshot(root);
  CHECK(restored.version() == root.version());
  CHECK(restored.state() == root.state());
  require_rejected(restored, add_line{"desk", "Desk", 1, amount("9994.01")}, "order total would exceed");
  CHECK(require_accepted(restored, submit_order{}) == require_accepted(root, submit_order{}));

  auto rejected = submitted_order();
  require_accepted(rejected, reject_order{"no stock"});
  CHECK(cairn::testing::restored_from_snapshot(rejected).state() == rejected.state());
}
