#include "domain_testing.hpp"

#include <cairn/domains/inventory.hpp>
#include <cairn/domains/order.hpp>
#include <cairn/domains/order_fulfillment.hpp>
#include <cairn/process_manager.hpp>
#include <cairn/saga.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

using namespace cairn::domains::fulfillment;
using cairn::aggregate_root;
using cairn::money;
using cairn::testing::require_accepted;
using cairn::testing::require_rejected;
namespace inventory = cairn::domains::inventory;
namespace orders = cairn::domains::orders;

namespace {

static_assert(cairn::process_manager<order_fulfillment>);
static_assert(cairn::snapshottable<order_fulfillment>);
static_assert(cairn::testing::all_message_types<order_fulfillment::command>);
static_assert(cairn::testing::all_message_types<order_fulfillment::event>);
static_assert(cairn::creates_aggregate_v<start_fulfillment>);
static_assert(!cairn::creates_aggregate_v<cairn::saga_result>);
static_assert(cairn::incremental_outbox<order_fulfillment>);
using cairn::saga_result;
using step_answered = cairn::step_answered<order_fulfillment>;

using saga_root = aggregate_root<order_fulfillment>;
using out = cairn::outgoing_command<order_fulfillment::outgoing>;
using outbox_t = std::vector<out>;
using events_t = std::vector<order_fulfillment::event>;

saga_root started(std::vector<fulfillment_line> lines) {
  saga_root root{"order-1"};
  require_accepted(root, start_fulfillment{"order-1", std::move(lines)});
  return root;
}

/// Records a step's answer through result_command and returns the events it caused, after checking that the
/// framework recorded the answer itself first (nothing at all for a repeat).
events_t answer(saga_root& root, std::uint64_t step, bool accepted, std::string_view message = {}) {
  auto events = require_accepted(root, order_fulfillment::result_command(step, accepted, message));
  if (events.empty())
    return events;
  CHECK(events.front() == order_fulfillment::event{step_answered{step, accepted, std::string{message}}});
  return events_t(events.begin() + 1, events.end());
}

/// Records an answer that must record nothing.
void answer_ignored(saga_root& root, std::uint64_t step, bool accepted, std::string_view message = {}) {
  const auto state_before = root.state();
  const auto version_before = root.version();
  CHECK(answer(root, step, accepted, message).empty());
  CHECK(root.state() == state_before);
  CHECK(root.version() == version_before);
}

out reserve(std::uint64_t step, std::string product, std::int64_t quantity) {
  return out{step, std::move(product), inventory::reserve{"order-1", quantity}};
}

out release(std::uint64_t step, std::string product) {
  return out{step, std::move(product), inventory::release{"order-1"}};
}

out commit(std::uint64_t step, std::string product) {
  return out{step, std::move(product), inventory::commit_reservation{"order-1"}};
}

out confirm(std::uint64_t step) {
  return out{step, "order-1", orders::confirm_order{}};
}

out reject_order(std::uint64_t step, std::string reason) {
  return out{step, "order-1", orders::reject_order{std::move(reason)}};
}

/// Checks that a snapshot and a replay of `log` both rebuild the root.
void check_rebuilt(const saga_root& root, const events_t& log) {
  const auto restored = cairn::testing::restored_from_snapshot(root);
  CHECK(restored.version() == root.version());
  CHECK(restored.state() == root.state());
  CHECK(restored.state().outbox() == root.state().outbox());
  saga_root replayed{root.id()};
  replayed.apply(log);
  CHECK(replayed.version() == root.version());
  CHECK(replayed.state() == root.state());
}

/// The saga's targets, run in memory: the order and the products as aggregate_roots. A target remembers the
/// (step) of every command it took, as the runtime's dedup does, and answers a repeat with its first answer; a
/// command to a product that does not exist is refused "not_found", as the runtime refuses it.
struct targets {
  aggregate_root<orders::order> order{"order-1"};
  std::map<std::string, aggregate_root<inventory::product>, std::less<>> products;
  std::map<std::uint64_t, std::pair<bool, std::string>> answered;

  void add_product(const std::string& id, std::int64_t stock) {
    auto& p = products.emplace(id, aggregate_root<inventory::product>{id}).first->second;
    require_accepted(p, inventory::register_product{"SKU-" + id, stock});
  }

