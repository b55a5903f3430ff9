// The runtime's client API and aggregate actors, end to end on real threads and a real RocksDB.
#include <cairn/domains/example_aggregate.hpp>
#include <cairn/domains/order.hpp>
#include <cairn/runtime/gateway.hpp>
#include <cairn/runtime/runtime.hpp>
#include <cairn/testing/aggregate_test.hpp>

#include <support/temp_dir.hpp>

#include <caf/event_based_actor.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

using namespace cairn;
using namespace cairn::domains;
using examples::example_aggregate;
using orders::order;

namespace {

runtime_config config_in(const test::temp_dir& dir) {
  runtime_config cfg;
  cfg.data_dir = dir.sub("db");
  cfg.scheduler_threads = 2;
  return cfg;
}

/// An aggregate whose one event carries whatever bytes its command brings: the store's size limit is reached in one
/// command.
struct put_blob {
  static constexpr bool creates_aggregate = true;
  std::string data;
  friend bool operator==(const put_blob&, const put_blob&) = default;
};

template <class Inspector>
auto inspect(Inspector& f, put_blob& x) {
  return f(x.data);
}

struct blob_put {
  static constexpr std::string_view event_type = "blob.put";
  static constexpr std::uint32_t schema_version = 1;
  std::string data;
  friend bool operator==(const blob_put&, const blob_put&) = default;
};

template <class Inspector>
auto inspect(Inspector& f, blob_put& x) {
  return f(x.data);
}

class blob {
public:
  using command = std::variant<put_blob>;
  using event = std::variant<blob_put>;
  static constexpr std::string_view type_name = "blob";

  decision<event> handle(const put_blob& c) const {
    return event{blob_put{c.data}};
  }
  void apply(const blob_put& e) {
    bytes_ += e.data.size();
  }
  std::size_t bytes() const noexcept {
    return bytes_;
  }
  friend bool operator==(const blob&, const blob&) = default;

private:
  std::size_t bytes_ = 0;
};

} // namespace

TEST_CASE("the eventsourcing DDD scenario runs end to end through the runtime", "[runtime]") {
  test::temp_dir dir;
  runtime rt{config_in(dir)};
  rt.register_aggregate<example_aggregate>();
  REQUIRE(rt.start());

  // A new aggregate has no examples.
  auto created = rt.execute<example_aggregate>("agg-1", examples::create_aggregate{});
  REQUIRE(created.ok());
  REQUIRE(created.version == 1);
  auto fresh = rt.get<example_aggregate>("agg-1");
  REQUIRE(fresh.ok());
  CHECK(fresh.root->state().count_examples() == 0);

  // Creating one inside it is not in the store until committed; once committed, the stored aggregate has one.
  CHECK(rt.store().stream_version("example_aggregate-agg-1").value() == 1);
  auto one = rt.execute<example_aggregate>("agg-1", examples::create_example{});
  REQUIRE(one.ok());
  CHECK(rt.store().stream_version("example_aggregate-agg-1").value() == 2);
  CHECK(rt.get<example_aggregate>("agg-1").root->state().count_examples() == 1);

  // Two more in one command: one atomic batch, two events with consecutive positions.
  auto two = rt.execute<example_aggregate>("agg-1", examples::create_examples{2});
  REQUIRE(two.ok());
  CHECK(two.version == 4);
  CHECK(two.last_position == two.first_position + 1);
  CHECK(rt.get<example_aggregate>("agg-1").root->state().count_examples() == 3);

  // Discarded, it is gone from the repository and takes no further command.
  REQUIRE(rt.execute<example_aggregate>("agg-1", examples::discard{}).ok());
  CHECK(rt.get<example_aggregate>("agg-1").status.code == command_errc::not_found);
  CHECK(rt.execute<example_aggregate>("agg-1", examples::create_example{}).code == command_errc::not_found);
  CHECK(rt.execute<example_aggregate>("agg-1", examples::create_aggregate{}).code == command_errc::not_found);

  // And so it stays after a restart.
  rt.stop();
  runtime again{config_in(dir)};
  again.register_aggregate<example_aggregate>();
  REQUIRE(again.start());
  CHECK(again.get<example_aggregate>("agg-1").status.code == command_errc::not_found);
  CHECK(again.store().stream_version("example_aggregate-agg-1").value() == 5);
}

