// transfers: the money-transfer saga of examples/shop (transfer.hpp, account.hpp) end to end through the runtime,
// with its process manager registered as the shop registers it.
//
// --aggregates accounts are opened and each given as many cents as there are transfers (not timed), so that no
// debit can be refused. Then --commands transfers of one cent each, --in-flight at once: a client sends
// start_transfer, and the transfer counts as done when its last event (credit accepted, or refund accepted) is
// seen by a subscriber of the log, which then starts the next one. Every 50th transfer goes to an account that
// does not exist, so the compensation path (credit refused, debit refunded) runs too. Latency is from the
// start_transfer sent to the last event seen: five commands (seven when refunded), each its own commit.
//
// Checks: every start_transfer answered once and accepted; every transfer ends once, the way it must (completed,
// or refunded when its destination is missing); each transfer's stream holds exactly the events of that ending;
// every account's balance is what the completed transfers add up to, and the money of all accounts is what was
// deposited.
#include "progress.hpp"
#include "runtime_run.hpp"
#include "scenarios.hpp"

#include <cairn/domains/account.hpp>
#include <cairn/domains/transfer.hpp>
#include <cairn/domains/transfer_upgrade.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace cairn::bench {

namespace {

using namespace cairn::domains;
using accounts::account;
using transfers::transfer;

/// Transfer n with n % refund_every == refund_every - 1 goes to an account that does not exist.
constexpr std::uint64_t refund_every = 50;
constexpr std::string_view transfer_prefix = "t";

bool refunded_by_design(std::uint64_t n) noexcept {
  return n % refund_every == refund_every - 1;
}

/// Who pays whom in transfer n: a pure function of (seed, n), so that the final balances can be recomputed.
struct transfer_plan {
  explicit transfer_plan(const bench_options& opt)
    : accounts(opt.aggregates), choose(key_chooser::uniform(opt.aggregates, opt.seed)) {
  }

  std::size_t from(std::uint64_t n) const noexcept {
    return choose(2 * n);
  }

  std::size_t to(std::uint64_t n) const noexcept {
    const auto t = choose(2 * n + 1);
    return t == from(n) ? (t + 1) % accounts : t;
  }

  std::size_t accounts;
  key_chooser choose;
};

struct transfers_outcome {
  std::uint64_t started = 0;
  std::uint64_t completed = 0;
  std::uint64_t compensated = 0;
  double seconds = 0;
};

/// Keeps --in-flight transfers going: each start_transfer is sent by the client (this object), each transfer's end
/// is seen on the log by its subscriber, which then starts the next one.
///
/// Thread-safety: run() from one thread; on_event() from the subscription's thread; the answers from CAF threads.
class transfer_driver {
public:
  transfer_driver(runtime& rt, const bench_options& opt, const std::vector<std::string>& account_ids,
                  latency_histogram& latencies)
    : rt_(rt), plan_(opt), account_ids_(account_ids), total_(*opt.commands), in_flight_(opt.in_flight),
      latencies_(latencies), sent_ns_(std::make_unique<std::atomic<std::int64_t>[]>(total_)),
      answered_(std::make_unique<std::atomic<bool>[]>(total_)),
      ended_(std::make_unique<std::atomic<bool>[]>(total_)) {
  }

