#include "domain_testing.hpp"

#include <cairn/domains/example_aggregate.hpp>

#include <catch2/catch.hpp>

#include <vector>

using namespace cairn::domains::examples;
using cairn::aggregate_root;
using cairn::testing::require_accepted;
using cairn::testing::require_rejected;

namespace {

static_assert(cairn::aggregate<example_aggregate>);
static_assert(cairn::snapshottable<example_aggregate>);
static_assert(cairn::testing::all_message_types<example_aggregate::command>);
static_assert(cairn::testing::all_message_types<example_aggregate::event>);
static_assert(cairn::creates_aggregate_v<create_aggregate>);
static_assert(!cairn::creates_aggregate_v<create_example> && !cairn::creates_aggregate_v<discard>);

aggregate_root<example_aggregate> created() {
  aggregate_root<example_aggregate> root{"example-1"};
  require_accepted(root, create_aggregate{});
  return root;
}

} // namespace

TEST_CASE("example_aggregate: names its events and versions their schemas", "[example_aggregate]") {
  cairn::testing::check_event_types<example_aggregate>();
  for (auto version : cairn::testing::schema_versions(std::type_identity<example_aggregate::event>{}))
    CHECK(version == 1);
  CHECK(example_aggregate::snapshot_version == 1);
}

TEST_CASE("example_aggregate: every command and event survives inspect", "[example_aggregate]") {
  cairn::testing::check_round_trips(
    std::vector<example_aggregate::command>{create_aggregate{}, create_example{}, create_examples{3}, discard{}});
  cairn::testing::check_round_trips(
    std::vector<example_aggregate::event>{aggregate_created{}, example_created{42}, aggregate_discarded{}});
}

TEST_CASE("example_aggregate: is created once, with no examples", "[example_aggregate]") {
  aggregate_root<example_aggregate> root{"example-1"};
  CHECK_FALSE(root.exists());
  require_accepted(root, create_aggregate{});
  CHECK(root.exists());
  CHECK(root.version() == 1);
  CHECK(root.state().count_examples() == 0);
  CHECK_FALSE(root.state().discarded());
  require_rejected(root, create_aggregate{}, "aggregate already exists");
}

TEST_CASE("example_aggregate: commands on an aggregate that does not exist are rejected", "[example_aggregate]") {
  aggregate_root<example_aggregate> root{"example-1"};
  for (const example_aggregate::command& cmd :
       std::vector<example_aggregate::command>{create_example{}, create_examples{2}, discard{}})
    require_rejected(root, cmd, "aggregate does not exist");
}

TEST_CASE("example_aggregate: creates examples inside itself", "[example_aggregate]") {
  auto root = created();
  const auto one = require_accepted(root, create_example{});
  CHECK(one == std::vector<example_aggregate::event>{example_created{1}});
  CHECK(root.state().count_examples() == 1);
  require_accepted(root, create_example{});
  CHECK(root.state().count_examples() == 2);
  CHECK(root.version() == 3);
}

TEST_CASE("example_aggregate: creating two examples in one command records two events", "[example_aggregate]") {
  auto root = created();
  require_accepted(root, create_example{});
  const auto events = root.decide(create_examples{2});
  REQUIRE(events.accepted());
  CHECK(events.events() == std::vector<example_aggregate::event>{example_created{2}, example_created{3}});
  CHECK(root.state().count_examples() == 1);
  root.apply(events.events());
  CHECK(root.state().count_examples() == 3);
  CHECK(root.version() == 4);
  const auto examples = root.state().examples();
  REQUIRE(examples.size() == 3);
  CHECK(examples[0].id == 1);
  CHECK(examples[1].id == 2);
  CHECK(examples[2].id == 3);
}

TEST_CASE("example_aggregate: the number of examples per command is bounded", "[example_aggregate]") {
  auto root = created();
  require_rejected(root, create_examples{0}, "count must be between 1 and 100, got 0");
  require_rejected(root, create_examples{-1}, "got -1");
  require_rejected(root, create_examples{max_examples_per_command + 1}, "got 101");
  CHECK(require_accepted(root, create_examples{max_examples_per_command}).size() == 100);
  CHECK(root.state().count_examples() == 100);
}

TEST_CASE("example_aggregate: a discarded aggregate takes no further commands", "[example_aggregate]") {
  auto root = created();
  require_accepted(root, create_examples{2});
  require_accepted(root, discard{});
  CHECK(root.state().discarded());
  CHECK_FALSE(root.exists());
  CHECK(root.version() == 4);
  for (const example_aggregate::command& cmd :
       std::vector<example_aggregate::command>{create_example{}, create_examples{2}, discard{}})
    require_rejected(root, cmd, "aggregate is discarded");
  require_rejected(root, create_aggregate{}, "aggregate already exists");
  CHECK(root.state().count_examples() == 2);
}

TEST_CASE("example_aggregate: a snapshot restores the whole state", "[example_aggregate]") {
  auto root = created();
  require_accepted(root, create_examples{3});
  auto restored = cairn::testing::restored_from_snapshot(root);
  CHECK(restored.version() == root.version());
  CHECK(restored.state() == root.state());
  CHECK(require_accepted(restored, create_example{}) == std::vector<example_aggregate::event>{example_created{4}});

  require_accepted(root, discard{});
  const auto discarded = cairn::testing::restored_from_snapshot(root);
  CHECK(discarded.state().discarded());
  CHECK_FALSE(discarded.exists());
}
