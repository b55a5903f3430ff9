// catch-up: how fast a subscription added after N events reaches the last position.
//
// Setup (untimed): N events of one event per append, 10,000 streams, written directly through the store's
// group_append (4096 appends per write). Then, in the same run:
//   * read_log (baseline): the store's raw read_log from position 1 in chunks of 4096 (the subscription's chunk),
//     counting; timed: first read to the last chunk. Measured before and after the subscriptions; the faster one
//     counts.
//   * cairn-subscriber / cairn-projection: a runtime is started on that store and a subscriber (counts) or a
//     projection (counts, and writes its last position into its read model) is added; timed: add_subscriber() /
//     add_projection() to the handler getting event N. Each then has to go live: checked.
#include "pipeline.hpp"
#include "scenarios.hpp"

#include <cairn/runtime/runtime.hpp>

#include <thread>

namespace cairn::subbench {

namespace {

std::string durability_name(bool durable) {
  return durable ? "durable" : "buffered";
}

bool fill(const std::string& path, const options& opt, std::vector<std::string>& failures) {
  store::options so;
  so.path = path;
  so.mode = store::durability::buffered;
  auto opened = store::event_store::open(so);
  if (!opened) {
    failures.push_back("catch-up: cannot open the store: " + opened.error().to_string());
    return false;
  }
  append_generator gen{opt.streams};
  std::vector<store::append_request> group;
  for (std::uint64_t written = 0; written < opt.events;) {
    group.clear();
    for (; group.size() < 4096 && written + group.size() < opt.events;)
      group.push_back(gen.next());
    for (const auto& result : (*opened)->group_append(group))
      if (!result) {
        failures.push_back("catch-up: filling the log failed: " + result.error().to_string());
        return false;
      }
    written += group.size();
  }
  if (auto flushed = (*opened)->flush(); !flushed) {
    failures.push_back("catch-up: flush failed: " + flushed.error().to_string());
    return false;
  }
  return true;
}

row read_log_baseline(const std::string& path, const options& opt, bool durable, std::vector<std::string>& failures) {
  store::options so;
  so.path = path;
  so.mode = durable ? store::durability::durable : store::durability::buffered;
  auto opened = store::event_store::open(so);
  if (!opened) {
    failures.push_back("catch-up: cannot open the store: " + opened.error().to_string());
    return {};
  }
  event_check check{1, opt.events};
  const auto start = clock::now();
  for (std::uint64_t next = 1;;) {
    auto chunk = (*opened)->read_log(next, 4096);
    if (!chunk) {
      failures.push_back("catch-up: read_log failed: " + chunk.error().to_string());
      return {};
    }
    if (chunk->empty())
      break;
    for (const auto& e : *chunk)
      check.on(e);
    next = chunk->back().position + 1;
  }
  const auto end = clock::now();
  if (check.seen() != opt.events || check.errors() != 0)
    failures.push_back("catch-up: read_log gave " + std::to_string(check.seen()) + " events, " +
                       std::to_string(check.errors()) + " out of order");
  row r;
  r.scenario = "catch-up";
  r.system = "read_log";
  r.durability = durability_name(durable);
  r.events = opt.events;
  r.seconds = seconds_between(start, end);
  r.events_per_s = static_cast<double>(opt.events) / *r.seconds;
  r.timed = "read_log(1..N) in chunks of 4096, first read -> last chunk";
  return r;
}

row late_subscription(const std::string& path, const options& opt, bool durable, bool projection,
                      std::vector<std::string>& failures) {
  const std::string label = projection ? "cairn-projection" : "cairn-subscriber";
  const std::string name = projection ? "late-projection" : "late-subscriber";
  runtime_config cfg;
  cfg.data_dir = path;
  cfg.durability = durable ? commit_mode::durable : commit_mode::buffered;
  runtime rt{cfg};
  if (auto started = rt.start(); !started) {
    failures.push_back("catch-up: the runtime did not start: " + started.error().to_string());
    return {};
  }
  event_check check{1, opt.events};
  std::uint64_t max_rss = current_rss_bytes();
  const auto start = clock::now();
  auto added = projection ? rt.add_projection(name,
                                              [&check](const store::stored_event& e, projection_writer& w) {
                                                check.on(e);
                                                w.put("last", std::to_string(e.position));
                                              })
                          : rt.add_subscriber(name, [&check](const store::stored_event& e) { check.on(e); });
  if (!added.ok()) {
    failures.push_back("catch-up: " + label + " not added: " + to_string(added));
    return {};
  }
  bool done = false;
  for (auto deadline = clock::now() + std::chrono::seconds{300}; !done && clock::now() < deadline;) {
    done = check.wait_done(std::chrono::seconds{0});
    max_rss = std::max(max_rss, current_rss_bytes());
    if (!done)
      std::this_thread::sleep_for(std::chrono::milliseconds{2});
  }
  row r;
  if (!done) {
    failures.push_back("catch-up: " + label + " stalled at " + std::to_string(check.seen()) + " events");
    return r;
  }
  const auto end = check.done_at();
  // Caught up: it must now go live, with its position tracked at N.
  bool live = false;
  for (auto deadline = clock::now() + std::chrono::seconds{10}; !live && clock::now() < deadline;) {
    auto subs = rt.subscriptions();
    live = subs.size() == 1 && subs[0].live && subs[0].position == opt.events && subs[0].lag == 0;
    if (!live)
      std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
  if (!live)
    failures.push_back("catch-up: " + label + " did not go live at position " + std::to_string(opt.events));
  if (check.seen() != opt.events || check.errors() != 0)
    failures.push_back("catch-up: " + label + " got " + std::to_string(check.seen()) + " events, " +
                       std::to_string(check.errors()) + " out of order: " + check.first_error());
  if (projection) {
    auto stored = rt.store().projection_value(projection_key(name, "last"));
    if (!stored || !*stored || **stored != std::to_string(opt.events))
      failures.push_back("catch-up: the projection's read model does not say position " + std::to_string(opt.events));
  }
  rt.stop();
  r.scenario = "catch-up";
  r.system = label;
  r.durability = durability_name(durable);
  r.subscriptions = 1;
  r.events = opt.events;
  r.seconds = seconds_between(start, end);
  r.events_per_s = static_cast<double>(opt.events) / *r.seconds;
  r.rss_bytes = max_rss;
  r.timed = std::string{projection ? "add_projection()" : "add_subscriber()"} +
            " on a runtime over N events -> handler got event N";
  return r;
}

} // namespace

outcome run_catch_up(const options& opt, bool durable) {
  outcome out;
  scratch_dir dir{opt.dir + "/catch-up"};
  if (!fill(dir.str(), opt, out.failures))
    return out;
  auto baseline = read_log_baseline(dir.str(), opt, durable, out.failures);
  std::vector<row> late;
  for (bool projection : {false, true}) {
    auto r = late_subscription(dir.str(), opt, durable, projection, out.failures);
    if (!r.events_per_s)
      continue;
    late.push_back(std::move(r));
  }
  // Read again after the subscriptions: the faster of the two reads is the baseline, so that neither the first
  // reader's cold cache nor a noisy moment flatters cairn.
  if (auto again = read_log_baseline(dir.str(), opt, durable, out.failures);
      again.events_per_s && (!baseline.events_per_s || *again.events_per_s > *baseline.events_per_s))
    baseline = std::move(again);
  for (auto& r : late) {
    if (baseline.events_per_s)
      r.ratio_vs["read_log"] = *r.events_per_s / *baseline.events_per_s;
    out.rows.push_back(std::move(r));
  }
  if (baseline.events_per_s)
    out.rows.insert(out.rows.begin(), std::move(baseline));
  return out;
}

} // namespace cairn::subbench