TEST_CASE("commands get one clear answer each", "[runtime]") {
  test::temp_dir dir;
  runtime rt{config_in(dir)};
  rt.register_aggregate<order>();
  REQUIRE(rt.start());

  SECTION("a command to an aggregate that does not exist is not_found") {
    auto r = rt.execute<order>("nobody", orders::submit_order{});
    CHECK(r.code == command_errc::not_found);
    CHECK_THAT(r.message, Catch::Contains("order nobody"));
  }
  SECTION("an invariant violation is rejected with its message, records nothing and keeps the version") {
    REQUIRE(rt.execute<order>("o-1", orders::create_order{"c-1"}).ok());
    auto r = rt.execute<order>("o-1", orders::submit_order{});
    CHECK(r.code == command_errc::rejected);
    CHECK(r.version == 1);
    CHECK_FALSE(r.message.empty());
    CHECK(rt.store().stream_version("order-o-1").value() == 1);
    auto big = rt.execute<order>("o-1", orders::add_line{"p", "Piano", 1, money{1'000'001}});
    CHECK(big.code == command_errc::rejected);
    CHECK(rt.get<order>("o-1").root->state().lines().empty());
  }
  SECTION("malformed ids and unregistered types are invalid_argument, answered at once") {
    CHECK(rt.execute<order>("", orders::submit_order{}).code == command_errc::invalid_argument);
    CHECK(rt.execute<order>(std::string(201, 'x'), orders::submit_order{}).code == command_errc::invalid_argument);
    CHECK(rt.execute<order>(std::string{"a\0b", 3}, orders::submit_order{}).code == command_errc::invalid_argument);
    CHECK(rt.execute<example_aggregate>("e", examples::create_aggregate{}).code == command_errc::invalid_argument);
  }
  SECTION("after stop, commands get shutting_down") {
    rt.stop();
    CHECK(rt.execute<order>("o-2", orders::create_order{"c"}).code == command_errc::shutting_down);
  }
  SECTION("a command not started before its deadline is a timeout and changes nothing") {
    rt.stop();
    auto cfg = config_in(dir);
    cfg.command_timeout = std::chrono::milliseconds{-1};
    runtime late{cfg};
    late.register_aggregate<order>();
    REQUIRE(late.start());
    CHECK(late.execute<order>("o-3", orders::create_order{"c"}).code == command_errc::timeout);
    CHECK(late.store().stream_version("order-o-3").value() == 0);
  }
}

TEST_CASE("queries see committed state only, and the state survives a restart", "[runtime]") {
  test::temp_dir dir;
  {
    runtime rt{config_in(dir)};
    rt.register_aggregate<order>();
    REQUIRE(rt.start());
    REQUIRE(rt.execute<order>("o-1", orders::create_order{"c-1"}).ok());
    REQUIRE(rt.execute<order>("o-1", orders::add_line{"p-1", "Pen", 2, money{150}}).ok());
    REQUIRE(rt.execute<order>("o-1", orders::add_line{"p-2", "Ink", 1, money{999}}).ok());
    REQUIRE(rt.execute<order>("o-1", orders::remove_line{"p-1"}).ok());
    REQUIRE(rt.execute<order>("o-1", orders::submit_order{}).ok());
  }
  runtime rt{config_in(dir)};
  rt.register_aggregate<order>();
  REQUIRE(rt.start());
  auto o = rt.get<order>("o-1");
  REQUIRE(o.ok());
  CHECK(o.root->version() == 5);
  CHECK(o.root->state().customer_id() == "c-1");
  CHECK(o.root->state().status() == orders::order_status::submitted);
  REQUIRE(o.root->state().lines().size() == 1);
  CHECK(o.root->state().lines()[0].product_id == "p-2");
  CHECK(o.root->state().total() == money{999});
}

