// routed: how many committed events per second reach live subscriptions, from commit to handler.
//
// cairn-router: a producer thread submits appends of one event each to the runtime's committer (at most
// `window` unanswered); the committer writes them in group appends and hands each committed batch to the router,
// which sends it to every live subscription actor; each subscriber's handler checks and counts. Timed: from the
// first submit to the moment the last subscription's handler got event N.
// Baselines, same run, same store and load: commit-only (the same path with no subscription: first submit to the
// last answer) and thread-queue (one plain writer thread doing the same group appends and handing the same
// batches to one consumer thread per subscriber through a mutex/condvar queue, unbounded).
//
// router-only: the router's own delivery capacity, without the store's write cost. The N events are written to
// the store first (untimed, group_append, no router); then one thread hands the same committed batches (4096
// events each, as the committer would) to router::publish(), waiting only so that no subscription has more than
// 4 of them outstanding (half its credit: it stays live). Timed: first publish
// -> event N handled by every subscription. Baseline, same batches: thread-queue-only (each batch pushed to one
// mutex/condvar queue per consumer thread; timed: first push -> event N counted by every consumer).
#include "pipeline.hpp"
#include "scenarios.hpp"

#include <condition_variable>
#include <deque>
#include <span>
#include <thread>

namespace cairn::subbench {

namespace {

using batch_ptr = std::shared_ptr<const std::vector<store::stored_event>>;

/// Samples, while a run goes on, whether every route is live, the largest lag and the resident memory.
class route_sampler {
public:
  route_sampler(detail::router& feed, std::vector<std::shared_ptr<detail::route>> routes)
    : feed_(feed), routes_(std::move(routes)), thread_([this] { work(); }) {}

  ~route_sampler() {
    finish();
  }

  void finish() {
    stop_.store(true);
    if (thread_.joinable())
      thread_.join();
  }

  double live_fraction() const {
    return samples_ == 0 ? 1.0 : static_cast<double>(live_samples_) / static_cast<double>(samples_);
  }
  std::uint64_t max_lag() const {
    return max_lag_;
  }
  std::uint64_t max_rss() const {
    return max_rss_;
  }

private:
  void work() {
    while (!stop_.load()) {
      bool all_live = true;
      auto last = feed_.last_published();
      for (auto& r : routes_) {
        all_live = all_live && feed_.is_live(*r);
        auto p = r->position.load();
        max_lag_ = std::max(max_lag_, last > p ? last - p : 0);
      }
      ++samples_;
      live_samples_ += all_live ? 1 : 0;
      max_rss_ = std::max(max_rss_, current_rss_bytes());
      std::this_thread::sleep_for(std::chrono::milliseconds{2});
    }
  }