  template <class Root>
  static std::pair<bool, std::string> run(Root& root, const typename Root::command& cmd) {
    auto outcome = root.decide(cmd);
    if (!outcome)
      return {false, outcome.error().message};
    root.apply(outcome.events());
    return {true, {}};
  }

  std::pair<bool, std::string> send(const out& o) {
    if (const auto it = answered.find(o.step); it != answered.end())
      return it->second;
    auto result = std::visit(
      [&]<class C>(const C& cmd) -> std::pair<bool, std::string> {
        if constexpr (std::is_same_v<C, orders::confirm_order> || std::is_same_v<C, orders::reject_order>) {
          CHECK(o.target_id == order.id());
          return run(order, cmd);
        } else {
          const auto it = products.find(o.target_id);
          if (it == products.end())
            return {false, "not_found: product '" + o.target_id + "' does not exist"};
          return run(it->second, cmd);
        }
      },
      o.command);
    answered.emplace(o.step, result);
    return result;
  }

  /// Sends every due command and records the answers, until nothing is due; returns the rounds taken.
  int run_to_end(saga_root& saga) {
    int rounds = 0;
    while (!saga.state().outbox().empty() && rounds < 10) {
      ++rounds;
      for (const auto& o : saga.state().outbox()) {
        const auto [accepted, message] = send(o);
        answer(saga, o.step, accepted, message);
      }
    }
    return rounds;
  }
};

/// A submitted order (lines as given) routed into a started saga.
saga_root start_from(targets& world, const std::vector<orders::add_line>& lines) {
  require_accepted(world.order, orders::create_order{"customer-1"});
  for (const auto& line : lines)
    require_accepted(world.order, line);
  const auto events = require_accepted(world.order, orders::submit_order{});
  REQUIRE(events.size() == 1);
  const auto routed =
    order_fulfillment::route(std::get<orders::order_submitted>(events.front()), world.order.id());
  REQUIRE(routed.has_value());
  saga_root saga{routed->id};
  require_accepted(saga, routed->command);
  return saga;
}

money price(std::string_view text) {
  return money::parse(text).value();
}

} // namespace

TEST_CASE("fulfillment: names its events and versions their schemas", "[fulfillment]") {
  // The domain's events in its own name space, the framework's in the saga type's.
  CHECK(cairn::testing::event_types(std::type_identity<order_fulfillment::event>{}) ==
        std::vector<std::string_view>{"fulfillment.started", "fulfillment.confirmation_scheduled",
                                      "fulfillment.release_scheduled", "fulfillment.rejection_scheduled",
                                      "fulfillment.confirmed", "fulfillment.rejected",
                                      "order_fulfillment.step_answered"});
  // 2: the step numbers left the events for the framework (older records are upcast, see the shop).
  CHECK(cairn::testing::schema_versions(std::type_identity<order_fulfillment::event>{}) ==
        std::vector<std::uint32_t>{2, 2, 2, 2, 1, 1, 1});
  CHECK(order_fulfillment::snapshot_version == 3);
  CHECK(order_fulfillment::type_name == "order_fulfillment");
}

TEST_CASE("fulfillment: every command and event survives inspect", "[fulfillment]") {
  cairn::testing::check_round_trips(std::vector<order_fulfillment::command>{
    start_fulfillment{"order-1", {{"pen", 2}, {"ink", 1}}}, saga_result{3, true, "ok"}});
  cairn::testing::check_round_trips(std::vector<order_fulfillment::event>{
    fulfillment_started{"order-1", {{"pen", 2}, {"ink", 1}}}, step_answered{2, false, "not enough stock"},
    confirmation_scheduled{{"pen", "ink"}}, release_scheduled{{"pen"}, "no ink"}, rejection_scheduled{"no ink"},
    fulfillment_confirmed{}, fulfillment_rejected{"no ink"}});
}

TEST_CASE("fulfillment: a submitted order routes to the saga of the same id, with its lines", "[fulfillment]") {
  const orders::order_submitted submitted{
    {{"pen", "Pen", 2, price("1.50")}, {"ink", "Ink", 1, price("4.00")}, {"pen", "Pen", 3, price("1.40")}}};
  const auto routed = order_fulfillment::route(submitted, "order-9");
  REQUIRE(routed.has_value());
  CHECK(routed->id == "order-9");
  CHECK(routed->command ==
        order_fulfillment::command{start_fulfillment{"order-9", {{"pen", 2}, {"ink", 1}, {"pen", 3}}}});
}