TEST_CASE("snapshots are written in the batch that crosses the interval and used on activation", "[runtime]") {
  test::temp_dir dir;
  auto cfg = config_in(dir);
  cfg.snapshot_interval = 10;
  {
    runtime rt{cfg};
    rt.register_aggregate<example_aggregate>();
    REQUIRE(rt.start());
    REQUIRE(rt.execute<example_aggregate>("a", examples::create_aggregate{}).ok());
    for (int i = 0; i < 8; ++i)
      REQUIRE(rt.execute<example_aggregate>("a", examples::create_example{}).ok());
    CHECK_FALSE(rt.store().latest_snapshot("example_aggregate-a").value().has_value());
    // 9 -> 12 crosses 10: the snapshot is taken at 12, in the same batch.
    REQUIRE(rt.execute<example_aggregate>("a", examples::create_examples{3}).version == 12);
    auto snap = rt.store().latest_snapshot("example_aggregate-a").value();
    REQUIRE(snap.has_value());
    CHECK(snap->version == 12);
    REQUIRE(rt.execute<example_aggregate>("a", examples::create_example{}).ok());
  }
  runtime rt{cfg};
  rt.register_aggregate<example_aggregate>();
  REQUIRE(rt.start());
  auto a = rt.get<example_aggregate>("a");
  REQUIRE(a.ok());
  CHECK(a.root->version() == 13);
  CHECK(a.root->state().count_examples() == 12);
}