  detail::router& feed_;
  std::vector<std::shared_ptr<detail::route>> routes_;
  std::atomic<bool> stop_{false};
  std::uint64_t samples_ = 0, live_samples_ = 0, max_lag_ = 0, max_rss_ = 0;
  std::thread thread_;
};

std::string durability_name(bool durable) {
  return durable ? "durable" : "buffered";
}

void check_all(const std::string& label, std::uint64_t events, const answer_count& answers,
               std::uint64_t last_position, const std::vector<std::unique_ptr<event_check>>& checks,
               std::vector<std::string>& failures) {
  if (answers.failed() != 0)
    failures.push_back(label + ": " + std::to_string(answers.failed()) + " appends failed: " + answers.first_failure());
  if (last_position != events)
    failures.push_back(label + ": the log ends at " + std::to_string(last_position) + ", expected " +
                       std::to_string(events));
  for (std::size_t i = 0; i < checks.size(); ++i) {
    if (checks[i]->seen() != events)
      failures.push_back(label + ": subscription " + std::to_string(i) + " got " + std::to_string(checks[i]->seen()) +
                         " events, expected " + std::to_string(events));
    if (checks[i]->errors() != 0)
      failures.push_back(label + ": subscription " + std::to_string(i) + ": " + std::to_string(checks[i]->errors()) +
                         " events out of order, first: " + checks[i]->first_error());
  }
}

/// `subs` subscribers on `path`, each checking every event of 1..events once, in order, into `checks`.
std::vector<std::shared_ptr<detail::route>> add_counting_subscribers(commit_path& path, std::uint64_t subs,
                                                                     std::uint64_t events,
                                                                     std::vector<std::unique_ptr<event_check>>& checks) {
  std::vector<std::shared_ptr<detail::route>> routes;
  for (std::uint64_t i = 0; i < subs; ++i) {
    checks.push_back(std::make_unique<event_check>(1, events));
    routes.push_back(path.add_subscriber("count-" + std::to_string(i),
                                         [c = checks.back().get()](const store::stored_event& e) { c->on(e); }));
  }
  return routes;
}

/// Waits (at most 10 s) until every route is on the live feed.
void wait_until_live(detail::router& feed, const std::vector<std::shared_ptr<detail::route>>& routes) {
  for (auto deadline = clock::now() + std::chrono::seconds{10}; clock::now() < deadline;) {
    bool all = true;
    for (const auto& r : routes)
      all = all && feed.is_live(*r);
    if (all)
      return;
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
}

/// The runtime's path: committer -> router -> `subs` subscription actors (0: commit-only).
row run_cairn(const options& opt, bool durable, std::uint64_t subs, std::vector<std::string>& failures) {
  const auto label = (subs == 0 ? std::string{"commit-only"} : "cairn-router x" + std::to_string(subs)) + " " +
                     durability_name(durable);
  scratch_dir dir{opt.dir + "/routed-cairn"};
  answer_count answers{opt.events};
  std::vector<std::unique_ptr<event_check>> checks;
  commit_path path{dir.str(), durable};
  auto routes = add_counting_subscribers(path, subs, opt.events, checks);
  // On an empty log each subscription reads nothing and goes live at once; wait for that before timing.
  auto& feed = *path.core().feed;
  wait_until_live(feed, routes);
  auto reply_to = path.answer_actor(answers);
  route_sampler sampler{feed, routes};
  append_generator gen{opt.streams};
  auto& commits = *path.core().commits;
  const auto start = clock::now();
  for (std::uint64_t sent = 0; sent < opt.events; ++sent) {
    answers.wait_below(sent, opt.window);
    commits.submit(gen.next(), reply_to);
  }
  answers.wait_all();
  auto end = answers.done_at();
  for (std::size_t i = 0; i < checks.size(); ++i) {
    if (!checks[i]->wait_done(std::chrono::seconds{120})) {
      failures.push_back(label + ": subscription " + std::to_string(i) + " stalled");
      continue;
    }
    end = std::max(end, checks[i]->done_at());
  }
  sampler.finish();
  check_all(label, opt.events, answers, path.core().store->last_position(), checks, failures);
  path.stop();

  row r;
  r.scenario = "routed";
  r.system = subs == 0 ? "commit-only" : "cairn-router";
  r.durability = durability_name(durable);
  r.subscriptions = subs;
  r.events = opt.events;
  r.seconds = seconds_between(start, end);
  r.events_per_s = static_cast<double>(opt.events) / *r.seconds;
  r.rss_bytes = sampler.max_rss();
  if (subs == 0) {
    r.timed = "first submit to the committer -> last append answered (no subscription)";
  } else {
    r.max_lag = sampler.max_lag();
    r.live_fraction = sampler.live_fraction();
    r.timed = "first submit to the committer -> event N handled by every subscription";
  }
  return r;
}

/// A queue of batches for one consumer thread.
struct batch_queue {
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<batch_ptr> batches;
  bool closed = false;

  void push(batch_ptr b) {
    {
      std::lock_guard guard{mutex};
      batches.push_back(std::move(b));
    }
    wake.notify_one();
  }

  void close() {
    {
      std::lock_guard guard{mutex};
      closed = true;
    }
    wake.notify_all();
  }

  /// Hands each event to `on` until closed and drained.
  template <class F>
  void drain(F&& on) {
    std::deque<batch_ptr> taken;
    for (;;) {
      {
        std::unique_lock lock{mutex};
        wake.wait(lock, [this] { return closed || !batches.empty(); });
        if (batches.empty())
          return;
        taken.swap(batches);
      }
      for (auto& b : taken)
        for (const auto& e : *b)
          on(e);
      taken.clear();
    }
  }
};

/// The baseline: the same group appends from one plain writer thread, the same batches to consumer threads.
row run_thread_queue(const options& opt, bool durable, std::uint64_t subs, std::vector<std::string>& failures) {
  const auto label = "thread-queue x" + std::to_string(subs) + " " + durability_name(durable);
  scratch_dir dir{opt.dir + "/routed-queue"};
  store::options so;
  so.path = dir.str();
  so.mode = durable ? store::durability::durable : store::durability::buffered;
  auto opened = store::event_store::open(so);
  if (!opened) {
    failures.push_back(label + ": cannot open the store: " + opened.error().to_string());
    return {};
  }
  auto& db = **opened;
  answer_count answers{opt.events};
  std::vector<std::unique_ptr<event_check>> checks;
  std::vector<std::unique_ptr<batch_queue>> queues;
  std::vector<std::thread> consumers;
  for (std::uint64_t i = 0; i < subs; ++i) {
    checks.push_back(std::make_unique<event_check>(1, opt.events));
    queues.push_back(std::make_unique<batch_queue>());
  }
  for (std::uint64_t i = 0; i < subs; ++i)
    consumers.emplace_back([q = queues[i].get(), c = checks[i].get()] {
      q->drain([c](const store::stored_event& e) { c->on(e); });
    });

  std::mutex in_mutex;
  std::condition_variable in_wake;
  std::vector<store::append_request> in;
  bool in_closed = false;
  const std::size_t max_batch = runtime_config{}.max_batch_appends;
  std::thread writer{[&] {
    std::vector<store::append_request> requests;
    for (;;) {
      {
        std::unique_lock lock{in_mutex};
        in_wake.wait(lock, [&] { return in_closed || !in.empty(); });
        if (in.empty())
          return;
        requests.swap(in);
      }
      for (std::size_t begin = 0; begin < requests.size(); begin += max_batch) {
        auto count = std::min(max_batch, requests.size() - begin);
        auto part = std::span{requests}.subspan(begin, count);
        auto results = db.group_append(part);
        auto batch = std::make_shared<std::vector<store::stored_event>>();
        batch->reserve(count);
        for (std::size_t i = 0; i < count; ++i) {
          if (results[i]) {
            auto& ev = part[i].events;
            for (std::size_t k = 0; k < ev.size(); ++k)
              batch->push_back(store::stored_event{part[i].stream, results[i]->new_version - ev.size() + 1 + k,
                                                   results[i]->first_position + k, std::move(ev[k])});
          }
        }
        for (auto& q : queues)
          q->push(batch);
        for (std::size_t i = 0; i < count; ++i)
          answers.on(results[i] ? command_result{}
                                : command_result::failure(command_errc::storage_failure,
                                                          results[i].error().to_string()));
      }
      requests.clear();
    }
  }};

  append_generator gen{opt.streams};
  const auto start = clock::now();
  for (std::uint64_t sent = 0; sent < opt.events; ++sent) {
    answers.wait_below(sent, opt.window);
    bool was_empty;
    {
      std::lock_guard guard{in_mutex};
      was_empty = in.empty();
      in.push_back(gen.next());
    }
    if (was_empty)
      in_wake.notify_one();
  }
  answers.wait_all();
  auto end = answers.done_at();
  for (auto& c : checks)
    if (c->wait_done(std::chrono::seconds{120}))
      end = std::max(end, c->done_at());
  {
    std::lock_guard guard{in_mutex};
    in_closed = true;
  }
  in_wake.notify_all();
  writer.join();
  for (auto& q : queues)
    q->close();
  for (auto& t : consumers)
    t.join();
  check_all(label, opt.events, answers, db.last_position(), checks, failures);

  row r;
  r.scenario = "routed";
  r.system = "thread-queue";
  r.durability = durability_name(durable);
  r.subscriptions = subs;
  r.events = opt.events;
  r.seconds = seconds_between(start, end);
  r.events_per_s = static_cast<double>(opt.events) / *r.seconds;
  r.timed = "first append queued -> event N counted by every consumer thread";
  return r;
}


/// Writes N events to `db` directly (group appends of 4096, no router) and returns them as committed batches.
std::vector<batch_ptr> write_batches(store::event_store& db, const options& opt, std::vector<std::string>& failures) {
  std::vector<batch_ptr> batches;
  append_generator gen{opt.streams};
  std::vector<store::append_request> group;
  for (std::uint64_t written = 0; written < opt.events;) {
    group.clear();
    for (; group.size() < 4096 && written + group.size() < opt.events;)
      group.push_back(gen.next());
    auto results = db.group_append(group);
    auto batch = std::make_shared<std::vector<store::stored_event>>();
    batch->reserve(group.size());
    for (std::size_t i = 0; i < group.size(); ++i) {
      if (!results[i]) {
        failures.push_back("router-only: writing the log failed: " + results[i].error().to_string());
        return {};
      }
      batch->push_back(store::stored_event{group[i].stream, results[i]->new_version, results[i]->first_position,
                                           std::move(group[i].events[0])});
    }
    written += group.size();
    batches.push_back(std::move(batch));
  }
  return batches;
}

/// router-only (cairn) and thread-queue-only (baseline) with `subs` subscriptions, on the same batches.
std::pair<row, row> run_delivery(const options& opt, bool durable, std::uint64_t subs,
                                 std::vector<std::string>& failures) {
  const auto label = "router-only x" + std::to_string(subs) + " " + durability_name(durable);
  scratch_dir dir{opt.dir + "/routed-delivery"};
  std::vector<std::unique_ptr<event_check>> checks;
  commit_path path{dir.str(), durable};
  auto routes = add_counting_subscribers(path, subs, opt.events, checks);
  auto& feed = *path.core().feed;
  wait_until_live(feed, routes);
  // Live on the empty log; now the events are committed without the router knowing, and published below.
  auto batches = write_batches(*path.core().store, opt, failures);
  if (batches.empty())
    return {};
  route_sampler sampler{feed, routes};
  auto start = clock::now();
  // Paced like a committer just as fast as the slowest subscription: at most 4 batches outstanding per route,
  // half its credit, so that every subscription stays on the live feed.
  for (std::size_t k = 0; k < batches.size(); ++k) {
    if (k >= 4) {
      const auto needed = batches[k - 4]->back().position;
      for (auto& r : routes)
        while (r->position.load(std::memory_order_acquire) < needed)
          std::this_thread::yield();
    }
    feed.publish(batches[k]);
  }
  auto end = start;
  for (std::size_t i = 0; i < checks.size(); ++i) {
    if (!checks[i]->wait_done(std::chrono::seconds{120})) {
      failures.push_back(label + ": subscription " + std::to_string(i) + " stalled");
      continue;
    }
    end = std::max(end, checks[i]->done_at());
  }
  sampler.finish();
  answer_count no_appends{0};
  check_all(label, opt.events, no_appends, path.core().store->last_position(), checks, failures);
  path.stop();

  row cairn;
  cairn.scenario = "routed";
  cairn.system = "router-only";
  cairn.durability = durability_name(durable);
  cairn.subscriptions = subs;
  cairn.events = opt.events;
  cairn.seconds = seconds_between(start, end);
  cairn.events_per_s = static_cast<double>(opt.events) / *cairn.seconds;
  cairn.max_lag = sampler.max_lag();
  cairn.live_fraction = sampler.live_fraction();
  cairn.rss_bytes = sampler.max_rss();
  cairn.timed = "first router::publish() of pre-committed 4096-event batches -> event N handled by every subscription";

  // The baseline on the same batches.
  const auto qlabel = "thread-queue-only x" + std::to_string(subs) + " " + durability_name(durable);
  std::vector<std::unique_ptr<event_check>> qchecks;
  std::vector<std::unique_ptr<batch_queue>> queues;
  std::vector<std::thread> consumers;
  for (std::uint64_t i = 0; i < subs; ++i) {
    qchecks.push_back(std::make_unique<event_check>(1, opt.events));
    queues.push_back(std::make_unique<batch_queue>());
  }
  for (std::uint64_t i = 0; i < subs; ++i)
    consumers.emplace_back([q = queues[i].get(), c = qchecks[i].get()] {
      q->drain([c](const store::stored_event& e) { c->on(e); });
    });
  start = clock::now();
  for (const auto& b : batches)
    for (auto& q : queues)
      q->push(b);
  end = start;
  for (auto& c : qchecks)
    if (c->wait_done(std::chrono::seconds{120}))
      end = std::max(end, c->done_at());
  for (auto& q : queues)
    q->close();
  for (auto& t : consumers)
    t.join();
  check_all(qlabel, opt.events, no_appends, opt.events, qchecks, failures);
  row queue;
  queue.scenario = "routed";
  queue.system = "thread-queue-only";
  queue.durability = durability_name(durable);
  queue.subscriptions = subs;
  queue.events = opt.events;
  queue.seconds = seconds_between(start, end);
  queue.events_per_s = static_cast<double>(opt.events) / *queue.seconds;
  queue.timed = "first push of the same batches -> event N counted by every consumer thread";
  cairn.ratio_vs["thread-queue-only"] = *cairn.events_per_s / *queue.events_per_s;
  return {cairn, queue};
}

} // namespace

outcome run_routed(const options& opt, bool durable) {
  outcome out;
  auto commit_only = run_cairn(opt, durable, 0, out.failures);
  out.rows.push_back(commit_only);
  for (auto subs : opt.subscriptions) {
    if (subs == 0)
      continue;
    auto cairn = run_cairn(opt, durable, subs, out.failures);
    auto queue = run_thread_queue(opt, durable, subs, out.failures);
    if (commit_only.events_per_s)
      cairn.ratio_vs["commit-only"] = *cairn.events_per_s / *commit_only.events_per_s;
    if (queue.events_per_s) {
      cairn.ratio_vs["thread-queue"] = *cairn.events_per_s / *queue.events_per_s;
      queue.ratio_vs["commit-only"] = *queue.events_per_s / *commit_only.events_per_s;
    }
    out.rows.push_back(std::move(cairn));
    if (queue.events_per_s)
      out.rows.push_back(std::move(queue));
    auto [router_only, queue_only] = run_delivery(opt, durable, subs, out.failures);
    if (router_only.events_per_s) {
      out.rows.push_back(std::move(router_only));
      out.rows.push_back(std::move(queue_only));
    }
  }
  return out;
}

} // namespace cairn::subbench
