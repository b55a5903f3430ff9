// slow-subscriber: commit throughput with a deliberately slow subscriber against the same load without it.
//
// Each run: a fresh runtime (accounts), `accounts` accounts opened (untimed), then uniform deposits with
// `in_flight` commands outstanding for `seconds`; timed: the first deposit sent -> the last one answered. The "with"
// run has a subscriber that sleeps `slow_ms` per event, added before the accounts are opened; it is soon dropped
// from the live feed and reads the log at its own pace. Sampled every 10 ms in both runs: the process's resident
// memory and (with) the subscriber's lag. Issue 5 asks for with/without >= 0.8 and bounded memory.
#include "probe.hpp"
#include "scenarios.hpp"

#include <cairn/domains/account.hpp>
#include <cairn/runtime/runtime.hpp>

#include <condition_variable>
#include <functional>
#include <thread>

namespace cairn::subbench {

namespace {

using domains::accounts::account;

std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// Keeps `slots` commands outstanding: each answer (on a CAF thread) sends the next one, until `limit` commands
/// or the deadline.
class command_loop {
public:
  using sender = std::function<void(std::uint64_t i, std::function<void(command_result)> done)>;

  command_loop(sender send, std::uint64_t limit, clock::time_point deadline)
    : send_(std::move(send)), limit_(limit), deadline_(deadline) {}

  /// Runs to the end; returns the seconds from the first send to the last answer.
  double run(std::uint64_t slots) {
    active_.store(slots);
    start_ = clock::now();
    for (std::uint64_t s = 0; s < slots; ++s)
      next();
    std::unique_lock lock{mutex_};
    done_cv_.wait(lock, [this] { return done_; });
    return seconds_between(start_, end_);
  }

  std::uint64_t answered() const {
    return answered_.load();
  }
  std::uint64_t failed() const {
    return failed_.load();
  }
  std::string first_failure() const {
    std::lock_guard guard{mutex_};
    return first_failure_;
  }

private:
  void next() {
    if (clock::now() >= deadline_)
      return slot_finished();
    auto i = next_.fetch_add(1);
    if (i >= limit_)
      return slot_finished();
    send_(i, [this](command_result r) {
      if (!r.ok() && failed_.fetch_add(1) == 0) {
        std::lock_guard guard{mutex_};
        first_failure_ = to_string(r);
      }
      answered_.fetch_add(1);
      next();
    });
  }

  void slot_finished() {
    if (active_.fetch_sub(1) != 1)
      return;
    std::lock_guard guard{mutex_};
    end_ = clock::now();
    done_ = true;
    done_cv_.notify_all();
  }