TEST_CASE("fulfillment: result_command is the framework's saga_result", "[fulfillment]") {
  CHECK(order_fulfillment::result_command(7, true, "") == order_fulfillment::command{saga_result{7, true, ""}});
  CHECK(order_fulfillment::result_command(8, false, "no") ==
        order_fulfillment::command{saga_result{8, false, "no"}});
}

TEST_CASE("fulfillment: start validates the order and the lines", "[fulfillment]") {
  saga_root root{"order-1"};
  require_rejected(root, start_fulfillment{"", {{"pen", 1}}}, "order_id must not be empty");
  require_rejected(root, start_fulfillment{"order-1", {}}, "lines must not be empty");
  require_rejected(root, start_fulfillment{"order-1", {{"pen", 1}, {"", 1}}}, "product_id must not be empty");
  require_rejected(root, start_fulfillment{"order-1", {{"pen", 0}}},
                   "quantity of product 'pen' must be positive, got 0");
  require_rejected(root, start_fulfillment{"order-1", {{"pen", -2}}}, "got -2");
  CHECK_FALSE(root.exists());
  CHECK(root.state().outbox().empty());
  require_rejected(root, saga_result{1, true, ""}, "fulfillment does not exist");
}

TEST_CASE("fulfillment: start reserves each product once, in steps 1..N", "[fulfillment]") {
  saga_root root{"order-1"};
  const auto events = require_accepted(root, start_fulfillment{"order-1", {{"pen", 2}, {"ink", 1}, {"pen", 3}}});
  CHECK(events == events_t{fulfillment_started{"order-1", {{"pen", 5}, {"ink", 1}}}});
  CHECK(root.exists());
  CHECK(root.state().started());
  CHECK(root.state().order_id() == "order-1");
  CHECK(root.state().status() == fulfillment_status::reserving);
  CHECK_FALSE(root.state().done());
  CHECK(root.state().outbox() == outbox_t{reserve(1, "pen", 5), reserve(2, "ink", 1)});
  REQUIRE(root.state().steps().size() == 2);
  CHECK(root.state().steps()[0] == fulfillment_step{1, step_kind::reserve, "pen", 5, step_outcome::pending, ""});
  require_rejected(root, start_fulfillment{"order-1", {{"pen", 1}}}, "fulfillment of order 'order-1' already started");
}

TEST_CASE("fulfillment: every reservation accepted commits them and confirms the order", "[fulfillment]") {
  auto root = started({{"pen", 2}, {"ink", 1}});
  events_t log{fulfillment_started{"order-1", {{"pen", 2}, {"ink", 1}}}};
  auto record = [&](std::uint64_t step, bool accepted, std::string_view message = {}) {
    auto events = answer(root, step, accepted, message);
    log.push_back(step_answered{step, accepted, std::string{message}});
    log.insert(log.end(), events.begin(), events.end());
    return events;
  };

  CHECK(record(2, true).empty());
  CHECK(root.state().status() == fulfillment_status::reserving);
  CHECK(root.state().outbox() == outbox_t{reserve(1, "pen", 2)});
  check_rebuilt(root, log);

  CHECK(record(1, true) == events_t{confirmation_scheduled{{"pen", "ink"}}});
  CHECK(root.state().status() == fulfillment_status::confirming);
  CHECK(root.state().outbox() == outbox_t{commit(3, "pen"), commit(4, "ink"), confirm(5)});
  check_rebuilt(root, log);

  CHECK(record(5, true).empty());
  CHECK(root.state().outbox() == outbox_t{commit(3, "pen"), commit(4, "ink")});
  CHECK(record(3, true).empty());
  CHECK(root.state().outbox() == outbox_t{commit(4, "ink")});
  CHECK_FALSE(root.state().done());
  CHECK(record(4, true) == events_t{fulfillment_confirmed{}});
  CHECK(root.state().status() == fulfillment_status::confirmed);
  CHECK(root.state().done());
  CHECK(root.state().outbox().empty());
  CHECK(root.state().rejection_reason().empty());
  CHECK(root.state().steps().size() == 5);
  check_rebuilt(root, log);
}

