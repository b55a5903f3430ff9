#include "baselines.hpp"

#include "closed_loop.hpp"
#include "latency.hpp"
#include "raw_db.hpp"
#include "workload.hpp"

#include <cairn/store/event_codec.hpp>

#include <rocksdb/write_batch.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <vector>

namespace cairn::bench {

namespace {

using clock = std::chrono::steady_clock;

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
    .count();
}

template <aggregate A>
std::vector<store::event_record> encode_all(const std::vector<typename A::event>& events) {
  const store::event_codec<typename A::event> codec;
  std::vector<store::event_record> out;
  for (const auto& e : events)
    out.push_back(codec.encode(e, now_us()));
  return out;
}

template <aggregate A>
std::vector<std::string> streams_of(const workload<A>& w) {
  std::vector<std::string> streams;
  for (const auto& id : w.ids)
    streams.push_back(stream_name<A>(id));
  return streams;
}

/// The part every baseline shares: bulk creation (not timed), the timed phases, the figures, the log check.
template <aggregate A>
class baseline_run {
public:
  baseline_run(const bench_options& opt, const run_context& ctx, const workload<A>& w)
    : opt_(opt), ctx_(ctx), w_(w), streams_(streams_of(w)), db_(ctx.dir / "db", opt.durable) {
  }

  /// Writes `creation(a)` (the events that create aggregate a) for every aggregate, unsynced and in large
  /// batches, then syncs once: the set-up is not what is measured.
  template <class Creation>
  void create_all(Creation&& creation) {
    rocksdb::WriteBatch batch;
    for (std::size_t a = 0; a < w_.ids.size(); ++a) {
      const auto& events = creation(a);
      db_.add(batch, streams_[a], 1, take_positions(events.size()), events);
      if (batch.Count() >= 8192 || a + 1 == w_.ids.size()) {
        db_.write(batch, false);
        batch.Clear();
      }
    }
    db_.sync_wal();
  }

  /// Runs the timed phases with `execute(phase, i)`, within the time budget.
  template <class Execute>
  void run_phases(std::size_t workers, std::size_t clients, double budget_seconds, Execute&& execute) {
    const auto syncs_before = db_.wal_syncs();
    const auto deadline =
      clock::now() + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>{budget_seconds});
    for (const auto& phase : w_.phases) {
      const auto out = run_closed_loop(
        workers, clients, phase.commands, deadline, [&](std::uint64_t i) { execute(phase, i); }, latencies_,
        ctx_.label + " " + phase.name);
      executed_.push_back(out.executed);
      commands_ += out.executed;
      events_ += out.executed * phase.events_per_command;
      seconds_ += out.seconds;
      if (out.executed < phase.commands)
        break;
    }
    syncs_ = db_.wal_syncs() - syncs_before;
    workers_ = workers;
    clients_ = clients;
  }

  /// The global log must hold exactly the events of the creations and of the commands that ran.
  std::vector<std::uint64_t> verify_log() const {
    auto expected = expected_versions(w_, executed_);
    const auto total = std::accumulate(expected.begin(), expected.end(), std::uint64_t{0});
    if (const auto n = db_.log_entries(); n != total)
      throw check_failed{"the baseline's log holds " + std::to_string(n) + " events, expected " +
                         std::to_string(total)};
    return expected;
  }

  /// Every stream's head must be at its expected version (only where heads cannot race).
  void verify_heads(const std::vector<std::uint64_t>& expected) const {
    for (std::size_t a = 0; a < streams_.size(); ++a)
      if (const auto head = db_.head(streams_[a]); head != expected[a])
        throw check_failed{"the baseline's " + streams_[a] + " is at version " + std::to_string(head) +
                           ", expected " + std::to_string(expected[a])};
  }

  result figures(const std::string& name) const {
    auto r = make_result(opt_, name);
    r.in_flight = clients_;
    r.threads = workers_;
    r.commands = commands_;
    r.events = events_;
    r.seconds = seconds_;
    r.commands_per_s = static_cast<double>(commands_) / seconds_;
    r.events_per_s = static_cast<double>(events_) / seconds_;
    r.p50_us = latencies_.percentile_us(0.5);
    r.p99_us = latencies_.percentile_us(0.99);
    r.p999_us = latencies_.percentile_us(0.999);
    if (opt_.durable && syncs_ != 0)
      r.events_per_fsync = static_cast<double>(events_) / static_cast<double>(syncs_);
    return r;
  }

  std::uint64_t take_positions(std::size_t n) {
    return next_position_.fetch_add(n, std::memory_order_relaxed);
  }

  const std::vector<std::string>& streams() const noexcept {
    return streams_;
  }

  const raw_db& db() const noexcept {
    return db_;
  }

private:
  const bench_options& opt_;
  const run_context& ctx_;
  const workload<A>& w_;
  const std::vector<std::string> streams_;
  raw_db db_;
  std::atomic<std::uint64_t> next_position_{1};
  latency_histogram latencies_;
  std::vector<std::uint64_t> executed_;
  std::uint64_t commands_ = 0;
  std::uint64_t events_ = 0;
  std::uint64_t syncs_ = 0;
  double seconds_ = 0;
  std::size_t workers_ = 0;
  std::size_t clients_ = 0;
};

