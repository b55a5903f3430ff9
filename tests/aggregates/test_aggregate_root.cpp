#include "domain_testing.hpp"

#include <cairn/aggregate.hpp>
#include <cairn/domains/account.hpp>
#include <cairn/domains/example_aggregate.hpp>
#include <cairn/domains/inventory.hpp>
#include <cairn/domains/order.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace {

// A minimal aggregate that exercises aggregate_root without any domain rule in the way: a counter that can be
// created, incremented (one event per step) and closed (which discards it). It has no snapshot_version.
struct open_counter {
  static constexpr bool creates_aggregate = true;
  friend bool operator==(const open_counter&, const open_counter&) = default;
};

struct increment {
  std::int64_t steps = 1;
  friend bool operator==(const increment&, const increment&) = default;
};

struct close_counter {
  friend bool operator==(const close_counter&, const close_counter&) = default;
};

struct counter_opened {
  static constexpr std::string_view event_type = "counter.opened";
  static constexpr std::uint32_t schema_version = 1;
  friend bool operator==(const counter_opened&, const counter_opened&) = default;
};

struct counter_incremented {
  static constexpr std::string_view event_type = "counter.incremented";
  static constexpr std::uint32_t schema_version = 1;
  friend bool operator==(const counter_incremented&, const counter_incremented&) = default;
};

struct counter_closed {
  static constexpr std::string_view event_type = "counter.closed";
  static constexpr std::uint32_t schema_version = 1;
  friend bool operator==(const counter_closed&, const counter_closed&) = default;
};

class counter {
public:
  using command = std::variant<open_counter, increment, close_counter>;
  using event = std::variant<counter_opened, counter_incremented, counter_closed>;
  static constexpr std::string_view type_name = "counter";

  cairn::decision<event> handle(const open_counter&) const {
    if (open_)
      return cairn::reject("counter already exists");
    return event{counter_opened{}};
  }

  cairn::decision<event> handle(const increment& cmd) const {
    if (!open_ || closed_)
      return cairn::reject("counter is not open");
    if (cmd.steps < 0)
      return cairn::reject("steps must not be negative");
    return std::vector<event>(static_cast<std::size_t>(cmd.steps), counter_incremented{});
  }

  cairn::decision<event> handle(const close_counter&) const {
    if (!open_ || closed_)
      return cairn::reject("counter is not open");
    return event{counter_closed{}};
  }

  void apply(const counter_opened&) {
    open_ = true;
  }
  void apply(const counter_incremented&) {
    ++value_;
  }
  void apply(const counter_closed&) {
    closed_ = true;
  }

  std::int64_t value() const {
    return value_;
  }
  bool discarded() const {
    return closed_;
  }

  friend bool operator==(const counter&, const counter&) = default;

private:
  bool open_ = false;
  bool closed_ = false;
  std::int64_t value_ = 0;
};

using cairn::aggregate_root;
using cairn::testing::require_accepted;
using cairn::testing::require_rejected;

namespace orders = cairn::domains::orders;
namespace inventory = cairn::domains::inventory;
namespace accounts = cairn::domains::accounts;
namespace examples = cairn::domains::examples;

static_assert(cairn::aggregate<counter>);
static_assert(!cairn::snapshottable<counter>);
static_assert(!cairn::aggregate<int>);
static_assert(cairn::creates_aggregate_v<open_counter>);
static_assert(!cairn::creates_aggregate_v<increment>);

} // namespace

TEST_CASE("aggregate_root: a new root has version 0 and does not exist", "[aggregate_root]") {
  const aggregate_root<counter> root{"c-1"};
  CHECK(root.id() == "c-1");
  CHECK(root.version() == 0);
  CHECK_FALSE(root.exists());
  CHECK(root.state() == counter{});
}

