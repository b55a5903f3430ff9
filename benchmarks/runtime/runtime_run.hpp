// What every scenario run through cairn shares: the runtime's configuration for a run, driving a phase of commands
// with its checks, and reading the final versions back from the store. Templates, so that each scenario's file
// instantiates them for its own aggregate type.
//
// Thread-safety: each function from the thread that runs the scenario.
#pragma once

#include "command_driver.hpp"
#include "latency.hpp"
#include "options.hpp"
#include "report.hpp"
#include "run.hpp"
#include "workload.hpp"

#include <cairn/runtime/runtime.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace cairn::bench {

using bench_clock = std::chrono::steady_clock;

inline double seconds_between(bench_clock::time_point from, bench_clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

/// The runtime of a run: in ctx.dir, with the durability, threads and max-active of the command line.
inline runtime_config config_for(const bench_options& opt, const run_context& ctx) {
  runtime_config cfg;
  cfg.data_dir = (ctx.dir / "db").string();
  cfg.durability = opt.durable ? commit_mode::durable : commit_mode::buffered;
  cfg.scheduler_threads = opt.threads;
  cfg.max_active = opt.max_active;
  // The benchmark's own window must never be refused as overload.
  cfg.max_in_flight = std::max(cfg.max_in_flight, 2 * opt.in_flight);
  return cfg;
}

/// Starts the runtime; registering the types is the caller's.
inline void start_runtime(runtime& rt) {
  if (auto started = rt.start(); !started)
    throw std::runtime_error{"cannot start the runtime: " + started.error().to_string()};
}

/// The stream of an aggregate instance, as the runtime names it: "<type name>-<id>".
template <aggregate A>
std::string stream_of(const std::string& id) {
  return stream_name<A>(id);
}

/// Drives one phase; throws check_failed unless every command was answered once and accepted.
template <aggregate A>
drive_outcome drive(runtime& rt, const workload<A>& w, const command_phase<A>& phase, std::size_t in_flight,
                    bench_clock::time_point deadline, latency_histogram* latencies, const std::string& label) {
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

/// Called around the timed phases of run_commands, to measure more than it does (churn counts activations).
struct timed_hooks {
  /// Once the aggregates exist, before the clock starts. What it returns lives until the timed phases are over
  /// (also when a check fails) and goes before the runtime does: a sampling thread, for instance.
  std::function<std::shared_ptr<void>(runtime&)> before;
  /// After the timed phases (and after what `before` returned is gone), before the checks.
  std::function<void(runtime&, result&)> after;
};

/// uniform, hotspot, orders, lone and churn: create every aggregate (not timed), then the timed phases, then the
/// checks: every answer once and accepted, every stream at its expected version, the log and the store's event
/// counter matching the answers.
template <aggregate A>
result run_commands(const bench_options& opt, const run_context& ctx, const workload<A>& w, runtime_config cfg,
                    const timed_hooks& hooks = {}) {
  runtime rt{std::move(cfg)};
  rt.register_aggregate<A>();
  start_runtime(rt);
  drive(rt, w, creation_phase(w), opt.in_flight, bench_clock::time_point::max(), nullptr, ctx.label);

  std::shared_ptr<void> during = hooks.before ? hooks.before(rt) : nullptr;
  const auto before = rt.stats();
  latency_histogram latencies;
  std::vector<std::uint64_t> executed;
  std::uint64_t commands = 0;
  std::uint64_t events = 0;
  double seconds = 0;
  const auto deadline = opt.seconds ? bench_clock::now() + std::chrono::duration_cast<bench_clock::duration>(
                                                             std::chrono::duration<double>{*opt.seconds})
                                    : bench_clock::time_point::max();
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
  during.reset();

  auto r = make_result(opt, "cairn");
  if (hooks.after)
    hooks.after(rt, r);
  verify_versions(rt, w, executed);
  if (after.store_events - before.store_events != events)
    throw check_failed{"the store committed " + std::to_string(after.store_events - before.store_events) +
                       " events, the answers account for " + std::to_string(events)};
  rt.stop();

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

} // namespace cairn::bench
