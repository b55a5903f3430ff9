#include "scenarios.hpp"

#include "latency.hpp"
#include "machine.hpp"
#include "progress.hpp"
#include "runtime_run.hpp"
#include "workload.hpp"

#include <cairn/domains/example_aggregate.hpp>
#include <cairn/domains/order.hpp>
#include <cairn/runtime/runtime.hpp>
#include <cairn/store/event_codec.hpp>
#include <cairn/store/event_store.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <semaphore>
#include <string>
#include <thread>
#include <vector>

namespace cairn::bench {

namespace {

using namespace cairn::domains;
using clock = bench_clock;
using examples::example_aggregate;

template <aggregate A>
void start(runtime& rt) {
  rt.register_aggregate<A>();
  start_runtime(rt);
}

result run_lone(const bench_options& opt, const run_context& ctx) {
  // Measured in the same run, on the same disk, so that the ratio compares like with like.
  latency_histogram fdatasync;
  measure_fdatasync(ctx.dir, 1000, fdatasync);
  auto r = run_commands(opt, ctx, examples_workload(opt), config_for(opt, ctx));
  r.fdatasync_p50_us = fdatasync.percentile_us(0.5);
  r.p50_vs_fdatasync = *r.p50_us / *r.fdatasync_p50_us;
  return r;
}

/// Writes `events` events of one example aggregate straight through the store: an aggregate created, then
/// example after example, in appends of 1,000.
void write_history(const std::filesystem::path& db, const std::string& stream, std::uint64_t events) {
  store::options opts;
  opts.path = db.string();
  opts.mode = store::durability::buffered;
  auto opened = store::event_store::open(opts);
  if (!opened)
    throw std::runtime_error{"cannot open the store: " + opened.error().to_string()};
  auto& es = *opened.value();
  const store::event_codec<example_aggregate::event> codec;
  const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  std::uint64_t written = 0;
  while (written < events) {
    store::append_request append;
    append.stream = stream;
    append.expected_version = written;
    for (; written < events && append.events.size() < 1000; ++written)
      append.events.push_back(written == 0 ? codec.encode(examples::aggregate_created{}, now)
                                           : codec.encode(examples::example_created{written}, now));
    if (auto receipt = es.append(append); !receipt)
      throw std::runtime_error{"cannot write the history: " + receipt.error().to_string()};
  }
}

result run_recovery(const bench_options& opt, const run_context& ctx) {
  const std::string id = "recovering";
  write_history(ctx.dir / "db", stream_of<example_aggregate>(id), opt.events);

  runtime rt{config_for(opt, ctx)};
  start<example_aggregate>(rt);
  struct loaded {
    std::uint64_t version = 0;
    std::size_t examples = 0;
    clock::time_point at;
  };
  std::promise<loaded> answer;
  const auto sent = clock::now();
  rt.query<example_aggregate>(id, [&answer](const aggregate_root<example_aggregate>* root, const command_result&) {
    const auto at = clock::now();
    answer.set_value(root != nullptr ? loaded{root->version(), root->state().count_examples(), at}
                                     : loaded{0, 0, at});
  });
  const auto got = answer.get_future().get();
  if (got.version != opt.events || got.examples != opt.events - 1)
    throw check_failed{"the activated aggregate is at version " + std::to_string(got.version) + " with " +
                       std::to_string(got.examples) + " examples, expected " + std::to_string(opt.events) +
                       " and " + std::to_string(opt.events - 1)};
  const double activation = seconds_between(sent, got.at);

  // The global log, as a projection rebuilding from scratch reads it.
  const auto replay_start = clock::now();
  std::uint64_t replayed = 0;
  for (std::uint64_t from = 1;;) {
    auto chunk = rt.store().read_log(from, 1024);
    if (!chunk)
      throw check_failed{"cannot read the global log: " + chunk.error().to_string()};
    if (chunk->empty())
      break;
    replayed += chunk->size();
    from = chunk->back().position + 1;
  }
  const double replay = seconds_between(replay_start, clock::now());
  if (replayed != opt.events)
    throw check_failed{"the global log holds " + std::to_string(replayed) + " events, expected " +
                       std::to_string(opt.events)};
  rt.stop();

  auto r = make_result(opt, "cairn");
  r.events = opt.events;
  r.seconds = activation;
  r.events_per_s = static_cast<double>(opt.events) / activation;
  r.activation_ms = activation * 1000;
  r.replay_events_per_s = static_cast<double>(replayed) / replay;
  return r;
}

/// Creates every aggregate straight through the runtime's store, as if by earlier runs: no actor is active yet.
void write_creations(store::event_store& es, const std::vector<std::string>& ids) {
  const store::event_codec<example_aggregate::event> codec;
  const auto created = codec.encode(examples::aggregate_created{}, 0);
  std::vector<store::append_request> appends;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    appends.push_back(store::append_request{stream_of<example_aggregate>(ids[i]), 0, {created}, {}, {}});
    if (appends.size() == 4096 || i + 1 == ids.size()) {
      for (const auto& receipt : es.group_append(appends))
        if (!receipt)
          throw std::runtime_error{"cannot create the aggregates: " + receipt.error().to_string()};
      appends.clear();
    }
  }
}

result run_idle_memory(const bench_options& opt, const run_context& ctx) {
  auto cfg = config_for(opt, ctx);
  // Nothing may passivate while it is counted.
  cfg.idle_timeout = std::chrono::hours{24};
  runtime rt{cfg};
  start<example_aggregate>(rt);
  const auto ids = examples_workload(opt).ids;
  write_creations(rt.store(), ids);

  release_free_memory();
  const auto before = resident_bytes();
  std::counting_semaphore<> window{static_cast<std::ptrdiff_t>(opt.in_flight)};
  std::atomic<std::uint64_t> answered{0};
  std::atomic<std::uint64_t> wrong{0};
  const auto start_time = clock::now();
  {
    progress_line progress{ctx.label + " activate", answered, ids.size(), "aggregates"};
    for (const auto& id : ids) {
      window.acquire();
      rt.query<example_aggregate>(id, [&](const aggregate_root<example_aggregate>* root, const command_result&) {
        if (root == nullptr || root->version() != 1)
          wrong.fetch_add(1);
        answered.fetch_add(1);
        window.release();
      });
    }
    for (std::size_t i = 0; i < opt.in_flight; ++i)
      window.acquire();
  }
  const double seconds = seconds_between(start_time, clock::now());
  if (wrong.load() != 0)
    throw check_failed{std::to_string(wrong.load()) + " aggregates did not activate at version 1"};
  if (const auto active = rt.stats().active_instances; active != ids.size())
    throw check_failed{std::to_string(active) + " instances active, expected " + std::to_string(ids.size())};
  // Quiescence: the scheduler threads go idle and the last messages are freed before memory is counted.
  std::this_thread::sleep_for(std::chrono::milliseconds{500});
  release_free_memory();
  const auto after = resident_bytes();
  if (const auto active = rt.stats().active_instances; active != ids.size())
    throw check_failed{std::to_string(active) + " instances active after the pause, expected " +
                       std::to_string(ids.size())};
  rt.stop();

  auto r = make_result(opt, "cairn");
  r.in_flight = opt.in_flight;
  r.seconds = seconds;
  r.rss_bytes_per_aggregate = (static_cast<double>(after) - static_cast<double>(before)) /
                              static_cast<double>(ids.size());
  return r;
}

} // namespace

result run_cairn(const bench_options& opt, const run_context& ctx) {
  switch (opt.scenario) {
  case scenario_kind::uniform:
  case scenario_kind::hotspot:
    return run_commands(opt, ctx, examples_workload(opt), config_for(opt, ctx));
  case scenario_kind::orders:
    return run_commands(opt, ctx, orders_workload(opt), config_for(opt, ctx));
  case scenario_kind::lone:
    return run_lone(opt, ctx);
  case scenario_kind::recovery:
    return run_recovery(opt, ctx);
  case scenario_kind::idle_memory:
    return run_idle_memory(opt, ctx);
  case scenario_kind::transfers:
    return run_transfers(opt, ctx);
  case scenario_kind::churn:
    return run_churn(opt, ctx);
  }
  throw std::logic_error{"unknown scenario"};
}

} // namespace cairn::bench
