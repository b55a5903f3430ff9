// churn: uniform traffic over many more aggregates than may be active at once (--max-active), so that most
// commands find their instance passivated and activate it again (replaying its stream) while others make room.
//
// Activations are counted by the aggregate itself: the benchmark's aggregate is the example aggregate with a
// counter in apply(aggregate_created). During the timed phase no aggregate is created, and with snapshots off
// every activation replays its stream from the first event, so each application of that event is one activation.
#include "runtime_run.hpp"
#include "scenarios.hpp"

#include <cairn/domains/example_aggregate.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>

namespace cairn::bench {

namespace {

using domains::examples::aggregate_created;
using domains::examples::example_aggregate;

/// The example aggregate, counting how often its creation event is applied (process-wide).
class counted_example : public example_aggregate {
public:
  using example_aggregate::apply;

  void apply(const aggregate_created& e) {
    creations_applied.fetch_add(1, std::memory_order_relaxed);
    example_aggregate::apply(e);
  }

  inline static std::atomic<std::uint64_t> creations_applied{0};
};

/// The same commands, addressed to the counting aggregate (its commands and events are the example's).
workload<counted_example> counted(const workload<example_aggregate>& w) {
  workload<counted_example> out;
  out.ids = w.ids;
  out.create = w.create;
  out.creation_events = w.creation_events;
  for (const auto& p : w.phases)
    out.phases.push_back(
      command_phase<counted_example>{p.name, p.commands, p.target, p.command, p.events_per_command, p.typical_events});
  return out;
}

} // namespace

result run_churn(const bench_options& opt, const run_context& ctx) {
  auto cfg = config_for(opt, ctx);
  // Every activation replays from the creation event (see above); at a few events per stream a snapshot would
  // not be read anyway.
  cfg.snapshot_interval = 0;

  std::uint64_t applied_before = 0;
  std::atomic<std::size_t> peak{0};
  timed_hooks hooks;
  hooks.before = [&](runtime& rt) -> std::shared_ptr<void> {
    applied_before = counted_example::creations_applied.load();
    return std::make_shared<std::jthread>([&rt, &peak](std::stop_token stop) {
      while (!stop.stop_requested()) {
        const auto active = rt.stats().active_instances;
        if (active > peak.load(std::memory_order_relaxed))
          peak.store(active, std::memory_order_relaxed);
        std::this_thread::sleep_for(std::chrono::milliseconds{5});
      }
    });
  };
  hooks.after = [&](runtime&, result& r) {
    r.activations = counted_example::creations_applied.load() - applied_before;
    r.peak_active = peak.load();
  };
  auto r = run_commands(opt, ctx, counted(examples_workload(opt)), cfg, hooks);
  r.max_active = opt.max_active;
  return r;
}

} // namespace cairn::bench