TEST_CASE("fulfillment: a refusal waits for every reservation, then releases the accepted ones and rejects",
          "[fulfillment]") {
  auto root = started({{"pen", 2}, {"ink", 1}, {"pad", 4}});
  events_t log{fulfillment_started{"order-1", {{"pen", 2}, {"ink", 1}, {"pad", 4}}}};
  auto record = [&](std::uint64_t step, bool accepted, std::string_view message = {}) {
    auto events = answer(root, step, accepted, message);
    log.push_back(step_answered{step, accepted, std::string{message}});
    log.insert(log.end(), events.begin(), events.end());
    return events;
  };

  CHECK(record(1, true).empty());
  CHECK(record(2, false, "not enough stock: 1 requested, 0 available").empty());
  // Step 3 is still out: nothing is decided yet.
  CHECK(root.state().status() == fulfillment_status::reserving);
  CHECK(root.state().outbox() == outbox_t{reserve(3, "pad", 4)});
  check_rebuilt(root, log);

  // The late acceptance is released too.
  const std::string reason = "product 'ink' refused the reservation: not enough stock: 1 requested, 0 available";
  CHECK(record(3, true) == events_t{release_scheduled{{"pen", "pad"}, reason}});
  CHECK(root.state().status() == fulfillment_status::releasing);
  CHECK(root.state().rejection_reason() == reason);
  CHECK(root.state().outbox() == outbox_t{release(4, "pen"), release(5, "pad")});
  check_rebuilt(root, log);

  CHECK(record(5, true).empty());
  CHECK(root.state().outbox() == outbox_t{release(4, "pen")});
  // The order is rejected only after every release is answered.
  CHECK(record(4, true) == events_t{rejection_scheduled{reason}});
  CHECK(root.state().status() == fulfillment_status::rejecting);
  CHECK(root.state().outbox() == outbox_t{reject_order(6, reason)});
  check_rebuilt(root, log);

  CHECK(record(6, true) == events_t{fulfillment_rejected{reason}});
  CHECK(root.state().status() == fulfillment_status::rejected);
  CHECK(root.state().done());
  CHECK(root.state().outbox().empty());
  check_rebuilt(root, log);
}

TEST_CASE("fulfillment: with every reservation refused, the order is rejected at once, naming each product",
          "[fulfillment]") {
  auto root = started({{"pen", 2}, {"ink", 1}});
  answer(root, 1, false, "product does not exist");
  const std::string reason = "product 'pen' refused the reservation: product does not exist; "
                             "product 'ink' refused the reservation";
  CHECK(answer(root, 2, false) == events_t{rejection_scheduled{reason}});
  CHECK(root.state().status() == fulfillment_status::rejecting);
  CHECK(root.state().outbox() == outbox_t{reject_order(3, reason)});
  CHECK(answer(root, 3, true) == events_t{fulfillment_rejected{reason}});
  CHECK(root.state().rejection_reason() == reason);
}

TEST_CASE("fulfillment: a refused release, commit, confirm or reject is recorded and the saga goes on",
          "[fulfillment]") {
  SECTION("confirm path") {
    auto root = started({{"pen", 2}});
    answer(root, 1, true);
    CHECK(root.state().outbox() == outbox_t{commit(2, "pen"), confirm(3)});
    CHECK(answer(root, 2, false, "order 'order-1' holds no reservation").empty());
    CHECK(root.state().outbox() == outbox_t{confirm(3)});
    CHECK(answer(root, 3, false, "order is rejected, not submitted") == events_t{fulfillment_confirmed{}});
    CHECK(root.state().done());
    CHECK(root.state().outbox().empty());
    CHECK(root.state().steps()[1].outcome == step_outcome::refused);
    CHECK(root.state().steps()[1].message == "order 'order-1' holds no reservation");
    CHECK(root.state().steps()[2].outcome == step_outcome::refused);
  }
  SECTION("reject path") {
    auto root = started({{"pen", 2}, {"ink", 1}});
    answer(root, 1, true);
    answer(root, 2, false, "not enough stock");
    CHECK(root.state().outbox() == outbox_t{release(3, "pen")});
    const std::string reason = "product 'ink' refused the reservation: not enough stock";
    CHECK(answer(root, 3, false, "order 'order-1' holds no reservation") == events_t{rejection_scheduled{reason}});
    CHECK(root.state().outbox() == outbox_t{reject_order(4, reason)});
    CHECK(answer(root, 4, false, "order is confirmed, not submitted") == events_t{fulfillment_rejected{reason}});
    CHECK(root.state().status() == fulfillment_status::rejected);
    CHECK(root.state().outbox().empty());
  }
}