TEST_CASE("idle instances passivate and come back with their state", "[runtime]") {
  test::temp_dir dir;
  auto cfg = config_in(dir);
  cfg.idle_timeout = std::chrono::milliseconds{20};
  runtime rt{cfg};
  rt.register_aggregate<order>();
  REQUIRE(rt.start());
  REQUIRE(rt.execute<order>("o-1", orders::create_order{"c-1"}).ok());
  CHECK(rt.stats().active_instances == 1);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{5};
  while (rt.stats().active_instances != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  CHECK(rt.stats().active_instances == 0);
  auto again = rt.execute<order>("o-1", orders::add_line{"p", "Pen", 1, money{100}});
  CHECK(again.ok());
  CHECK(again.version == 2);
}

TEST_CASE("user actors send commands the CAF-native way through the gateway", "[runtime]") {
  test::temp_dir dir;
  runtime rt{config_in(dir)};
  rt.register_aggregate<order>();
  REQUIRE(rt.start());
  caf::scoped_actor self{rt.system()};
  auto orders_gateway = cairn::spawn_gateway<order>(rt);
  command_result got;
  self->request(orders_gateway, std::chrono::seconds{10}, std::string{"o-9"}, orders::create_order{"c-9"})
    .receive([&](command_result& r) { got = std::move(r); },
             [&](caf::error& e) { FAIL("request failed: " << rt.system().render(e)); });
  CHECK(got.ok());
  CHECK(got.version == 1);
  self->request(orders_gateway, std::chrono::seconds{10}, std::string{"o-9"}, orders::submit_order{})
    .receive([&](command_result& r) { got = std::move(r); },
             [&](caf::error& e) { FAIL("request failed: " << rt.system().render(e)); });
  CHECK(got.code == command_errc::rejected);
}

TEST_CASE("stop() waits a bounded time for an answer and says what was still outstanding", "[runtime][stop]") {
  test::temp_dir dir;
  std::atomic<int> answers{0};
  auto cfg = config_in(dir);
  cfg.stop_timeout = std::chrono::milliseconds{300};
  runtime rt{cfg};
  rt.register_aggregate<example_aggregate>();
  REQUIRE(rt.start());
  REQUIRE(rt.execute<example_aggregate>("agg-1", examples::create_aggregate{}).ok());
  // A query callback holds the instance's actor for 3 s, so the command behind it stays unanswered for that long,
  // as a lost answer would.
  auto release_at = std::chrono::steady_clock::now() + std::chrono::seconds{3};
  auto entered = std::make_shared<std::promise<void>>();
  rt.query<example_aggregate>("agg-1", [entered, release_at](const aggregate_root<example_aggregate>*,
                                                             const command_result&) {
    entered->set_value();
    std::this_thread::sleep_until(release_at);
  });
  REQUIRE(entered->get_future().wait_for(std::chrono::seconds{5}) == std::future_status::ready);
  rt.send<example_aggregate>("agg-1", examples::create_example{}, [&answers](command_result) { ++answers; });
  auto outcome = rt.stop();
  INFO("outstanding: " << outcome.outstanding);
  CHECK_FALSE(outcome.complete);
  CHECK_THAT(outcome.outstanding, Catch::Contains("1 requests in flight unanswered"));
  CHECK_THAT(outcome.outstanding, Catch::Contains("1 active example_aggregate"));
}

TEST_CASE("stop() with every answer given reports a complete stop", "[runtime][stop]") {
  test::temp_dir dir;
  runtime rt{config_in(dir)};
  rt.register_aggregate<example_aggregate>();
  REQUIRE(rt.start());
  REQUIRE(rt.execute<example_aggregate>("agg-1", examples::create_aggregate{}).ok());
  auto outcome = rt.stop();
  CHECK(outcome.complete);
  CHECK(outcome.outstanding.empty());
}

TEST_CASE("an append over the store's size limit is the client's error, not a storage failure", "[runtime][limits]") {
  test::temp_dir dir;
  runtime rt{config_in(dir)};
  rt.register_aggregate<blob>();
  REQUIRE(rt.start());
  REQUIRE(rt.execute<blob>("b", put_blob{"small"}).ok());
  // Every try of the same command gets the same answer: invalid_argument with the store's too_large, nothing written.
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto r = rt.execute<blob>("b", put_blob{std::string(store::max_event_payload_bytes + 1, 'x')});
    INFO("attempt " << attempt << ": " << to_string(r));
    CHECK(r.code == command_errc::invalid_argument);
    CHECK_THAT(r.message, Catch::StartsWith("too_large: "));
    CHECK_THAT(r.message, Catch::Contains("payload over 16777216 bytes"));
  }
  CHECK(*rt.store().stream_version("blob-b") == 1);
  // The instance's state is the stored one, and it goes on taking commands.
  auto next = rt.execute<blob>("b", put_blob{"more"});
  REQUIRE(next.ok());
  CHECK(next.version == 2);
  CHECK(rt.get<blob>("b").root->state().bytes() == 9);
}

TEST_CASE("a query arriving while a command is being committed never sees the pending state (deterministic)",
          "[runtime][deterministic]") {
  // CAF's test coordinator runs the actors on this thread, one message at a time; the committer writes only when
  // the test says so. So the query below provably arrives while the command's append waits in the committer.
  test::temp_dir dir;
  auto cfg = config_in(dir);
  cfg.drive_until_idle = cairn::testing::run_until_idle;
  runtime rt{cfg};
  rt.register_aggregate<order>();
  REQUIRE(rt.start());
  auto& actors = dynamic_cast<caf::scheduler::test_coordinator&>(rt.system().scheduler());
  std::vector<std::string> seen; // what each answer saw, in answer order
  auto ask_state = [&](const std::string& who) {
    rt.query<order>("o-1", [&seen, who](const aggregate_root<order>* root, const command_result&) {
      seen.push_back(who + " v" + std::to_string(root == nullptr ? 0 : root->version()) + " lines " +
                     std::to_string(root == nullptr ? 0 : root->state().lines().size()));
    });
  };
  rt.send<order>("o-1", orders::create_order{"c-1"}, [](command_result) {});
  cairn::testing::run_until_idle(rt);
  REQUIRE(*rt.store().stream_version("order-o-1") == 1);

  // A query ahead of the command sees the state before it.
  ask_state("ahead");
  rt.send<order>("o-1", orders::add_line{"p-1", "Pen", 2, money{150}}, [&seen](command_result r) {
    seen.push_back("command " + to_string(r));
  });
  actors.run(); // the actor answers the query, decides the command and hands its append to the committer
  REQUIRE(seen == std::vector<std::string>{"ahead v1 lines 0"});

  // The append is pending: a query that arrives now must not be answered from the pending state.
  ask_state("during");
  actors.run();
  CHECK(seen == std::vector<std::string>{"ahead v1 lines 0"});
  CHECK(*rt.store().stream_version("order-o-1") == 1);

  // Once the committer writes, the command is answered first, then the query with the committed state.
  cairn::testing::run_until_idle(rt);
  CHECK(*rt.store().stream_version("order-o-1") == 2);
  CHECK(seen == std::vector<std::string>{"ahead v1 lines 0", "command accepted at version 2", "during v2 lines 1"});
}

