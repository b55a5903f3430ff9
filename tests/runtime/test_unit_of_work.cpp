// The unit of work: working copies loaded from the runtime, commands executed on them locally, and their pending
// events saved in one atomic append through the instance (working_copy.hpp, runtime::load/save). The first test is
// the "Aggregates in DDD" chapter of the Python eventsourcing library, assertion by assertion.
#include <cairn/domains/example_aggregate.hpp>
#include <cairn/runtime/runtime.hpp>
#include <cairn/working_copy.hpp>

#include <support/temp_dir.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <variant>
#include <vector>

using namespace cairn;
using namespace cairn::domains;
using examples::example_aggregate;

namespace {

runtime_config config_in(const test::temp_dir& dir) {
  runtime_config cfg;
  cfg.data_dir = dir.sub("db");
  cfg.scheduler_threads = 2;
  return cfg;
}

/// A started runtime with the example aggregate, on RocksDB in a temporary folder.
struct started {
  started() {
    rt.register_aggregate<example_aggregate>();
    if (!rt.start())
      throw std::runtime_error{"runtime did not start"};
  }

  test::temp_dir dir;
  runtime rt{config_in(dir)};
};

/// The number of examples the repository (the committed state) holds; -1 when it has no such aggregate.
long long repository_count(runtime& rt, const std::string& id) {
  auto committed = rt.get<example_aggregate>(id);
  return committed.ok() ? static_cast<long long>(committed.root->state().count_examples()) : -1;
}

/// A copy of `id` as loaded now; fails the test when there is none.
working_copy<example_aggregate> load_copy(runtime& rt, const std::string& id) {
  auto loaded = rt.load<example_aggregate>(id);
  INFO(to_string(loaded.status));
  REQUIRE(loaded.ok());
  return std::move(*loaded.copy);
}

std::string_view type_of(const example_aggregate::event& e) {
  return std::visit([](const auto& x) { return std::string_view{std::decay_t<decltype(x)>::event_type}; }, e);
}

} // namespace

TEST_CASE("the eventsourcing DDD chapter's scenario: a working copy saved in atomic appends", "[unit_of_work]") {
  started s;
  auto& rt = s.rt;

  // 1. Create an aggregate: its "created" event is pending; save: it is in the repository, with no examples.
  auto copy = load_copy(rt, "agg-1");
  CHECK_FALSE(copy.exists());
  CHECK(copy.version() == 0);
  REQUIRE(copy.execute(examples::create_aggregate{}));
  REQUIRE(copy.pending().size() == 1);
  CHECK(std::holds_alternative<examples::aggregate_created>(copy.pending()[0]));
  CHECK(rt.get<example_aggregate>("agg-1").status.code == command_errc::not_found); // pending is invisible
  auto saved = rt.save(copy);
  REQUIRE(saved.ok());
  CHECK(saved.version == 1);
  CHECK(copy.pending().empty());
  CHECK(copy.base_version() == 1);
  CHECK(repository_count(rt, "agg-1") == 0);
  CHECK(copy.state().count_examples() == 0);

  // 2. Create an example on the copy: the copy counts one, the repository still none.
  REQUIRE(copy.execute(examples::create_example{}));
  CHECK(copy.state().count_examples() == 1);
  CHECK(repository_count(rt, "agg-1") == 0);

  // 3. Save: the repository counts one.
  REQUIRE(rt.save(copy).ok());
  CHECK(repository_count(rt, "agg-1") == 1);

  // 4. Two more examples on the copy, saved together: both "created" events in one atomic append.
  REQUIRE(copy.execute(examples::create_example{}));
  REQUIRE(copy.execute(examples::create_example{}));
  REQUIRE(copy.pending().size() == 2);
  CHECK(repository_count(rt, "agg-1") == 1);
  const auto before = rt.store().stats();
  saved = rt.save(copy);
  REQUIRE(saved.ok());
  const auto after = rt.store().stats();
  CHECK(after.appends == before.appends + 1); // one append ...
  CHECK(after.events == before.events + 2);   // ... of both events
  CHECK(saved.version == 4);
  CHECK(saved.last_position == saved.first_position + 1);
  CHECK(repository_count(rt, "agg-1") == 3);
  auto stored = rt.store().read_stream("example_aggregate-agg-1", 3, 10);
  REQUIRE(stored);
  REQUIRE(stored->size() == 2);
  CHECK((*stored)[0].position == saved.first_position);
  CHECK((*stored)[1].position == saved.last_position);

  // 5. Discard on the copy without saving: the repository still has it; save: it is no longer there.
  REQUIRE(copy.execute(examples::discard{}));
  CHECK_FALSE(copy.exists());
  CHECK(repository_count(rt, "agg-1") == 3);
  REQUIRE(rt.save(copy).ok());
  CHECK(rt.get<example_aggregate>("agg-1").status.code == command_errc::not_found);
  CHECK(rt.load<example_aggregate>("agg-1").status.code == command_errc::not_found);
}

