#include "domain_testing.hpp"

#include <cairn/domains/inventory.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <vector>

using namespace cairn::domains::inventory;
using cairn::aggregate_root;
using cairn::testing::require_accepted;
using cairn::testing::require_rejected;

namespace {

static_assert(cairn::aggregate<product>);
static_assert(cairn::snapshottable<product>);
static_assert(cairn::testing::all_message_types<product::command>);
static_assert(cairn::testing::all_message_types<product::event>);
static_assert(cairn::creates_aggregate_v<register_product>);
static_assert(!cairn::creates_aggregate_v<reserve> && !cairn::creates_aggregate_v<add_stock>);

aggregate_root<product> stocked(std::int64_t units) {
  aggregate_root<product> root{"pen"};
  require_accepted(root, register_product{"SKU-PEN", units});
  return root;
}

} // namespace

TEST_CASE("inventory: names its events and versions their schemas", "[inventory]") {
  cairn::testing::check_event_types<product>();
  for (auto version : cairn::testing::schema_versions(std::type_identity<product::event>{}))
    CHECK(version == 1);
  CHECK(product::snapshot_version == 1);
}

TEST_CASE("inventory: every command and event survives inspect", "[inventory]") {
  cairn::testing::check_round_trips(std::vector<product::command>{
    register_product{"SKU-1", 10}, add_stock{5}, reserve{"order-1", 3}, release{"order-1"},
    commit_reservation{"order-2"}});
  cairn::testing::check_round_trips(std::vector<product::event>{
    product_registered{"SKU-1", 10}, stock_added{5}, stock_reserved{"order-1", 3},
    reservation_released{"order-1", 3}, reservation_committed{"order-2", 4}});
}

TEST_CASE("inventory: register_product creates a product with its initial stock", "[inventory]") {
  aggregate_root<product> root{"pen"};
  require_rejected(root, register_product{"", 5}, "sku must not be empty");
  require_rejected(root, register_product{"SKU-PEN", -1}, "initial_stock must not be negative, got -1");
  require_accepted(root, register_product{"SKU-PEN", 10});
  CHECK(root.version() == 1);
  CHECK(root.exists());
  CHECK(root.state().sku() == "SKU-PEN");
  CHECK(root.state().on_hand() == 10);
  CHECK(root.state().reserved() == 0);
  CHECK(root.state().available() == 10);
  require_rejected(root, register_product{"SKU-PEN", 3}, "product already exists");

  aggregate_root<product> empty{"ink"};
  require_accepted(empty, register_product{"SKU-INK", 0});
  CHECK(empty.state().available() == 0);
}

TEST_CASE("inventory: every command but register is rejected on a product that does not exist", "[inventory]") {
  aggregate_root<product> root{"pen"};
  for (const product::command& cmd : std::vector<product::command>{
         add_stock{1}, reserve{"order-1", 1}, release{"order-1"}, commit_reservation{"order-1"}})
    require_rejected(root, cmd, "product does not exist");
}

TEST_CASE("inventory: add_stock takes a positive quantity and cannot overflow", "[inventory]") {
  auto root = stocked(10);
  require_rejected(root, add_stock{0}, "quantity must be positive, got 0");
  require_rejected(root, add_stock{-4}, "quantity must be positive, got -4");
  require_accepted(root, add_stock{5});
  CHECK(root.state().on_hand() == 15);
  require_rejected(root, add_stock{std::numeric_limits<std::int64_t>::max() - 14}, "stock would overflow");
  require_accepted(root, add_stock{std::numeric_limits<std::int64_t>::max() - 15});
  CHECK(root.state().on_hand() == std::numeric_limits<std::int64_t>::max());
}

TEST_CASE("inventory: reserve holds back available units for an order", "[inventory]") {
  auto root = stocked(10);
  require_accepted(root, reserve{"order-1", 4});
  require_accepted(root, reserve{"order-2", 6});
  CHECK(root.state().on_hand() == 10);
  CHECK(root.state().reserved() == 10);
  CHECK(root.state().available() == 0);
  CHECK(root.state().reservation_for("order-1") == 4);
  CHECK(root.state().reservation_for("order-2") == 6);
  CHECK(root.state().reservation_for("order-3") == 0);
  CHECK(root.state().reservations().size() == 2);
}

