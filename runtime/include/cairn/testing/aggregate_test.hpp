// cairn::testing — the actor test kit: how to test an aggregate as it really runs.
//
//   cairn::testing::aggregate_test<order> t;
//   t.given({order_created{"c-1"}});
//   CHECK(t.when(add_line{"p-1", "Pen", 2, money{150}}).then_events({line_added{"p-1", "Pen", 2, money{150}}}));
//   CHECK(t.when(submit_order{}).then_error(cairn::command_errc::rejected, "empty"));
//   CHECK(t.then_state([](const order& o) { return o.lines().size() == 1; }));
//
// given() stores prior events in the instance's stream (real RocksDB, in memory); when() sends one command to the
// instance's real actor on CAF's deterministic test coordinator, runs activation, decision and commit to the end on
// the calling thread, and keeps the answer and the events committed. Every event given or committed is checked to
// survive encode/decode through the store's codec; a failure of that check fails the next then_*().
//
// then_*() return a verdict: true, or false with an explanation (printable, so a failed CHECK shows it).
//
// Thread-safety: one test object per thread.
#pragma once

#include <cairn/aggregate.hpp>
#include <cairn/runtime/runtime.hpp>
#include <cairn/store/event_codec.hpp>
#include <cairn/testing/verdict.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rocksdb {
class Env;
}

namespace cairn::testing {

/// Deterministic mode: runs the actors (CAF's test coordinator), activations and commits on the calling thread
/// until nothing is left to do; returns the number of steps taken. 0 when `rt` is not in deterministic mode.
std::size_t run_until_idle(runtime& rt);

namespace detail {

/// A fresh in-memory RocksDB Env (one per test) and the deterministic runtime configuration over it.
std::shared_ptr<rocksdb::Env> make_memory_env();
runtime_config deterministic_config(rocksdb::Env* env);

} // namespace detail

template <aggregate A>
class aggregate_test {
public:
  using command = typename A::command;
  using event = typename A::event;

  explicit aggregate_test(std::string id = "under-test")
    : id_(std::move(id)), env_(detail::make_memory_env()), runtime_(detail::deterministic_config(env_.get())) {
    runtime_.register_aggregate<A>();
    auto started = runtime_.start();
    if (!started)
      codec_failures_.push_back("runtime did not start: " + started.error().to_string());
  }

  /// Stores prior events in the instance's stream, as if earlier commands had recorded them.
  aggregate_test& given(const std::vector<event>& prior) {
    check_round_trip(prior);
    auto& store = runtime_.store();
    auto stream = stream_name<A>(id_);
    store::append_request append;
    append.stream = stream;
    auto version = store.stream_version(stream);
    append.expected_version = version ? *version : 0;
    for (const auto& e : prior)
      append.events.push_back(runtime_.codec<A>().encode(e, 0));
    if (auto r = store.append(append); !r)
      codec_failures_.push_back("given() could not store its events: " + r.error().to_string());
    return *this;
  }

  /// Sends one command to the instance and runs everything it causes to the end.
  aggregate_test& when(command cmd) {
    auto stream = stream_name<A>(id_);
    auto& store = runtime_.store();
    auto before = store.stream_version(stream);
    std::optional<command_result> answer;
    runtime_.send<A>(id_, std::move(cmd), [&answer](command_result r) { answer = std::move(r); });
    run_until_idle(runtime_);
    result_ = answer.value_or(command_result::failure(command_errc::timeout, "the command was never answered"));
    committed_.clear();
    auto from = (before ? *before : 0) + 1;
    auto stored = store.read_stream(stream, from, store::max_events_per_append);
    if (!stored) {
      codec_failures_.push_back("reading the committed events failed: " + stored.error().to_string());
      return *this;
    }
    for (const auto& s : *stored) {
      auto decoded = runtime_.codec<A>().decode(s);
      if (!decoded) {
        codec_failures_.push_back(decoded.error().to_string());
        continue;
      }
      committed_.insert(committed_.end(), decoded->begin(), decoded->end());
    }
    check_round_trip(committed_);
    return *this;
  }

  /// The command was accepted and committed exactly these events, in this order.
  verdict then_events(const std::vector<event>& expected) const {
    if (auto v = codec_verdict(); !v)
      return v;
    if (!result_.ok())
      return verdict::fail("expected events, but the command got " + to_string(result_));
    if (committed_ != expected)
      return verdict::fail("expected " + std::to_string(expected.size()) + " event(s), committed " +
                           std::to_string(committed_.size()) + " that differ" + describe_types(committed_));
    return verdict::pass();
  }

  /// The command was refused with this code (and a message containing `message_part`), and recorded nothing.
  verdict then_error(command_errc code, std::string_view message_part = {}) const {
    if (auto v = codec_verdict(); !v)
      return v;
    if (result_.code != code)
      return verdict::fail("expected " + std::string{to_string(code)} + ", got " + to_string(result_));
    if (result_.message.find(message_part) == std::string::npos)
      return verdict::fail("expected a message containing \"" + std::string{message_part} + "\", got \"" +
                           result_.message + "\"");
    if (!committed_.empty())
      return verdict::fail("the refused command recorded " + std::to_string(committed_.size()) + " event(s)");
    return verdict::pass();
  }

  /// The committed state, read back through the instance's actor, satisfies `predicate`.
  verdict then_state(const std::function<bool(const A&)>& predicate) {
    if (auto v = codec_verdict(); !v)
      return v;
    std::optional<bool> holds;
    std::string why;
    runtime_.query<A>(id_, [&](const aggregate_root<A>* root, const command_result& status) {
      if (root == nullptr)
        why = "no state: " + to_string(status);
      else
        holds = predicate(root->state());
    });
    run_until_idle(runtime_);
    if (!holds)
      return verdict::fail(why.empty() ? "the query was never answered" : why);
    return *holds ? verdict::pass() : verdict::fail("the state does not satisfy the predicate");
  }

  /// The last answer.
  const command_result& result() const noexcept {
    return result_;
  }

  /// The events the last command committed.
  const std::vector<event>& committed() const noexcept {
    return committed_;
  }

  /// The runtime under test (deterministic mode), e.g. to add upcasters or read the store.
  runtime& runtime_under_test() noexcept {
    return runtime_;
  }

private:
  void check_round_trip(const std::vector<event>& events) {
    auto& codec = runtime_.codec<A>();
    for (const auto& e : events) {
      auto record = codec.encode(e, 0);
      auto back = codec.decode(record, "round-trip", 0);
      if (!back || back->size() != 1 || (*back)[0] != e)
        codec_failures_.push_back("event " + record.type + " does not survive encode/decode" +
                                  (back ? std::string{} : ": " + back.error().to_string()));
    }
  }

  verdict codec_verdict() const {
    if (codec_failures_.empty())
      return verdict::pass();
    std::string all;
    for (const auto& f : codec_failures_)
      all += (all.empty() ? "" : "; ") + f;
    return verdict::fail(all);
  }

  static std::string describe_types(const std::vector<event>& events) {
    std::string out = ":";
    for (const auto& e : events)
      out += std::visit([](const auto& x) { return " " + std::string{x.event_type}; }, e);
    return out;
  }

  std::string id_;
  std::shared_ptr<rocksdb::Env> env_;
  runtime runtime_;
  command_result result_;
  std::vector<event> committed_;
  std::vector<std::string> codec_failures_;
};

} // namespace cairn::testing