TEST_CASE("fulfillment: a repeated result or a result for an unknown step records nothing", "[fulfillment]") {
  auto root = started({{"pen", 2}, {"ink", 1}});
  answer_ignored(root, 0, true);
  answer_ignored(root, 3, true);
  answer_ignored(root, 99, false, "no");
  answer(root, 1, true);
  // A repeat, even one that says otherwise, keeps the first answer.
  answer_ignored(root, 1, true);
  answer_ignored(root, 1, false, "late refusal");
  CHECK(root.state().steps()[0].outcome == step_outcome::accepted);
  CHECK(root.state().outbox() == outbox_t{reserve(2, "ink", 1)});
  answer(root, 2, true);
  answer_ignored(root, 2, true);
  answer_ignored(root, 6, true); // the confirm is step 5
  for (std::uint64_t step : {3, 4, 5})
    answer(root, step, true);
  REQUIRE(root.state().done());
  // After the end: every result is a repeat or unknown; a new start is rejected.
  for (std::uint64_t step : {1, 2, 3, 4, 5, 6})
    answer_ignored(root, step, step % 2 == 0, "again");
  require_rejected(root, start_fulfillment{"order-1", {{"pen", 1}}}, "already started");
  CHECK(root.state().outbox().empty());
}

TEST_CASE("fulfillment: a product quantity that overflows rejects the order instead of refusing the start",
          "[fulfillment]") {
  constexpr auto max = std::numeric_limits<std::int64_t>::max();
  saga_root root{"order-1"};
  const auto events = require_accepted(root, start_fulfillment{"order-1", {{"ink", 1}, {"pen", max}, {"pen", 1}}});
  REQUIRE(events.size() == 2);
  CHECK(events[0] == order_fulfillment::event{fulfillment_started{"order-1", {}}});
  const auto& scheduled = std::get<rejection_scheduled>(events[1]);
  CHECK_THAT(scheduled.reason, Catch::Matchers::Contains("quantity of product 'pen' overflows"));
  CHECK(root.state().status() == fulfillment_status::rejecting);
  CHECK(root.state().outbox() == outbox_t{reject_order(1, scheduled.reason)});
  CHECK(answer(root, 1, true) == events_t{fulfillment_rejected{scheduled.reason}});
  check_rebuilt(root,
                events_t{events[0], events[1], step_answered{1, true, ""}, fulfillment_rejected{scheduled.reason}});
}

TEST_CASE("fulfillment: a snapshot restores the whole state at every point", "[fulfillment]") {
  auto root = started({{"pen", 2}, {"ink", 1}});
  auto check = [&] {
    auto restored = cairn::testing::restored_from_snapshot(root);
    CHECK(restored.state() == root.state());
    CHECK(restored.version() == root.version());
    CHECK(restored.state().outbox() == root.state().outbox());
    return restored;
  };
  check();
  answer(root, 2, false, "not enough stock");
  auto restored = check();
  // The restored saga decides as the original does.
  CHECK(answer(restored, 1, true) == answer(root, 1, true));
  check();
  answer(root, 3, true);
  answer(root, 4, true);
  CHECK(root.state().done());
  check();
}

TEST_CASE("fulfillment: run against the real order and products, stock is committed and the order confirmed",
          "[fulfillment]") {
  targets world;
  world.add_product("pen", 10);
  world.add_product("ink", 3);
  auto saga = start_from(world, {{"pen", "Pen", 2, price("1.50")}, {"ink", "Ink", 1, price("4.00")},
                                 {"pen", "Pen", 3, price("1.40")}});
  CHECK(saga.state().outbox() == outbox_t{reserve(1, "pen", 5), reserve(2, "ink", 1)});
  CHECK(world.run_to_end(saga) == 2);
  CHECK(saga.state().status() == fulfillment_status::confirmed);
  CHECK(world.order.state().status() == orders::order_status::confirmed);
  CHECK(world.products.at("pen").state().on_hand() == 5);
  CHECK(world.products.at("pen").state().reserved() == 0);
  CHECK(world.products.at("ink").state().on_hand() == 2);
  for (const auto& s : saga.state().steps())
    CHECK(s.outcome == step_outcome::accepted);
}

