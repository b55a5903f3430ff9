// Test support for the store's tests: request builders and the consistency check of a whole database.
//
// Thread-safety: the checks use Catch assertions and run on the test's thread only; background_loop runs its
// body on a thread of its own.
#pragma once

#include <cairn/store/event_store.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace cairn::test::store_checks {

using namespace cairn::store;

inline event_record ev(std::string type, std::string payload, std::int64_t ts = 0) {
  return event_record{std::move(type), 1, ts, std::move(payload)};
}

inline append_request req(std::string stream, std::uint64_t expected, std::size_t n, const std::string& tag = "e") {
  append_request r;
  r.stream = std::move(stream);
  r.expected_version = expected;
  for (std::size_t i = 0; i < n; ++i)
    r.events.push_back(ev("test." + tag, tag + "-" + std::to_string(expected + i + 1), 1000 + static_cast<int>(i)));
  return r;
}

inline std::unique_ptr<event_store> open_store(const std::string& path, durability mode = durability::durable,
                                              rocksdb::Env* env = nullptr) {
  options o;
  o.path = path;
  o.mode = mode;
  o.env = env;
  auto s = event_store::open(o);
  INFO((s ? std::string{} : s.error().to_string()));
  REQUIRE(s);
  return std::move(*s);
}

// The whole log, read in chunks.
inline std::vector<stored_event> whole_log(const event_store& s, std::size_t chunk = 1000) {
  std::vector<stored_event> all;
  for (std::uint64_t from = 1;;) {
    auto part = s.read_log(from, chunk);
    REQUIRE(part);
    if (part->empty())
      return all;
    REQUIRE(part->size() <= chunk);
    from = part->back().position + 1;
    all.insert(all.end(), part->begin(), part->end());
  }
}

// Checks the invariants of the whole database: positions 1..N without gaps, each stream's versions 1..head
// without gaps and in log order, and the stream CF agreeing with the log.
inline void check_consistent(const event_store& s) {
  const auto log = whole_log(s);
  std::map<std::string, std::uint64_t> seen;
  for (std::size_t i = 0; i < log.size(); ++i) {
    REQUIRE(log[i].position == i + 1);
    auto& last = seen[log[i].stream];
    REQUIRE(log[i].version == last + 1);
    last = log[i].version;
  }
  CHECK(s.last_position() == log.size());
  for (const auto& [stream, head] : seen) {
    auto version = s.stream_version(stream);
    REQUIRE(version);
    CHECK(*version == head);
    auto events = s.read_stream(stream, 1, 100000);
    REQUIRE(events);
    REQUIRE(events->size() == head);
    for (const auto& e : *events) {
      REQUIRE(e.position >= 1);
      REQUIRE(e.position <= log.size());
      const auto& in_log = log[e.position - 1];
      CHECK(in_log.stream == stream);
      CHECK(in_log.version == e.version);
      CHECK(in_log.event == e.event);
    }
  }
}

// Runs `body` over and over on its own thread until stopped; stops and joins on every way out of a test, a
// failed REQUIRE included. The body must not use Catch's assertions (they are not thread-safe).
class background_loop {
public:
  template <class F>
  explicit background_loop(F body) : thread_([this, body] {
      while (!stop_.load())
        body();
    }) {}
  ~background_loop() {
    stop();
  }
  background_loop(const background_loop&) = delete;
  background_loop& operator=(const background_loop&) = delete;

  void stop() {
    stop_ = true;
    if (thread_.joinable())
      thread_.join();
  }

private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

} // namespace cairn::test::store_checks