TEST_CASE("aggregate_root: decide changes nothing, apply advances the version per event", "[aggregate_root]") {
  aggregate_root<counter> root{"c-1"};
  const auto created = root.decide(open_counter{});
  REQUIRE(created.accepted());
  CHECK(root.version() == 0);
  CHECK_FALSE(root.exists());

  root.apply(created.events());
  CHECK(root.version() == 1);
  CHECK(root.exists());

  const auto three = root.decide(increment{3});
  REQUIRE(three);
  CHECK(three.events().size() == 3);
  CHECK(root.state().value() == 0);
  root.apply(three.events());
  CHECK(root.state().value() == 3);
  CHECK(root.version() == 4);

  root.apply(counter::event{counter_incremented{}});
  CHECK(root.version() == 5);
}

TEST_CASE("aggregate_root: an accepted command may record no event", "[aggregate_root]") {
  aggregate_root<counter> root{"c-1"};
  require_accepted(root, open_counter{});
  const auto none = require_accepted(root, increment{0});
  CHECK(none.empty());
  CHECK(root.version() == 1);
}

TEST_CASE("aggregate_root: a rejection carries its reason and records nothing", "[aggregate_root]") {
  aggregate_root<counter> root{"c-1"};
  require_rejected(root, increment{1}, "counter is not open");
  require_accepted(root, open_counter{});
  const auto outcome = root.decide(increment{-1});
  REQUIRE_FALSE(outcome);
  CHECK(outcome.error() == cairn::rejection{"steps must not be negative"});
  CHECK(root.version() == 1);
}

TEST_CASE("aggregate_root: a discarded aggregate no longer exists", "[aggregate_root]") {
  aggregate_root<counter> root{"c-1"};
  require_accepted(root, open_counter{});
  require_accepted(root, close_counter{});
  CHECK(root.version() == 2);
  CHECK_FALSE(root.exists());
}

TEST_CASE("aggregate_root: without discarded(), an aggregate exists once it has an event", "[aggregate_root]") {
  aggregate_root<orders::order> root{"o-1"};
  CHECK_FALSE(root.exists());
  require_accepted(root, orders::create_order{"c-1"});
  CHECK(root.exists());
}

TEST_CASE("aggregate_root: restore replaces state and version", "[aggregate_root]") {
  aggregate_root<counter> source{"c-1"};
  require_accepted(source, open_counter{});
  require_accepted(source, increment{2});

  aggregate_root<counter> restored{"c-1"};
  restored.restore(source.state(), source.version());
  CHECK(restored.version() == 3);
  CHECK(restored.state() == source.state());
  require_accepted(restored, increment{1});
  CHECK(restored.state().value() == 3);
  CHECK(restored.version() == 4);
}

TEST_CASE("aggregate_root: the example domains meet the aggregate model", "[aggregate_root]") {
  STATIC_REQUIRE(cairn::snapshottable<orders::order>);
  STATIC_REQUIRE(cairn::snapshottable<inventory::product>);
  STATIC_REQUIRE(cairn::snapshottable<accounts::account>);
  STATIC_REQUIRE(cairn::snapshottable<examples::example_aggregate>);

  const std::vector<std::string_view> type_names{orders::order::type_name, inventory::product::type_name,
                                                 accounts::account::type_name,
                                                 examples::example_aggregate::type_name};
  CHECK(std::set<std::string_view>(type_names.begin(), type_names.end()).size() == type_names.size());
}

TEST_CASE("aggregate_root: event type names are unique across the example domains", "[aggregate_root]") {
  using cairn::testing::event_types;
  std::vector<std::string_view> all;
  for (const auto& names : {event_types(std::type_identity<orders::order::event>{}),
                            event_types(std::type_identity<inventory::product::event>{}),
                            event_types(std::type_identity<accounts::account::event>{}),
                            event_types(std::type_identity<examples::example_aggregate::event>{})})
    all.insert(all.end(), names.begin(), names.end());
  CHECK(all.size() == 6 + 5 + 7 + 3);
  CHECK(std::set<std::string_view>(all.begin(), all.end()).size() == all.size());
}
