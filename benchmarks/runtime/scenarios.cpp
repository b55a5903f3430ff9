#include "scenarios.hpp"

#include "command_driver.hpp"
#include "latency.hpp"
#include "machine.hpp"
#include "progress.hpp"
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
using clock = std::chrono::steady_clock;
using examples::example_aggregate;

double seconds_between(clock::time_point from, clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

runtime_config config_for(const bench_options& opt, const run_context& ctx) {
  runtime_config cfg;
  cfg.data_dir = (ctx.dir / "db").string();
  cfg.durability = opt.durable ? commit_mode::durable : commit_mode::buffered;
  cfg.scheduler_threads = opt.threads;
  cfg.max_active = opt.max_active;
  // The benchmark's own window must never be refused as overload.
  cfg.max_in_flight = std::max(cfg.max_in_flight, 2 * opt.in_flight);
  return cfg;
}

template <aggregate A>
void start(runtime& rt) {
  rt.register_aggregate<A>();
  if (auto started = rt.start(); !started)
    throw std::runtime_error{"cannot start the runtime: " + started.error().to_string()};
}

/// The stream of an aggregate instance, as the runtime names it: "<type name>-<id>".
template <aggregate A>
std::string stream_of(const std::string& id) {
  return std::string{A::type_name} + "-" + id;
}

template <aggregate A>
drive_outcome drive(runtime& rt, const workload<A>& w, const command_phase<A>& phase, std::size_t in_flight,
                    clock::time_point deadline, latency_histogram* latencies, const std::string& label) {
  command_driver<A> driver{rt, w.ids, phase, in_flight, deadline, latencies};
  auto out = driver.run(label + " " + phase.name);
  if (out.duplicates != 0)
    throw check_failed{phase.name + ": " + std::to_string(out.duplicates) + " answers to commands already answered"};
  if (out.answered != out.sent)
    throw check_failed{phase.name + ": " + std::to_string(out.sent) + " commands sent, " +
                       std::to_string(out.answered) + " answered"};
  if (out.failed != 0)
    throw check_failed{std::to_string(out.failed) + " commands not accepted; the first: " + out.first_failure};
  return out;
}

/// Reads every aggregate's version back from the store: it must be what the commands that ran add up to.
template <aggregate A>
void verify_versions(runtime& rt, const workload<A>& w, const std::vector<std::uint64_t>& executed) {
  const auto expected = expected_versions(w, executed);
  std::uint64_t total = 0;
  std::size_t wrong = 0;
  std::string first_wrong;
  for (std::size_t a = 0; a < w.ids.size(); ++a) {
    total += expected[a];
    const auto stream = stream_of<A>(w.ids[a]);
    auto version = rt.store().stream_version(stream);
    if (!version)
      throw check_failed{"cannot read the version of " + stream + ": " + version.error().to_string()};
    if (*version != expected[a] && wrong++ == 0)
      first_wrong = stream + " is at version " + std::to_string(*version) + ", expected " +
                    std::to_string(expected[a]);
  }
  if (wrong != 0)
    throw check_failed{std::to_string(wrong) + " of " + std::to_string(w.ids.size()) +
                       " aggregates are at the wrong version; the first: " + first_wrong};
  if (rt.store().last_position() != total)
    throw check_failed{"the global log ends at position " + std::to_string(rt.store().last_position()) +
                       ", expected " + std::to_string(total) + " events"};
}

/// uniform, hotspot, orders and lone: create every aggregate (not timed), then the timed phases.
template <aggregate A>
result run_commands(const bench_options& opt, const run_context& ctx, const workload<A>& w) {
  runtime rt{config_for(opt, ctx)};
  start<A>(rt);
  drive(rt, w, creation_phase(w), opt.in_flight, clock::time_point::max(), nullptr, ctx.label);

  const auto before = rt.stats();
  latency_histogram latencies;
  std::vector<std::uint64_t> executed;
  std::uint64_t commands = 0;
  std::uint64_t events = 0;
  double seconds = 0;
  const auto deadline =
    opt.seconds ? clock::now() + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>{*opt.seconds})
                : clock::time_point::max();
  for (const auto& phase : w.phases) {
    const auto out = drive(rt, w, phase, opt.in_flight, deadline, &latencies, ctx.label);
    executed.push_back(out.sent);
    commands += out.answered;
    events += out.answered * phase.events_per_command;
    seconds += out.seconds;
    if (out.sent < phase.commands)
      break; // the time is up
  }
  const auto after = rt.stats();

  verify_versions(rt, w, executed);
  if (after.store_events - before.store_events != events)
    throw check_failed{"the store committed " + std::to_string(after.store_events - before.store_events) +
                       " events, the answers account for " + std::to_string(events)};
  rt.stop();

  auto r = make_result(opt, "cairn");
  r.in_flight = opt.in_flight;
  r.commands = commands;
  r.events = events;
  r.seconds = seconds;
  r.commands_per_s = static_cast<double>(commands) / seconds;
  r.events_per_s = static_cast<double>(events) / seconds;
  r.p50_us = latencies.percentile_us(0.5);
  r.p99_us = latencies.percentile_us(0.99);
  r.p999_us = latencies.percentile_us(0.999);
  if (const auto syncs = after.store_syncs - before.store_syncs; syncs != 0)
    r.events_per_fsync = static_cast<double>(events) / static_cast<double>(syncs);
  if (const auto batches = after.batches - before.batches; batches != 0)
    r.appends_per_write = static_cast<double>(after.appends - before.appends) / static_cast<double>(batches);
  return r;
}

result run_lone(const bench_options& opt, const run_context& ctx) {
  // Measured in the same run, on the same disk, so that the ratio compares like with like.
  latency_histogram fdatasync;
  measure_fdatasync(ctx.dir, 1000, fdatasync);
  auto r = run_commands(opt, ctx, examples_workload(opt));
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
    return run_commands(opt, ctx, examples_workload(opt));
  case scenario_kind::orders:
    return run_commands(opt, ctx, orders_workload(opt));
  case scenario_kind::lone:
    return run_lone(opt, ctx);
  case scenario_kind::recovery:
    return run_recovery(opt, ctx);
  case scenario_kind::idle_memory:
    return run_idle_memory(opt, ctx);
  }
  throw std::logic_error{"unknown scenario"};
}

} // namespace cairn::bench