  /// Runs every transfer to its end; throws check_failed on a refused start, a duplicate or a wrong ending.
  transfers_outcome run(const std::string& label, std::chrono::seconds stall_limit = std::chrono::seconds{60}) {
    const auto slots = std::min<std::uint64_t>(in_flight_, total_);
    active_.store(slots);
    running_.store(true);
    {
      progress_line progress{label + " transfers", ended_count_, total_, "transfers"};
      start_ = bench_clock::now();
      for (std::uint64_t s = 0; s < slots; ++s)
        start_next();
      std::unique_lock lock{mutex_};
      auto last_ended = ended_count_.load();
      auto last_change = bench_clock::now();
      while (!done_cv_.wait_for(lock, std::chrono::milliseconds{500}, [this] { return done_; })) {
        const auto ended = ended_count_.load();
        const auto now = bench_clock::now();
        if (ended != last_ended) {
          last_ended = ended;
          last_change = now;
        } else if (now - last_change > stall_limit) {
          std::fprintf(stderr, "check failed: %s: %llu transfers started, %llu ended, none for %lld s\n",
                       label.c_str(), static_cast<unsigned long long>(next_.load()),
                       static_cast<unsigned long long>(ended), static_cast<long long>(stall_limit.count()));
          std::_Exit(2);
        }
      }
    }
    // Every transfer ended, so every start_transfer committed; its answer may still be on its way.
    const auto answers_due = bench_clock::now() + stall_limit;
    while (answered_count_.load() < started() && bench_clock::now() < answers_due && failures_.load() == 0)
      std::this_thread::sleep_for(std::chrono::milliseconds{1});
    std::lock_guard guard{mutex_};
    if (!first_failure_.empty())
      throw check_failed{std::to_string(failures_.load()) + " failures; the first: " + first_failure_};
    if (answered_count_.load() != started())
      throw check_failed{std::to_string(started()) + " transfers started, " +
                         std::to_string(answered_count_.load()) + " start_transfer commands answered"};
    return transfers_outcome{started(), completed_.load(), compensated_.load(),
                             std::chrono::duration<double>(end_ - start_).count()};
  }

  /// Every committed event, in log order.
  void on_event(const store::stored_event& e) {
    // At least once: the position is the idempotency key.
    if (e.position <= last_position_ || !running_.load())
      return;
    last_position_ = e.position;
    const auto ending = ending_of(e.event.type);
    if (ending == end_kind::none)
      return;
    const auto n = transfer_number(e.stream);
    if (!n || *n >= total_)
      return fail("an ending of an unknown transfer: " + e.stream);
    const auto now = bench_clock::now();
    if (ended_[*n].exchange(true))
      return fail(e.stream + " ended twice (" + e.event.type + ")");
    const auto expected = refunded_by_design(*n) ? end_kind::compensated : end_kind::completed;
    if (ending != expected)
      fail(e.stream + " ended with " + e.event.type);
    (ending == end_kind::completed ? completed_ : compensated_).fetch_add(1);
    latencies_.record(now - bench_clock::time_point{bench_clock::duration{sent_ns_[*n].load()}});
    ended_count_.fetch_add(1);
    start_next();
  }

  std::uint64_t started() const noexcept {
    return std::min(next_.load(), total_);
  }

  static std::string transfer_id(std::uint64_t n) {
    return std::string{transfer_prefix} + std::to_string(n);
  }

  static std::string destination(const transfer_plan& plan, const std::vector<std::string>& ids, std::uint64_t n) {
    return refunded_by_design(n) ? "nobody-" + std::to_string(n) : ids[plan.to(n)];
  }

private:
  enum class end_kind { none, completed, compensated, failed };

  static end_kind ending_of(std::string_view type) {
    if (type == transfers::credit_accepted::event_type)
      return end_kind::completed;
    if (type == transfers::refund_accepted::event_type)
      return end_kind::compensated;
    if (type == transfers::debit_refused::event_type || type == transfers::refund_refused::event_type)
      return end_kind::failed;
    return end_kind::none;
  }