/// rocksdb-raw and rocksdb-group: the bytes of each phase's typical events, no decision and no read.
template <aggregate A>
result run_raw_writes(const bench_options& opt, const run_context& ctx, const workload<A>& w,
                      const std::string& name, std::size_t writers, double budget_seconds) {
  baseline_run<A> run{opt, ctx, w};
  const auto created = encode_all<A>(aggregate_root<A>{"x"}.decide(w.create).events());
  run.create_all([&](std::size_t) -> const std::vector<store::event_record>& { return created; });

  // Each writer takes the next versions of its stream: no lock, as a raw writer would not take one.
  std::vector<std::atomic<std::uint64_t>> versions(w.ids.size());
  for (auto& v : versions)
    v.store(created.size() + 1);
  std::vector<std::vector<store::event_record>> typical;
  for (const auto& phase : w.phases)
    typical.push_back(encode_all<A>(phase.typical_events));

  run.run_phases(writers, writers, budget_seconds, [&](const command_phase<A>& phase, std::uint64_t i) {
    const auto& events = typical[static_cast<std::size_t>(&phase - w.phases.data())];
    const auto a = phase.target(i);
    rocksdb::WriteBatch batch;
    run.db().add(batch, run.streams()[a], versions[a].fetch_add(events.size()), run.take_positions(events.size()),
                 events);
    run.db().write(batch);
  });

  const auto expected = run.verify_log();
  // One writer writes each head in order; many writers may finish a stream's writes out of order.
  if (writers == 1)
    run.verify_heads(expected);
  return run.figures(name);
}

/// mutex-pool: the real domain decision under a mutex per aggregate, then one write per command.
template <aggregate A>
result run_mutex_pool(const bench_options& opt, const run_context& ctx, const workload<A>& w,
                      double budget_seconds) {
  baseline_run<A> run{opt, ctx, w};
  const store::event_codec<typename A::event> codec;
  std::vector<aggregate_root<A>> roots;
  roots.reserve(w.ids.size());
  for (const auto& id : w.ids)
    roots.emplace_back(id);
  const auto mutexes = std::make_unique<std::mutex[]>(w.ids.size());

  const auto encode = [&codec](const std::vector<typename A::event>& events) {
    std::vector<store::event_record> records;
    records.reserve(events.size());
    const auto now = now_us();
    for (const auto& e : events)
      records.push_back(codec.encode(e, now));
    return records;
  };
  run.create_all([&](std::size_t a) {
    auto decision = roots[a].decide(w.create);
    const auto records = encode(decision.events());
    roots[a].apply(decision.events());
    return records;
  });

  const auto workers = std::min(opt.threads, opt.in_flight);
  run.run_phases(workers, opt.in_flight, budget_seconds, [&](const command_phase<A>& phase, std::uint64_t i) {
    const auto a = phase.target(i);
    const auto command = phase.command(i);
    std::lock_guard guard{mutexes[a]};
    auto& root = roots[a];
    auto decision = root.decide(command);
    if (!decision)
      throw check_failed{"the baseline's " + w.ids[a] + " rejected a command: " + decision.error().message};
    const auto records = encode(decision.events());
    rocksdb::WriteBatch batch;
    run.db().add(batch, run.streams()[a], root.version() + 1, run.take_positions(records.size()), records);
    run.db().write(batch);
    root.apply(decision.events());
  });

  const auto expected = run.verify_log();
  run.verify_heads(expected);
  for (std::size_t a = 0; a < roots.size(); ++a)
    if (roots[a].version() != expected[a])
      throw check_failed{"the baseline's " + w.ids[a] + " is at version " + std::to_string(roots[a].version()) +
                         " in memory, expected " + std::to_string(expected[a])};
  return run.figures("mutex-pool");
}

template <aggregate A>
result run_on(const bench_options& opt, const std::string& name, const run_context& ctx, const workload<A>& w,
              double budget_seconds) {
  if (name == "rocksdb-raw")
    return run_raw_writes(opt, ctx, w, name, 1, budget_seconds);
  if (name == "rocksdb-group")
    return run_raw_writes(opt, ctx, w, name, opt.in_flight, budget_seconds);
  if (name == "mutex-pool")
    return run_mutex_pool(opt, ctx, w, budget_seconds);
  throw std::invalid_argument{"unknown baseline " + name};
}

} // namespace

result run_baseline(const bench_options& opt, const std::string& name, const run_context& ctx,
                    double budget_seconds) {
  if (opt.scenario == scenario_kind::orders)
    return run_on(opt, name, ctx, orders_workload(opt), budget_seconds);
  return run_on(opt, name, ctx, examples_workload(opt), budget_seconds);
}

} // namespace cairn::bench
