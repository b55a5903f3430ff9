// Sagas run by the framework (saga.hpp) through the runtime: a saga that only declares what it sends and how it
// reacts to answers gets its commands sent and their answers recorded, a transient error retried, and a command
// left unanswered by a stopped runtime sent again by the next one on the same store, taking effect once.
#include <cairn/runtime/runtime.hpp>
#include <cairn/saga.hpp>
#include <cairn/store/fault_injection.hpp>

#include <support/temp_dir.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <tuple>
#include <variant>
#include <vector>

using namespace cairn;

namespace {

// ---- the target: a counter ----

/// When set, the next add the counter decides turns write failures on before its commit: that commit, and every
/// write after it until the test clears the fault, fails with storage_failure (a transient error).
std::atomic<store::fault_injection*> fail_from_next_add{nullptr};

struct add {
  static constexpr bool creates_aggregate = true;
  std::int64_t amount = 0;
};

template <class Inspector>
auto inspect(Inspector& f, add& x) {
  return f(x.amount);
}

struct added {
  static constexpr std::string_view event_type = "counter.added";
  static constexpr std::uint32_t schema_version = 1;
  std::int64_t amount = 0;
};

template <class Inspector>
auto inspect(Inspector& f, added& x) {
  return f(x.amount);
}

struct counter {
  using command = std::variant<add>;
  using event = std::variant<added>;
  static constexpr std::string_view type_name = "counter";

  decision<event> handle(const add& c) const {
    if (auto* faults = fail_from_next_add.exchange(nullptr))
      faults->fail_writes(true);
    if (c.amount <= 0)
      return reject("amount must be positive");
    return event{added{c.amount}};
  }

  void apply(const added& e) {
    total += e.amount;
    ++adds;
  }

  std::int64_t total = 0;
  std::int64_t adds = 0;
};

// ---- the saga: adds each amount to the counter, one after the other ----

struct start_adding {
  static constexpr bool creates_aggregate = true;
  std::string counter_id;
  std::vector<std::int64_t> amounts;
};

template <class Inspector>
auto inspect(Inspector& f, start_adding& x) {
  return f(x.counter_id, x.amounts);
}

struct adding_started {
  static constexpr std::string_view event_type = "adder.started";
  static constexpr std::uint32_t schema_version = 1;
  std::string counter_id;
  std::vector<std::int64_t> amounts;
};

template <class Inspector>
auto inspect(Inspector& f, adding_started& x) {
  return f(x.counter_id, x.amounts);
}

struct amount_answered {
  static constexpr std::string_view event_type = "adder.amount_answered";
  static constexpr std::uint32_t schema_version = 1;
  bool accepted = false;
};

template <class Inspector>
auto inspect(Inspector& f, amount_answered& x) {
  return f(x.accepted);
}

class adder : public saga<adder, std::variant<add>> {
public:
  using command = std::variant<start_adding, saga_result>;
  using event = std::variant<adding_started, amount_answered, step_answered<adder>>;
  using inputs = std::tuple<>;
  static constexpr std::string_view type_name = "adder";

  using saga::apply;
  using saga::handle;

  decision<event> handle(const start_adding& c) const {
    if (!amounts_.empty() || done_ > 0)
      return reject("already started");
    return event{adding_started{c.counter_id, c.amounts}};
  }

  std::vector<event> on_result(const add&, const saga_result& answer) const {
    return {amount_answered{answer.accepted}};
  }

  void apply(const adding_started& e) {
    counter_id_ = e.counter_id;
    amounts_ = e.amounts;
    send_next();
  }

  void apply(const amount_answered& e) {
    ++done_;
    accepted_ += e.accepted ? 1 : 0;
    send_next();
  }

  std::size_t done() const noexcept {
    return done_;
  }

  std::size_t accepted() const noexcept {
    return accepted_;
  }

  bool finished() const noexcept {
    return !amounts_.empty() && done_ == amounts_.size() && outbox().empty();
  }

private:
  void send_next() {
    if (done_ < amounts_.size())
      send(counter_id_, add{amounts_[done_]});
  }