namespace {

/// The same commands and events as blob under the same type name: its streams would mix with blob's.
class blob_twin : public blob {};

/// A second type taking put_blob, under a name of its own.
class blob_copy : public blob {
public:
  static constexpr std::string_view type_name = "blob_copy";
};

} // namespace

TEST_CASE("a second aggregate type with a taken type_name is refused at registration", "[runtime]") {
  test::temp_dir dir;
  runtime rt{config_in(dir)};
  REQUIRE(rt.register_aggregate<blob>().ok());
  CHECK(rt.register_aggregate<blob>().ok()); // the same type again: nothing to do
  auto twin = rt.register_aggregate<blob_twin>();
  CHECK(twin.code == command_errc::invalid_argument);
  CHECK(twin.message.find("\"blob\" is already taken") != std::string::npos);
  REQUIRE(rt.start());
  CHECK(rt.execute<blob_twin>("b-1", put_blob{"x"}).code == command_errc::invalid_argument);
  CHECK(rt.execute<blob>("b-1", put_blob{"x"}).ok());
}

TEST_CASE("send without a type reaches the one registered type that takes the command", "[runtime]") {
  test::temp_dir dir;
  runtime rt{config_in(dir)};
  rt.register_aggregate<example_aggregate>();
  rt.register_aggregate<order>();
  REQUIRE(rt.start());

  auto created = rt.execute("agg-1", examples::create_aggregate{});
  REQUIRE(created.ok());
  CHECK(rt.ask("agg-1", examples::create_example{}).get().version == 2);
  std::promise<command_result> answered;
  rt.send("o-1", orders::create_order{"c-1"}, [&](command_result r) { answered.set_value(std::move(r)); });
  CHECK(answered.get_future().get().ok());
  CHECK(rt.get<example_aggregate>("agg-1").root->state().count_examples() == 1);
  CHECK(rt.get<order>("o-1").root->version() == 1);
}

TEST_CASE("send without a type answers invalid_argument when no type or several take the command", "[runtime]") {
  test::temp_dir dir;
  runtime rt{config_in(dir)};
  rt.register_aggregate<blob>();
  rt.register_aggregate<blob_copy>();
  REQUIRE(rt.start());

  auto unknown = rt.execute("o-1", orders::create_order{"c-1"});
  CHECK(unknown.code == command_errc::invalid_argument);
  CHECK(unknown.message == "no registered aggregate type takes this command type");
  auto ambiguous = rt.execute("b-1", put_blob{"x"});
  CHECK(ambiguous.code == command_errc::invalid_argument);
  CHECK(ambiguous.message.find("several registered aggregate types take this command type (blob") == 0);
  CHECK(ambiguous.message.find("blob_copy") != std::string::npos);
  CHECK(rt.store().last_position() == 0); // nothing written
}