  sender send_;
  const std::uint64_t limit_;
  const clock::time_point deadline_;
  std::atomic<std::uint64_t> next_{0}, answered_{0}, failed_{0}, active_{0};
  clock::time_point start_{}, end_{};
  mutable std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  std::string first_failure_;
};

std::string durability_name(bool durable) {
  return durable ? "durable" : "buffered";
}

row one_run(const options& opt, bool durable, bool slow, std::vector<std::string>& failures) {
  const auto label = std::string{"slow-subscriber "} + (slow ? "with" : "without") + " " + durability_name(durable);
  scratch_dir dir{opt.dir + "/slow-subscriber"};
  runtime_config cfg;
  cfg.data_dir = dir.str();
  cfg.durability = durable ? commit_mode::durable : commit_mode::buffered;
  runtime rt{cfg};
  rt.register_aggregate<account>();
  if (auto started = rt.start(); !started) {
    failures.push_back(label + ": the runtime did not start: " + started.error().to_string());
    return {};
  }
  event_check check{1, UINT64_MAX};
  const auto pause = std::chrono::duration<double, std::milli>{opt.slow_ms};
  if (slow)
    (void) rt.add_subscriber("slow", [&check, pause](const store::stored_event& e) {
      check.on(e);
      std::this_thread::sleep_for(pause);
    });
  std::vector<std::string> ids;
  for (std::uint64_t i = 0; i < opt.accounts; ++i)
    ids.push_back("acct-" + std::to_string(i));

  command_loop opening{[&](std::uint64_t i, std::function<void(command_result)> done) {
                         rt.send<account>(ids[i], domains::accounts::open_account{"bench"}, std::move(done));
                       },
                       opt.accounts, clock::time_point::max()};
  opening.run(std::min(opt.in_flight, opt.accounts));
  if (opening.failed() != 0)
    failures.push_back(label + ": " + std::to_string(opening.failed()) + " accounts not opened: " +
                       opening.first_failure());

  std::atomic<bool> sampling{true};
  std::uint64_t max_rss = current_rss_bytes(), max_lag = 0, samples = 0, live_samples = 0;
  std::thread sampler{[&] {
    while (sampling.load()) {
      max_rss = std::max(max_rss, current_rss_bytes());
      for (const auto& s : rt.subscriptions()) {
        max_lag = std::max(max_lag, s.lag);
        live_samples += s.live ? 1 : 0;
      }
      ++samples;
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
  }};
  const auto deadline = clock::now() + std::chrono::duration_cast<clock::duration>(
                                         std::chrono::duration<double>{opt.seconds});
  command_loop deposits{[&](std::uint64_t i, std::function<void(command_result)> done) {
                          rt.send<account>(ids[mix(i) % ids.size()],
                                           domains::accounts::deposit{money::from_minor(1)}, std::move(done));
                        },
                        UINT64_MAX, deadline};
  const double seconds = deposits.run(opt.in_flight);
  sampling.store(false);
  sampler.join();

  std::uint64_t lag = 0;
  for (const auto& s : rt.subscriptions())
    lag = s.lag;
  const auto committed = rt.store().last_position();
  if (deposits.failed() != 0)
    failures.push_back(label + ": " + std::to_string(deposits.failed()) + " deposits failed: " +
                       deposits.first_failure());
  if (committed != opt.accounts + deposits.answered() - deposits.failed())
    failures.push_back(label + ": the log has " + std::to_string(committed) + " events, expected " +
                       std::to_string(opt.accounts + deposits.answered() - deposits.failed()));
  if (slow && (check.errors() != 0 || check.seen() > committed))
    failures.push_back(label + ": the subscriber got " + std::to_string(check.seen()) + " events of " +
                       std::to_string(committed) + ", " + std::to_string(check.errors()) +
                       " out of order: " + check.first_error());
  rt.stop();

  row r;
  r.scenario = "slow-subscriber";
  r.system = slow ? "with-slow" : "without";
  r.durability = durability_name(durable);
  r.subscriptions = slow ? 1 : 0;
  r.commands = deposits.answered();
  r.seconds = seconds;
  r.commands_per_s = static_cast<double>(deposits.answered()) / seconds;
  r.rss_bytes = max_rss;
  if (slow) {
    r.lag = lag;
    r.max_lag = max_lag;
    r.live_fraction = samples == 0 ? 0.0 : static_cast<double>(live_samples) / static_cast<double>(samples);
  }
  r.timed = "first deposit sent -> last deposit answered (" + std::to_string(opt.in_flight) + " in flight over " +
            std::to_string(opt.accounts) + " accounts)";
  return r;
}

} // namespace

outcome run_slow_subscriber(const options& opt, bool durable, bool slow_first) {
  outcome out;
  row without, with;
  if (slow_first) {
    with = one_run(opt, durable, true, out.failures);
    without = one_run(opt, durable, false, out.failures);
  } else {
    without = one_run(opt, durable, false, out.failures);
    with = one_run(opt, durable, true, out.failures);
  }
  if (with.commands_per_s && without.commands_per_s)
    with.ratio_vs["without"] = *with.commands_per_s / *without.commands_per_s;
  for (auto* r : {&without, &with})
    if (r->commands_per_s)
      out.rows.push_back(std::move(*r));
  return out;
}

} // namespace cairn::subbench