TEST_CASE("fulfillment: run against the real order and products, a shortage releases the stock and rejects",
          "[fulfillment]") {
  targets world;
  world.add_product("pen", 10);
  world.add_product("ink", 3);
  world.add_product("pad", 1);
  auto saga = start_from(world, {{"pen", "Pen", 2, price("1.50")}, {"pad", "Pad", 2, price("2.00")},
                                 {"ink", "Ink", 1, price("4.00")}, {"eraser", "Eraser", 1, price("0.50")}});
  CHECK(world.run_to_end(saga) == 3); // reserve, release, reject
  CHECK(saga.state().status() == fulfillment_status::rejected);
  CHECK(world.order.state().status() == orders::order_status::rejected);
  CHECK(world.order.state().rejection_reason() ==
        "product 'pad' refused the reservation: not enough stock: 2 requested, 1 available; "
        "product 'eraser' refused the reservation: not_found: product 'eraser' does not exist");
  for (const auto& [id, product] : world.products) {
    INFO(id);
    CHECK(product.state().reserved() == 0);
    CHECK(product.state().available() == product.state().on_hand());
  }
  CHECK(world.products.at("pen").state().on_hand() == 10);
}

TEST_CASE("fulfillment: a crash before results are recorded re-sends the outbox, and each step takes effect once",
          "[fulfillment]") {
  targets world;
  world.add_product("pen", 10);
  world.add_product("ink", 3);
  auto saga = start_from(world, {{"pen", "Pen", 2, price("1.50")}, {"ink", "Ink", 1, price("4.00")}});
  // The commands are sent and taken, but the saga crashes before recording any answer: it is rebuilt from its
  // snapshot (its committed state) and its outbox is sent again.
  for (const auto& o : saga.state().outbox())
    world.send(o);
  auto recovered = cairn::testing::restored_from_snapshot(saga);
  CHECK(recovered.state().outbox() == saga.state().outbox());
  CHECK(world.run_to_end(recovered) == 2);
  CHECK(recovered.state().status() == fulfillment_status::confirmed);
  CHECK(world.products.at("pen").state().on_hand() == 8);
  CHECK(world.products.at("ink").state().on_hand() == 2);
}

TEST_CASE("fulfillment: a product's 'already holds a reservation' for this order counts as accepted",
          "[fulfillment]") {
  auto root = started({{"pen", 2}, {"ink", 1}});
  // The framework records the answer as given; the saga counts it as accepted.
  CHECK(answer(root, 1, false, "order 'order-1' already holds a reservation").empty());
  CHECK(root.state().steps()[0].outcome == step_outcome::accepted);
  // Another order's is a refusal.
  CHECK(answer(root, 2, false, "order 'order-2' already holds a reservation") ==
        events_t{release_scheduled{{"pen"},
                                   "product 'ink' refused the reservation: order 'order-2' already holds a "
                                   "reservation"}});
  CHECK(root.state().steps()[1].outcome == step_outcome::refused);
  CHECK(root.state().outbox() == outbox_t{release(3, "pen")});
}

TEST_CASE("fulfillment: a reserve re-sent without the runtime's dedup is caught by the product's own rule",
          "[fulfillment]") {
  targets world;
  world.add_product("pen", 10);
  auto saga = start_from(world, {{"pen", "Pen", 2, price("1.50")}});
  world.send(saga.state().outbox().front());
  auto recovered = cairn::testing::restored_from_snapshot(saga);
  world.answered.clear(); // no dedup: the product sees the reserve again
  CHECK(world.run_to_end(recovered) == 2);
  CHECK(recovered.state().status() == fulfillment_status::confirmed);
  CHECK(world.products.at("pen").state().on_hand() == 8);
  CHECK(world.products.at("pen").state().reserved() == 0);
}

TEST_CASE("fulfillment: status and step kind names", "[fulfillment]") {
  CHECK(to_string(fulfillment_status::reserving) == "reserving");
  CHECK(to_string(fulfillment_status::confirming) == "confirming");
  CHECK(to_string(fulfillment_status::releasing) == "releasing");
  CHECK(to_string(fulfillment_status::rejecting) == "rejecting");
  CHECK(to_string(fulfillment_status::confirmed) == "confirmed");
  CHECK(to_string(fulfillment_status::rejected) == "rejected");
  CHECK(to_string(step_kind::reserve) == "reserve");
  CHECK(to_string(step_kind::release) == "release");
  CHECK(to_string(step_kind::commit) == "commit");
  CHECK(to_string(step_kind::confirm) == "confirm");
  CHECK(to_string(step_kind::reject) == "reject");
}