TEST_CASE("inventory: reserving more than is available is rejected", "[inventory]") {
  auto root = stocked(10);
  require_rejected(root, reserve{"order-1", 11}, "not enough stock: 11 requested, 10 available");
  require_accepted(root, reserve{"order-1", 7});
  require_rejected(root, reserve{"order-2", 4}, "not enough stock: 4 requested, 3 available");
  require_accepted(root, add_stock{1});
  require_accepted(root, reserve{"order-2", 4});
  CHECK(root.state().available() == 0);
}

TEST_CASE("inventory: an order holds at most one reservation", "[inventory]") {
  auto root = stocked(10);
  require_accepted(root, reserve{"order-1", 2});
  require_rejected(root, reserve{"order-1", 2}, "order 'order-1' already holds a reservation");
  CHECK(root.state().reserved() == 2);
}

TEST_CASE("inventory: reserve validates order id and quantity", "[inventory]") {
  auto root = stocked(10);
  require_rejected(root, reserve{"", 1}, "order_id must not be empty");
  require_rejected(root, reserve{"order-1", 0}, "quantity must be positive, got 0");
  require_rejected(root, reserve{"order-1", -1}, "quantity must be positive, got -1");
}

TEST_CASE("inventory: release gives an order's reservation back", "[inventory]") {
  auto root = stocked(10);
  require_accepted(root, reserve{"order-1", 4});
  require_accepted(root, reserve{"order-2", 3});
  const auto events = require_accepted(root, release{"order-1"});
  CHECK(events == std::vector<product::event>{reservation_released{"order-1", 4}});
  CHECK(root.state().on_hand() == 10);
  CHECK(root.state().reserved() == 3);
  CHECK(root.state().available() == 7);
  CHECK(root.state().reservation_for("order-1") == 0);
  require_rejected(root, release{"order-1"}, "order 'order-1' holds no reservation");
  // Released, the order may reserve again.
  require_accepted(root, reserve{"order-1", 7});
}

TEST_CASE("inventory: commit_reservation takes the reserved units out of stock", "[inventory]") {
  auto root = stocked(10);
  require_accepted(root, reserve{"order-1", 4});
  require_accepted(root, reserve{"order-2", 3});
  const auto events = require_accepted(root, commit_reservation{"order-1"});
  CHECK(events == std::vector<product::event>{reservation_committed{"order-1", 4}});
  CHECK(root.state().on_hand() == 6);
  CHECK(root.state().reserved() == 3);
  CHECK(root.state().available() == 3);
  require_rejected(root, commit_reservation{"order-1"}, "order 'order-1' holds no reservation");
  require_rejected(root, release{"order-1"}, "order 'order-1' holds no reservation");
}

TEST_CASE("inventory: stock never goes negative over a sequence of moves", "[inventory]") {
  auto root = stocked(5);
  require_accepted(root, reserve{"order-1", 5});
  require_accepted(root, commit_reservation{"order-1"});
  CHECK(root.state().on_hand() == 0);
  require_rejected(root, reserve{"order-2", 1}, "not enough stock: 1 requested, 0 available");
  CHECK(root.state().available() == 0);
}

TEST_CASE("inventory: a snapshot restores the whole state", "[inventory]") {
  auto root = stocked(10);
  require_accepted(root, reserve{"order-1", 4});
  require_accepted(root, reserve{"order-2", 3});
  require_accepted(root, commit_reservation{"order-2"});
  auto restored = cairn::testing::restored_from_snapshot(root);
  CHECK(restored.version() == root.version());
  CHECK(restored.state() == root.state());
  require_rejected(restored, reserve{"order-1", 1}, "already holds a reservation");
  CHECK(require_accepted(restored, release{"order-1"}) == require_accepted(root, release{"order-1"}));
}