  std::string counter_id_;
  std::vector<std::int64_t> amounts_;
  std::size_t done_ = 0;
  std::size_t accepted_ = 0;
};

static_assert(process_manager<adder>);
static_assert(incremental_outbox<adder>);

runtime_config config_in(const test::temp_dir& dir, store::fault_injection& faults) {
  runtime_config cfg;
  cfg.data_dir = dir.sub("db");
  cfg.scheduler_threads = 2;
  cfg.store_env = faults.env();
  return cfg;
}

void register_all(runtime& rt) {
  rt.register_aggregate<counter>();
  rt.register_process_manager<adder, counter>();
}

/// Waits (20 s at most) until the adder "s-1" has finished; false when it did not.
bool adder_finished(runtime& rt) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{20};
  while (std::chrono::steady_clock::now() < deadline) {
    auto s = rt.get<adder>("s-1");
    if (s.ok() && s.root->state().finished())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return false;
}

} // namespace

TEST_CASE("a framework saga sends its commands in turn and records every answer", "[sagas][framework]") {
  test::temp_dir dir;
  store::fault_injection faults;
  runtime rt{config_in(dir, faults)};
  register_all(rt);
  REQUIRE(rt.start());
  REQUIRE(rt.execute<adder>("s-1", start_adding{"c-1", {5, -1, 7}}).ok());
  INFO("the adder did not finish its three steps within 20 s");
  REQUIRE(adder_finished(rt));
  auto s = rt.get<adder>("s-1");
  CHECK(s.root->state().done() == 3);
  CHECK(s.root->state().accepted() == 2); // -1 refused by the counter, recorded as a refusal
  auto c = rt.get<counter>("c-1");
  REQUIRE(c.ok());
  CHECK(c.root->state().total == 12);
  CHECK(c.root->state().adds == 2);
  rt.stop();
}

TEST_CASE("a framework saga retries a transient error until the target takes the command", "[sagas][framework]") {
  test::temp_dir dir;
  store::fault_injection faults;
  faults.scope(store::fault_scope::wal);
  runtime rt{config_in(dir, faults)};
  register_all(rt);
  REQUIRE(rt.start());
  REQUIRE(rt.execute<counter>("c-1", add{1}).ok());
  fail_from_next_add = &faults; // the counter's commit of the saga's add answers storage_failure
  REQUIRE(rt.execute<adder>("s-1", start_adding{"c-1", {10}}).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds{400}); // several resends (every 100 ms) meet the fault
  CHECK(faults.injected_write_failures() > 0);
  CHECK_FALSE(rt.get<adder>("s-1").root->state().finished());
  faults.fail_writes(false);
  INFO("the adder did not finish within 20 s of the fault clearing");
  REQUIRE(adder_finished(rt));
  CHECK(rt.get<adder>("s-1").root->state().accepted() == 1); // the transient errors were not recorded as refusals
  auto c = rt.get<counter>("c-1");
  CHECK(c.root->state().total == 11);
  CHECK(c.root->state().adds == 2);
  rt.stop();
}

TEST_CASE("a saga command left unanswered by a stopped runtime is sent again after restart and taken once",
          "[sagas][framework]") {
  test::temp_dir dir;
  store::fault_injection faults;
  faults.scope(store::fault_scope::wal);
  {
    runtime rt{config_in(dir, faults)};
    register_all(rt);
    REQUIRE(rt.start());
    REQUIRE(rt.execute<counter>("c-1", add{1}).ok());
    fail_from_next_add = &faults; // the saga's first add is never committed by this runtime
    REQUIRE(rt.execute<adder>("s-1", start_adding{"c-1", {10, 20}}).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds{200});
    REQUIRE(faults.injected_write_failures() > 0);
    REQUIRE(rt.get<adder>("s-1").root->state().done() == 0);
    rt.stop();
    faults.fail_writes(false);
  }
  {
    runtime rt{config_in(dir, faults)};
    register_all(rt);
    REQUIRE(rt.start()); // resumes the open adder: nothing else sends it a command
    INFO("the resumed adder did not finish within 20 s");
    REQUIRE(adder_finished(rt));
    CHECK(rt.get<adder>("s-1").root->state().accepted() == 2);
    auto c = rt.get<counter>("c-1");
    CHECK(c.root->state().total == 31); // each amount added once, however often it was sent
    CHECK(c.root->state().adds == 3);
    rt.stop();
  }
}