  static std::optional<std::uint64_t> transfer_number(std::string_view stream) {
    const auto prefix = stream_name<transfer>(transfer_prefix);
    if (!stream.starts_with(prefix))
      return std::nullopt;
    try {
      return std::stoull(std::string{stream.substr(prefix.size())});
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }

  void start_next() {
    const auto n = stopping_.load() ? total_ : next_.fetch_add(1);
    if (n >= total_)
      return slot_finished();
    const auto id = transfer_id(n);
    sent_ns_[n].store(bench_clock::now().time_since_epoch().count());
    rt_.send<transfer>(id,
                       transfers::start_transfer{id, account_ids_[plan_.from(n)],
                                                 destination(plan_, account_ids_, n), money::from_minor(1)},
                       [this, n](command_result r) { on_start_answer(n, r); });
  }

  void on_start_answer(std::uint64_t n, const command_result& r) {
    if (answered_[n].exchange(true))
      return fail("start_transfer of " + transfer_id(n) + " answered twice");
    answered_count_.fetch_add(1);
    if (!r.ok()) {
      fail("start_transfer of " + transfer_id(n) + ": " + to_string(r));
      // It will never end: its slot ends here, and no more transfers are started.
      stopping_.store(true);
      slot_finished();
    }
  }

  void fail(const std::string& what) {
    if (failures_.fetch_add(1) == 0) {
      std::lock_guard guard{mutex_};
      first_failure_ = what;
    }
  }

  void slot_finished() {
    const auto now = bench_clock::now();
    if (active_.fetch_sub(1) != 1)
      return;
    std::lock_guard guard{mutex_};
    end_ = now;
    done_ = true;
    done_cv_.notify_all();
  }

  runtime& rt_;
  const transfer_plan plan_;
  const std::vector<std::string>& account_ids_;
  const std::uint64_t total_;
  const std::uint64_t in_flight_;
  latency_histogram& latencies_;
  const std::unique_ptr<std::atomic<std::int64_t>[]> sent_ns_;
  const std::unique_ptr<std::atomic<bool>[]> answered_;
  const std::unique_ptr<std::atomic<bool>[]> ended_;

  std::atomic<bool> running_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> next_{0};
  std::atomic<std::uint64_t> active_{0};
  std::atomic<std::uint64_t> answered_count_{0};
  std::atomic<std::uint64_t> ended_count_{0};
  std::atomic<std::uint64_t> completed_{0};
  std::atomic<std::uint64_t> compensated_{0};
  std::atomic<std::uint64_t> failures_{0};
  std::uint64_t last_position_ = 0; ///< the subscription's thread only
  bench_clock::time_point start_;
  bench_clock::time_point end_;

  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  std::string first_failure_;
};

/// The accounts, opened and funded through the runtime (not timed).
workload<account> accounts_workload(const bench_options& opt) {
  workload<account> w;
  for (std::size_t i = 0; i < opt.aggregates; ++i)
    w.ids.push_back("acct-" + std::to_string(i));
  w.create = accounts::open_account{"cairn-bench"};
  command_phase<account> fund;
  fund.name = "deposit";
  fund.commands = opt.aggregates;
  fund.target = [](std::uint64_t i) { return static_cast<std::size_t>(i); };
  // One cent per transfer: no account can run dry, whatever the order of the debits.
  fund.command = [cents = static_cast<std::int64_t>(*opt.commands)](std::uint64_t) {
    return accounts::deposit{money::from_minor(cents)};
  };
  w.phases.push_back(std::move(fund));
  return w;
}

/// The event types of each transfer's stream, in order, for the way it must end: each step's answer is recorded
/// (step_answered) with the events it causes.
std::vector<std::string_view> expected_stream(std::uint64_t n) {
  constexpr auto answered = step_answered<transfer>::event_type;
  if (refunded_by_design(n))
    return {transfers::transfer_started::event_type, answered, transfers::debit_accepted::event_type, answered,
            transfers::credit_refused::event_type, answered, transfers::refund_accepted::event_type};
  return {transfers::transfer_started::event_type, answered, transfers::debit_accepted::event_type, answered,
          transfers::credit_accepted::event_type};
}

void verify_transfer_streams(runtime& rt, std::uint64_t transfers) {
  for (std::uint64_t n = 0; n < transfers; ++n) {
    const auto stream = stream_of<transfer>(transfer_driver::transfer_id(n));
    auto events = rt.store().read_stream(stream, 1, 16);
    if (!events)
      throw check_failed{"cannot read " + stream + ": " + events.error().to_string()};
    const auto expected = expected_stream(n);
    bool same = events->size() == expected.size();
    for (std::size_t i = 0; same && i < expected.size(); ++i)
      same = (*events)[i].event.type == expected[i];
    if (!same) {
      std::string got;
      for (const auto& e : *events)
        got += (got.empty() ? "" : ", ") + e.event.type;
      throw check_failed{stream + " holds [" + got + "], expected " + std::to_string(expected.size()) +
                         " events ending in " + std::string{expected.back()}};
    }
  }
}

void verify_balances(runtime& rt, const bench_options& opt, const std::vector<std::string>& ids) {
  const transfer_plan plan{opt};
  const auto deposited = static_cast<std::int64_t>(*opt.commands);
  std::vector<std::int64_t> expected(ids.size(), deposited);
  for (std::uint64_t n = 0; n < *opt.commands; ++n)
    if (!refunded_by_design(n)) {
      --expected[plan.from(n)];
      ++expected[plan.to(n)];
    }
  std::int64_t total = 0;
  for (std::size_t a = 0; a < ids.size(); ++a) {
    const auto got = rt.get<account>(ids[a]);
    if (!got.ok())
      throw check_failed{"cannot read account " + ids[a] + ": " + to_string(got.status)};
    const auto balance = got.root->state().balance().minor_units;
    total += balance;
    if (balance != expected[a])
      throw check_failed{"account " + ids[a] + " holds " + std::to_string(balance) + " cents, expected " +
                         std::to_string(expected[a])};
  }
  const auto all = deposited * static_cast<std::int64_t>(ids.size());
  if (total != all)
    throw check_failed{"the accounts hold " + std::to_string(total) + " cents, " + std::to_string(all) +
                       " were deposited"};
}

} // namespace

result run_transfers(const bench_options& opt, const run_context& ctx) {
  const auto setup = accounts_workload(opt);
  latency_histogram latencies;
  runtime rt{config_for(opt, ctx)};
  rt.register_aggregate<account>();
  rt.register_process_manager<transfer, account>();
  transfers::add_upcasters(rt.codec<transfer>()); // a data directory kept from a release before cairn::saga
  // Held by the subscriber too: it may outlive this function's locals until the runtime is gone.
  auto driver = std::make_shared<transfer_driver>(rt, opt, setup.ids, latencies);
  if (auto added = rt.add_subscriber("cairn-bench.transfers",
                                     [driver](const store::stored_event& e) { driver->on_event(e); });
      !added.ok())
    throw std::runtime_error{"cannot add the subscriber: " + to_string(added)};
  start_runtime(rt);
  drive(rt, setup, creation_phase(setup), opt.in_flight, bench_clock::time_point::max(), nullptr, ctx.label);
  for (const auto& phase : setup.phases)
    drive(rt, setup, phase, opt.in_flight, bench_clock::time_point::max(), nullptr, ctx.label);

  const auto before = rt.stats();
  const auto out = driver->run(ctx.label);
  const auto after = rt.stats();
  if (out.started != *opt.commands || out.completed + out.compensated != out.started)
    throw check_failed{std::to_string(out.started) + " transfers started, " + std::to_string(out.completed) +
                       " completed and " + std::to_string(out.compensated) + " refunded"};
  verify_transfer_streams(rt, out.started);
  verify_balances(rt, opt, setup.ids);
  rt.stop();

  auto r = make_result(opt, "cairn");
  r.in_flight = opt.in_flight;
  r.commands = out.started;
  r.events = after.store_events - before.store_events;
  r.seconds = out.seconds;
  r.commands_per_s = static_cast<double>(out.started) / out.seconds;
  r.events_per_s = static_cast<double>(*r.events) / out.seconds;
  r.appends_per_s = static_cast<double>(after.appends - before.appends) / out.seconds;
  r.p50_us = latencies.percentile_us(0.5);
  r.p99_us = latencies.percentile_us(0.99);
  r.p999_us = latencies.percentile_us(0.999);
  if (const auto syncs = after.store_syncs - before.store_syncs; syncs != 0)
    r.events_per_fsync = static_cast<double>(*r.events) / static_cast<double>(syncs);
  if (const auto batches = after.batches - before.batches; batches != 0)
    r.appends_per_write = static_cast<double>(after.appends - before.appends) / static_cast<double>(batches);
  r.transfers_completed = out.completed;
  r.transfers_compensated = out.compensated;
  return r;
}

} // namespace cairn::bench