TEST_CASE("a command with a view answers with a value read from the state it left", "[runtime]") {
  test::temp_dir dir;
  runtime rt{config_in(dir)};
  rt.register_aggregate<order>();
  REQUIRE(rt.start());
  REQUIRE(rt.execute<order>("o-1", orders::create_order{"c-1"}).ok());

  auto lines = rt.execute<order>("o-1", orders::add_line{"p-1", "Pen", 2, money{150}},
                                 [](const order& o) { return o.lines().size(); });
  REQUIRE(lines.ok());
  CHECK(lines.status.version == 2);
  CHECK(lines.value == std::optional<std::size_t>{1});

  auto total = rt.execute<order>("o-1", orders::add_line{"p-2", "Ink", 1, money{100}}, &order::total);
  REQUIRE(total.ok());
  CHECK(total.value == std::optional<money>{money{400}});

  // A refused command has no value, and the view is not run.
  bool viewed = false;
  auto refused = rt.execute<order>("o-1", orders::add_line{"p-3", "Desk", 1, money{999'900}},
                                   [&viewed](const order&) { return viewed = true; });
  CHECK(refused.status.code == command_errc::rejected);
  CHECK_FALSE(refused.value);
  CHECK_FALSE(viewed);
  auto unknown = rt.execute<order>("o-9", orders::submit_order{}, &order::total);
  CHECK(unknown.status.code == command_errc::not_found);
  CHECK_FALSE(unknown.value);
}

namespace {

/// Keeps "created on / last modified on" as the eventsourcing DDD chapter's entities do: from each event's meta.
struct touch {
  static constexpr bool creates_aggregate = true;
};
template <class Inspector>
auto inspect(Inspector& f, touch&) {
  return f();
}
struct touched {
  static constexpr std::string_view event_type = "stamped.touched";
  static constexpr std::uint32_t schema_version = 1;
  friend bool operator==(const touched&, const touched&) = default;
};
template <class Inspector>
auto inspect(Inspector& f, touched&) {
  return f();
}

class stamped {
public:
  using command = std::variant<touch>;
  using event = std::variant<touched>;
  using clock_time = std::chrono::sys_time<std::chrono::microseconds>;
  static constexpr std::string_view type_name = "stamped";

  decision<event> handle(const touch&) const {
    return event{touched{}};
  }
  void apply(const touched&, const event_meta& meta) {
    if (meta.version == 1)
      created_on_ = meta.timestamp;
    modified_on_ = meta.timestamp;
    seen_ += std::string{meta.aggregate_type} + "/" + std::string{meta.aggregate_id} + "@" +
             std::to_string(meta.version) + " ";
  }
  clock_time created_on() const {
    return created_on_;
  }
  clock_time modified_on() const {
    return modified_on_;
  }
  const std::string& seen() const {
    return seen_;
  }

private:
  clock_time created_on_{};
  clock_time modified_on_{};
  std::string seen_;
};

} // namespace

TEST_CASE("apply(event, event_meta) gives a root its events' timestamps, live and after a restart alike",
          "[runtime]") {
  test::temp_dir dir;
  stamped::clock_time created{};
  stamped::clock_time modified{};
  {
    runtime rt{config_in(dir)};
    rt.register_aggregate<stamped>();
    REQUIRE(rt.start());
    auto before = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
    REQUIRE(rt.execute<stamped>("s-1", touch{}).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
    REQUIRE(rt.execute<stamped>("s-1", touch{}).ok());
    auto after = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
    auto live = rt.get<stamped>("s-1");
    REQUIRE(live.ok());
    created = live.root->state().created_on();
    modified = live.root->state().modified_on();
    CHECK(before <= created);
    CHECK(created < modified);
    CHECK(modified <= after);
    CHECK(live.root->state().seen() == "stamped/s-1@1 stamped/s-1@2 ");
    // The stored events carry the same timestamps.
    auto stored = rt.store().read_stream(stream_name<stamped>("s-1"), 1, 10);
    REQUIRE(stored);
    REQUIRE(stored->size() == 2);
    CHECK((*stored)[0].event.timestamp_us == created.time_since_epoch().count());
    CHECK((*stored)[1].event.timestamp_us == modified.time_since_epoch().count());
  }
  runtime again{config_in(dir)};
  again.register_aggregate<stamped>();
  REQUIRE(again.start());
  auto replayed = again.get<stamped>("s-1");
  REQUIRE(replayed.ok());
  CHECK(replayed.root->state().created_on() == created);
  CHECK(replayed.root->state().modified_on() == modified);
  CHECK(replayed.root->state().seen() == "stamped/s-1@1 stamped/s-1@2 ");
}

TEST_CASE("a command that expects another version is answered conflict and writes nothing", "[runtime][expect_version]") {
  test::temp_dir dir;
  runtime rt{config_in(dir)};
  rt.register_aggregate<example_aggregate>();
  REQUIRE(rt.start());

  // expect_version{0}: only while it does not exist.
  REQUIRE(rt.execute<example_aggregate>("a", examples::create_aggregate{}, expect_version{0}).ok());
  auto again = rt.execute<example_aggregate>("a", examples::create_aggregate{}, expect_version{0});
  CHECK(again.code == command_errc::conflict);
  CHECK(again.version == 1);

  auto matching = rt.execute<example_aggregate>("a", examples::create_example{}, expect_version{1});
  REQUIRE(matching.ok());
  CHECK(matching.version == 2);

  const auto events_before = rt.store().stats().events;
  auto stale = rt.execute<example_aggregate>("a", examples::create_examples{3}, expect_version{1});
  CHECK(stale.code == command_errc::conflict);
  CHECK(stale.version == 2); // where it is now
  CHECK_THAT(stale.message, Catch::Contains("example_aggregate a is at version 2, not 1"));
  CHECK(rt.store().stats().events == events_before);
  CHECK(rt.store().stream_version("example_aggregate-a").value() == 2);
  CHECK(rt.get<example_aggregate>("a").root->state().count_examples() == 1);

  // A version ahead of the aggregate is no better, and an unknown aggregate is at version 0.
  CHECK(rt.execute<example_aggregate>("a", examples::create_example{}, expect_version{3}).code ==
        command_errc::conflict);
  CHECK(rt.ask<example_aggregate>("b", examples::create_aggregate{}, expect_version{4}).get().code ==
        command_errc::conflict);
  CHECK(rt.store().stream_version("example_aggregate-b").value() == 0);
}

TEST_CASE("the expected version is checked when the command's turn comes, after the commands before it",
          "[runtime][expect_version]") {
  test::temp_dir dir;
  runtime rt{config_in(dir)};
  rt.register_aggregate<example_aggregate>();
  REQUIRE(rt.start());
  REQUIRE(rt.execute<example_aggregate>("a", examples::create_aggregate{}).ok());
  // Sent back to back: the third expects the version the first two leave, the fourth the one before.
  std::vector<std::future<command_result>> answers;
  answers.push_back(rt.ask<example_aggregate>("a", examples::create_example{}));
  answers.push_back(rt.ask<example_aggregate>("a", examples::create_example{}));
  answers.push_back(rt.ask<example_aggregate>("a", examples::create_example{}, expect_version{3}));
  answers.push_back(rt.ask<example_aggregate>("a", examples::create_example{}, expect_version{3}));
  std::vector<command_result> results;
  for (auto& a : answers) {
    REQUIRE(a.wait_for(std::chrono::seconds{20}) == std::future_status::ready);
    results.push_back(a.get());
  }
  CHECK(results[0].ok());
  CHECK(results[1].ok());
  CHECK(results[2].ok());
  CHECK(results[2].version == 4);
  CHECK(results[3].code == command_errc::conflict);
  CHECK(rt.get<example_aggregate>("a").root->state().count_examples() == 3);
}