TEST_CASE("a save after the stream moved answers conflict and writes nothing", "[unit_of_work]") {
  started s;
  auto& rt = s.rt;
  REQUIRE(rt.execute<example_aggregate>("agg", examples::create_aggregate{}).ok());

  SECTION("a command in between") {
    auto copy = load_copy(rt, "agg");
    REQUIRE(copy.execute(examples::create_examples{2}));
    REQUIRE(rt.execute<example_aggregate>("agg", examples::create_example{}).ok()); // the stream moves to 2
    const auto events_before = rt.store().stats().events;
    auto saved = rt.save(copy);
    CHECK(saved.code == command_errc::conflict);
    CHECK(saved.version == 2); // where the stream is now
    CHECK(rt.store().stats().events == events_before);
    CHECK(rt.store().stream_version("example_aggregate-agg").value() == 2);
    CHECK(repository_count(rt, "agg") == 1);
    // The copy is as it was: load again, run the command again, save again.
    CHECK(copy.base_version() == 1);
    CHECK(copy.pending().size() == 2);
    auto fresh = load_copy(rt, "agg");
    REQUIRE(fresh.execute(examples::create_examples{2}));
    REQUIRE(rt.save(fresh).ok());
    CHECK(repository_count(rt, "agg") == 3);
  }

  SECTION("another copy saved first") {
    auto first = load_copy(rt, "agg");
    auto second = load_copy(rt, "agg");
    REQUIRE(first.execute(examples::create_example{}));
    REQUIRE(second.execute(examples::create_examples{5}));
    REQUIRE(rt.save(first).ok());
    CHECK(rt.save(second).code == command_errc::conflict);
    CHECK(repository_count(rt, "agg") == 1);
  }

  SECTION("a fresh copy of an aggregate created meanwhile") {
    auto copy = load_copy(rt, "new");
    REQUIRE(copy.execute(examples::create_aggregate{}));
    REQUIRE(rt.execute<example_aggregate>("new", examples::create_aggregate{}).ok());
    REQUIRE(rt.execute<example_aggregate>("new", examples::create_example{}).ok());
    CHECK(rt.save(copy).code == command_errc::conflict);
    CHECK(rt.store().stream_version("example_aggregate-new").value() == 2);
  }
}

TEST_CASE("a rejected command on a copy changes nothing and comes back as the rejection", "[unit_of_work]") {
  started s;
  auto copy = load_copy(s.rt, "agg");

  // Like the instance: a command that does not create the aggregate is refused before it exists.
  auto refused = copy.execute(examples::create_example{});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message == "example_aggregate agg does not exist");
  CHECK(copy.pending().empty());
  CHECK(copy.version() == 0);

  REQUIRE(copy.execute(examples::create_aggregate{}));
  REQUIRE(copy.execute(examples::create_example{}));
  const auto pending = copy.pending();
  const auto state = copy.state();

  auto rejected = copy.execute(examples::create_examples{0}); // the aggregate's own invariant
  REQUIRE_FALSE(rejected);
  CHECK(rejected.error().message == "count must be between 1 and 100, got 0");
  CHECK(copy.pending() == pending);
  CHECK(copy.state() == state);
  CHECK(copy.version() == 2);

  REQUIRE(copy.execute(examples::discard{}));
  auto after_discard = copy.execute(examples::create_example{});
  REQUIRE_FALSE(after_discard);
  CHECK(copy.pending().size() == 3);

  // The save commits exactly what was accepted.
  REQUIRE(s.rt.save(copy).ok());
  CHECK(s.rt.store().stream_version("example_aggregate-agg").value() == 3);
}

TEST_CASE("pending events are readable, in order, with their types", "[unit_of_work]") {
  started s;
  auto copy = load_copy(s.rt, "agg");
  REQUIRE(copy.execute(examples::create_aggregate{}));
  auto decided = copy.execute(examples::create_examples{2});
  REQUIRE(decided);
  CHECK(decided.events().size() == 2);

  const auto& pending = copy.pending();
  REQUIRE(pending.size() == 3);
  CHECK(type_of(pending[0]) == "example_aggregate.created");
  CHECK(type_of(pending[1]) == "example_aggregate.example_created");
  CHECK(type_of(pending[2]) == "example_aggregate.example_created");
  CHECK(std::get<examples::example_created>(pending[1]).example_id == 1);
  CHECK(std::get<examples::example_created>(pending[2]).example_id == 2);
  CHECK(copy.version() == 3);
  CHECK(copy.base_version() == 0);
  CHECK(copy.root().id() == "agg");
}

TEST_CASE("a saved copy's events reach a subscription like any others", "[unit_of_work]") {
  test::temp_dir dir;
  runtime rt{config_in(dir)};
  rt.register_aggregate<example_aggregate>();
  std::mutex m;
  std::vector<store::stored_event> seen;
  REQUIRE(rt.add_subscriber("audit", [&](const store::stored_event& e) {
              std::lock_guard guard{m};
              seen.push_back(e);
            }).ok());
  REQUIRE(rt.start());

  auto copy = load_copy(rt, "agg");
  REQUIRE(copy.execute(examples::create_aggregate{}));
  REQUIRE(copy.execute(examples::create_examples{2}));
  auto saved = rt.save(copy);
  REQUIRE(saved.ok());

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{20};
  std::size_t count = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard guard{m};
      count = seen.size();
    }
    if (count >= 3)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
  }
  std::lock_guard guard{m};
  INFO("events seen by the subscriber within 20 s: " << seen.size() << " of 3");
  REQUIRE(seen.size() == 3);
  for (std::uint64_t i = 0; i < 3; ++i) {
    CHECK(seen[i].stream == "example_aggregate-agg");
    CHECK(seen[i].version == i + 1);
    CHECK(seen[i].position == saved.first_position + i);
  }
  CHECK(seen[0].event.type == "example_aggregate.created");
  CHECK(seen[1].event.type == "example_aggregate.example_created");
  CHECK(seen[2].event.type == "example_aggregate.example_created");
}

TEST_CASE("the live instance follows a save: commands after it are decided on the saved state", "[unit_of_work]") {
  started s;
  auto copy = load_copy(s.rt, "agg");
  REQUIRE(copy.execute(examples::create_aggregate{}));
  REQUIRE(copy.execute(examples::create_examples{3}));
  REQUIRE(s.rt.save(copy).ok());
  auto next = s.rt.execute<example_aggregate>("agg", examples::create_example{});
  REQUIRE(next.ok());
  CHECK(next.version == 5);
  auto committed = s.rt.get<example_aggregate>("agg");
  REQUIRE(committed.ok());
  REQUIRE(committed.root->state().count_examples() == 4);
  CHECK(committed.root->state().examples().back().id == 4); // ids continue from the saved examples
}

TEST_CASE("saving a copy with nothing pending is a success that writes nothing", "[unit_of_work]") {
  started s;
  REQUIRE(s.rt.execute<example_aggregate>("agg", examples::create_aggregate{}).ok());
  auto copy = load_copy(s.rt, "agg");
  const auto before = s.rt.store().stats();
  auto saved = s.rt.save(copy);
  CHECK(saved.ok());
  CHECK(saved.version == 1);
  CHECK(s.rt.store().stats().appends == before.appends);
  CHECK(copy.base_version() == 1);
}

TEST_CASE("the asynchronous save hands the copy back, saved or unchanged", "[unit_of_work]") {
  started s;
  auto& rt = s.rt;
  auto async_save = [&rt](working_copy<example_aggregate> copy) {
    auto promise = std::make_shared<std::promise<std::pair<command_result, working_copy<example_aggregate>>>>();
    auto answer = promise->get_future();
    rt.save(std::move(copy), [promise](command_result r, working_copy<example_aggregate> back) {
      promise->set_value({std::move(r), std::move(back)});
    });
    REQUIRE(answer.wait_for(std::chrono::seconds{20}) == std::future_status::ready);
    return answer.get();
  };

  auto copy = load_copy(rt, "agg");
  REQUIRE(copy.execute(examples::create_aggregate{}));
  REQUIRE(copy.execute(examples::create_example{}));
  auto stale = copy;
  auto [saved, back] = async_save(std::move(copy));
  REQUIRE(saved.ok());
  CHECK(back.base_version() == 2);
  CHECK(back.pending().empty());
  CHECK(repository_count(rt, "agg") == 1);

  auto [refused, unchanged] = async_save(std::move(stale)); // expects version 0; the stream is at 2
  CHECK(refused.code == command_errc::conflict);
  CHECK(unchanged.base_version() == 0);
  CHECK(unchanged.pending().size() == 2);
}

TEST_CASE("loads that give no copy say why", "[unit_of_work]") {
  started s;
  CHECK(s.rt.load<example_aggregate>("").status.code == command_errc::invalid_argument);
  REQUIRE(s.rt.execute<example_aggregate>("agg", examples::create_aggregate{}).ok());
  REQUIRE(s.rt.execute<example_aggregate>("agg", examples::discard{}).ok());
  auto discarded = s.rt.load<example_aggregate>("agg");
  CHECK(discarded.status.code == command_errc::not_found);
  CHECK_FALSE(discarded.copy);
  s.rt.stop();
  CHECK(s.rt.load<example_aggregate>("other").status.code == command_errc::shutting_down);
}
