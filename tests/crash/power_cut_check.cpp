// power-cut-check: cuts the power under saga traffic at random moments, reopens, and checks what a power loss may
// and may not take away. A SIGKILL keeps the OS page cache, so it cannot catch a missing fsync; this can.
//
//   power-cut-check [--rounds N] [--seed S] [--mode durable|buffered|both] [--keep DIR]
//
// N defaults to $CAIRN_POWER_CUT_ROUNDS, else 10. A round cuts the power once in each mode (each mode has its own
// data folder, kept from round to round). One cut:
//   1. a runtime runs orders and transfers (sagas, projections) on the data through cairn::store::power_cut, an
//      Env over the real files that keeps every byte written since a file's last sync in memory;
//   2. after 100-700 ms the power goes off (power_cut::freeze(): nothing reaches the disk from then on), the
//      traffic stops, the answers still in flight come in, the runtime stops;
//   3. power_cut::cut() drops every unsynced byte and every file its folder never recorded;
//   4. the store is reopened with the default Env and checked:
//      * the log is gapless (positions 1..L), each stream's versions run 1..head in log order, and each head
//        equals its stream's events in the log;
//      * nothing from before the round is lost, and what the round committed survives as a prefix: the events
//        up to L equal the ones the runtime had committed at those positions (what is lost is a suffix);
//      * no command is half there: each accepted command's events are all at or below L, or all above;
//      * durable mode: every command accepted before the power went off is there; buffered mode (where the
//        traffic calls event_store::flush() every 20-150 ms): every command accepted before a flush that
//        completed before the cut is there;
//   5. the runtime restarts on the data (sagas resume), settles, and the shop's invariants hold (money conserved,
//      every order decided, stock consistent, each read model equal to a rebuild from the log): every saga step
//      and projection update took effect exactly once.
// Prints one line per cut and "power-cut-check: N passed, M failed"; exits non-zero when a cut failed.
#include "shop_checks.hpp"

#include <cairn/store/power_cut.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unistd.h>
#include <vector>

using namespace cairn;
using namespace cairn::crash;

namespace {

runtime_config config_for(const std::string& dir, commit_mode mode) {
  runtime_config cfg;
  cfg.data_dir = dir;
  cfg.durability = mode;
  cfg.scheduler_threads = 2;
  return cfg;
}

const char* name(commit_mode mode) {
  return mode == commit_mode::durable ? "durable" : "buffered";
}

/// An accepted command's events.
struct accepted {
  std::uint64_t first_position = 0;
  std::uint64_t last_position = 0;
  bool before_cut = false; ///< answered while the power was still on
};

/// The answers of one cut's traffic.
class answers {
public:
  explicit answers(const store::power_cut& power) : power_(power) {}

  std::function<void(command_result)> callback() {
    return [this](command_result r) {
      // The store's write (and sync) happened before this answer: if the power is still on now, it was on then.
      const bool before_cut = !power_.frozen();
      {
        std::lock_guard lock{mutex_};
        if (r.ok()) {
          ++accepted_count_;
          if (before_cut)
            ++accepted_before_cut_;
          if (r.first_position != 0)
            accepted_.push_back({r.first_position, r.last_position, before_cut});
        }
      }
      in_flight_.fetch_sub(1);
    };
  }

  void sent(int n) {
    in_flight_.fetch_add(n);
  }
  int in_flight() const {
    return in_flight_.load();
  }
  /// Only once nothing is in flight.
  const std::vector<accepted>& all() const {
    return accepted_;
  }
  /// How many commands have been accepted so far (all() up to this index).
  std::size_t mark() {
    std::lock_guard lock{mutex_};
    return accepted_.size();
  }
  /// The commands up to `mark` were covered by a WAL sync (event_store::flush()) that completed with the power on.
  void synced_up_to(std::size_t mark) {
    std::lock_guard lock{mutex_};
    synced_mark_ = std::max(synced_mark_, mark);
  }
  std::size_t synced_mark() const {
    return synced_mark_;
  }
  std::uint64_t accepted_count() const {
    return accepted_count_;
  }
  std::uint64_t accepted_before_cut() const {
    return accepted_before_cut_;
  }

private:
  const store::power_cut& power_;
  std::atomic<int> in_flight_{0};
  std::mutex mutex_;
  std::vector<accepted> accepted_;
  std::uint64_t accepted_count_ = 0;
  std::uint64_t accepted_before_cut_ = 0;
  std::size_t synced_mark_ = 0;
};

/// One data folder and what is known about it between cuts.
struct subject {
  commit_mode mode;
  std::string db;
  std::uint64_t settled_length = 0; ///< the log's length after the last verification (all of it on disk)
};

/// Totals over the cuts of one mode, for the summary.
struct totals {
  int cuts = 0;
  std::uint64_t accepted_before_cut = 0;
  std::uint64_t accepted_lost = 0;
  std::uint64_t positions_lost = 0;
  std::uint64_t bytes_dropped = 0;
};

/// The events of the log from `from` on.
std::vector<store::stored_event> log_from(const store::event_store& s, std::uint64_t from, std::string& error) {
  std::vector<store::stored_event> out;
  for (;;) {
    auto chunk = s.read_log(from, 4096);
    if (!chunk) {
      error = "reading the log failed: " + chunk.error().to_string();
      return out;
    }
    if (chunk->empty())
      return out;
    from = chunk->back().position + 1;
    out.insert(out.end(), std::make_move_iterator(chunk->begin()), std::make_move_iterator(chunk->end()));
  }
}

/// Step 4 (see the top): the store as the power cut left it.
void check_store(const subject& sub, const std::vector<store::stored_event>& committed, const answers& answered,
                 std::vector<std::string>& failures, std::uint64_t& recovered_length, std::uint64_t& accepted_lost) {
  auto fail = [&](std::string what) { failures.push_back(std::move(what)); };
  store::options opts;
  opts.path = sub.db;
  auto opened = store::event_store::open(opts);
  if (!opened) {
    fail("reopening the store failed: " + opened.error().to_string());
    return;
  }
  const auto& s = **opened;

  // Gapless log, contiguous versions, heads agreeing with the log.
  std::unordered_map<std::string, std::uint64_t> versions;
  std::uint64_t length = 0;
  for (std::uint64_t from = 1;;) {
    auto chunk = s.read_log(from, 4096);
    if (!chunk) {
      fail("reading the log failed: " + chunk.error().to_string());
      return;
    }
    if (chunk->empty())
      break;
    for (const auto& e : *chunk) {
      if (e.position != length + 1) {
        fail("the log skips from position " + std::to_string(length) + " to " + std::to_string(e.position));
        return;
      }
      length = e.position;
      auto& v = versions[e.stream];
      if (e.version != v + 1) {
        fail("stream " + e.stream + " jumps from version " + std::to_string(v) + " to " + std::to_string(e.version) +
             " at position " + std::to_string(e.position));
        return;
      }
      v = e.version;
    }
    from = length + 1;
  }
  recovered_length = length;
  if (s.last_position() != length)
    fail("last_position() is " + std::to_string(s.last_position()) + ", the log ends at " + std::to_string(length));
  std::uint64_t heads_total = 0;
  for (std::string after;;) {
    auto heads = s.list_streams(after, 4096);
    if (!heads) {
      fail("listing the streams failed: " + heads.error().to_string());
      return;
    }
    if (heads->empty())
      break;
    for (const auto& h : *heads) {
      heads_total += h.version;
      if (auto i = versions.find(h.stream); i == versions.end() || i->second != h.version)
        fail("stream " + h.stream + " has head " + std::to_string(h.version) + " but " +
             std::to_string(i == versions.end() ? 0 : i->second) + " events in the log");
    }
    after = heads->back().stream;
  }
  if (heads_total != length)
    fail("the stream heads add up to " + std::to_string(heads_total) + " events, the log has " +
         std::to_string(length));

  // Only a suffix of what this round committed may be lost.
  if (length < sub.settled_length)
    fail("the log lost events from before the round: " + std::to_string(length) + " < " +
         std::to_string(sub.settled_length));
  const auto committed_end = sub.settled_length + committed.size();
  if (length > committed_end)
    fail("the log has " + std::to_string(length) + " events, more than the " + std::to_string(committed_end) +
         " committed");
  std::string error;
  auto recovered = log_from(s, sub.settled_length + 1, error);
  if (!error.empty())
    fail(error);
  for (std::size_t i = 0; i < recovered.size() && i < committed.size(); ++i) {
    const auto& r = recovered[i];
    const auto& c = committed[i];
    if (r.position != c.position || r.stream != c.stream || r.version != c.version || !(r.event == c.event)) {
      fail("position " + std::to_string(r.position) + " holds " + r.stream + "@" + std::to_string(r.version) +
           ", but " + c.stream + "@" + std::to_string(c.version) + " was committed there");
      break;
    }
  }

  // All of a command or nothing; in durable mode everything answered before the cut, in buffered mode everything
  // answered before a flush() that completed before the cut.
  std::uint64_t flushed_lost = 0;
  for (std::size_t i = 0; i < answered.all().size(); ++i) {
    const auto& a = answered.all()[i];
    if (a.first_position <= length && a.last_position > length)
      fail("a command is half there: its events are at " + std::to_string(a.first_position) + ".." +
           std::to_string(a.last_position) + ", the log ends at " + std::to_string(length));
    if (a.before_cut && a.last_position > length)
      ++accepted_lost;
    if (i < answered.synced_mark() && a.last_position > length)
      ++flushed_lost;
  }
  if (sub.mode == commit_mode::durable && accepted_lost != 0)
    fail(std::to_string(accepted_lost) + " commands accepted before the power cut are lost (durable mode)");
  if (flushed_lost != 0)
    fail(std::to_string(flushed_lost) + " commands accepted before a completed flush() are lost");
}

/// One power cut on `sub`; returns the failures.
std::vector<std::string> cut_once(subject& sub, std::mt19937& rng, int round, totals& sum) {
  std::vector<std::string> failures;
  auto fail = [&](std::string what) { failures.push_back(std::move(what)); };
  const auto started = std::chrono::steady_clock::now();
  const auto traffic_seed = static_cast<unsigned>(rng());
  const auto on_ms = 100 + rng() % 600;

  store::power_cut power;
  answers answered{power};
  std::vector<store::stored_event> committed;
  {
    auto cfg = config_for(sub.db, sub.mode);
    cfg.store_env = power.env();
    runtime rt{cfg};
    shop::register_shop(rt);
    if (auto ok = rt.start(); !ok) {
      fail("start failed: " + ok.error().to_string());
      return failures;
    }
    std::atomic<bool> stop{false};
    std::thread traffic{[&] {
      std::mt19937 traffic_rng{traffic_seed};
      auto done = answered.callback();
      for (unsigned n = 0; !stop.load(); ++n) {
        while (answered.in_flight() > 200 && !stop.load())
          std::this_thread::sleep_for(std::chrono::microseconds{200});
        answered.sent(send_traffic(rt, traffic_rng, std::to_string(traffic_seed) + "-" + std::to_string(n), done));
      }
    }};
    // Buffered mode: the application syncs now and then (event_store::flush()), so that a cut loses only what
    // came after the last sync. Durable mode syncs every write anyway; a flush there is harmless.
    std::thread syncer{[&] {
      std::mt19937 sync_rng{traffic_seed + 1};
      while (!stop.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds{20 + sync_rng() % 130});
        const auto mark = answered.mark();
        if (rt.store().flush() && !power.frozen())
          answered.synced_up_to(mark);
      }
    }};
    std::this_thread::sleep_for(std::chrono::milliseconds{on_ms});
    power.freeze();
    stop = true;
    traffic.join();
    syncer.join();
    if (!eventually([&] { return answered.in_flight() == 0; }, std::chrono::seconds{30})) {
      fail(std::to_string(answered.in_flight()) + " commands still unanswered 30 s after the power cut");
      return failures; // the runtime's destructor waits for them
    }
    // What the runtime committed this round (in its memory; the disk has what was synced of it).
    std::string error;
    committed = log_from(rt.store(), sub.settled_length + 1, error);
    if (!error.empty())
      fail(error);
    rt.stop();
  }
  const auto report = power.cut();

  std::uint64_t recovered = 0;
  std::uint64_t accepted_lost = 0;
  check_store(sub, committed, answered, failures, recovered, accepted_lost);
  if (!failures.empty())
    return failures;

  std::uint64_t settled = 0;
  auto invariants = verify(config_for(sub.db, sub.mode), settled);
  failures.insert(failures.end(), invariants.begin(), invariants.end());

  const auto committed_end = sub.settled_length + committed.size();
  const auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("round %d %s: power off after %u ms: %llu commands accepted (%llu before the cut); log %llu -> %llu "
              "committed, %llu recovered (%llu lost, %llu of them accepted before the cut); %llu unsynced bytes "
              "dropped, %llu files cut short, %llu removed, %llu restored; settled at %llu; %.2f s\n",
              round, name(sub.mode), static_cast<unsigned>(on_ms),
              static_cast<unsigned long long>(answered.accepted_count()),
              static_cast<unsigned long long>(answered.accepted_before_cut()),
              static_cast<unsigned long long>(sub.settled_length), static_cast<unsigned long long>(committed_end),
              static_cast<unsigned long long>(recovered), static_cast<unsigned long long>(committed_end - recovered),
              static_cast<unsigned long long>(accepted_lost),
              static_cast<unsigned long long>(report.unsynced_bytes_dropped),
              static_cast<unsigned long long>(report.files_truncated),
              static_cast<unsigned long long>(report.files_removed),
              static_cast<unsigned long long>(report.files_restored), static_cast<unsigned long long>(settled), took);
  ++sum.cuts;
  sum.accepted_before_cut += answered.accepted_before_cut();
  sum.accepted_lost += accepted_lost;
  sum.positions_lost += committed_end - recovered;
  sum.bytes_dropped += report.unsynced_bytes_dropped;
  sub.settled_length = settled;
  return failures;
}

int default_rounds() {
  if (const char* v = std::getenv("CAIRN_POWER_CUT_ROUNDS"); v != nullptr && *v != '\0')
    return std::atoi(v);
  return 10;
}

} // namespace

int main(int argc, char** argv) {
  int rounds = default_rounds();
  unsigned seed = static_cast<unsigned>(std::random_device{}());
  std::string keep;
  std::vector<commit_mode> modes{commit_mode::durable, commit_mode::buffered};
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--rounds" && i + 1 < argc) {
      rounds = std::atoi(argv[++i]);
    } else if (a == "--seed" && i + 1 < argc) {
      seed = static_cast<unsigned>(std::strtoul(argv[++i], nullptr, 10));
    } else if (a == "--keep" && i + 1 < argc) {
      keep = argv[++i];
    } else if (a == "--mode" && i + 1 < argc) {
      std::string_view m = argv[++i];
      if (m == "durable")
        modes = {commit_mode::durable};
      else if (m == "buffered")
        modes = {commit_mode::buffered};
      else if (m != "both") {
        std::fprintf(stderr, "power-cut-check: --mode is durable, buffered or both\n");
        return 2;
      }
    } else {
      std::fprintf(stderr, "usage: power-cut-check [--rounds N] [--seed S] [--mode durable|buffered|both] "
                           "[--keep DIR]\n");
      return 2;
    }
  }
  if (rounds < 1) {
    std::fprintf(stderr, "power-cut-check: the number of rounds must be at least 1\n");
    return 2;
  }
  const auto dir = keep.empty()
                     ? (std::filesystem::temp_directory_path() / ("cairn-power-cut-" + std::to_string(getpid())))
                     : std::filesystem::path{keep};
  std::filesystem::create_directories(dir);
  std::printf("power-cut-check: %d rounds, seed %u, data in %s\n", rounds, seed, dir.c_str());

  std::vector<subject> subjects;
  for (auto mode : modes) {
    subject sub{mode, (dir / name(mode)).string(), 0};
    // The starting data is written with the default Env and closed: all of it is on disk.
    if (!setup(config_for(sub.db, commit_mode::durable))) {
      std::fprintf(stderr, "power-cut-check: setup failed (%s)\n", name(mode));
      return 1;
    }
    store::options opts;
    opts.path = sub.db;
    auto opened = store::event_store::open(opts);
    if (!opened) {
      std::fprintf(stderr, "power-cut-check: %s\n", opened.error().to_string().c_str());
      return 1;
    }
    sub.settled_length = (*opened)->last_position();
    subjects.push_back(sub);
  }

  std::mt19937 rng{seed};
  int passed = 0;
  int failed = 0;
  std::vector<totals> sums(subjects.size());
  for (int round = 1; round <= rounds; ++round) {
    for (std::size_t i = 0; i < subjects.size(); ++i) {
      auto failures = cut_once(subjects[i], rng, round, sums[i]);
      if (failures.empty()) {
        ++passed;
      } else {
        ++failed;
        std::printf("round %d %s: FAILED\n", round, name(subjects[i].mode));
        for (const auto& f : failures)
          std::printf("  %s\n", f.c_str());
        // The data no longer says what the next round expects.
        subjects.erase(subjects.begin() + static_cast<std::ptrdiff_t>(i));
        sums.erase(sums.begin() + static_cast<std::ptrdiff_t>(i));
        --i;
      }
      std::fflush(stdout);
    }
    if (subjects.empty())
      break;
  }
  for (std::size_t i = 0; i < subjects.size(); ++i)
    std::printf("%s: %d cuts, %llu commands accepted before a cut, %llu of them lost, %llu log positions lost, "
                "%llu unsynced bytes dropped\n",
                name(subjects[i].mode), sums[i].cuts, static_cast<unsigned long long>(sums[i].accepted_before_cut),
                static_cast<unsigned long long>(sums[i].accepted_lost),
                static_cast<unsigned long long>(sums[i].positions_lost),
                static_cast<unsigned long long>(sums[i].bytes_dropped));
  if (keep.empty() && failed == 0)
    std::filesystem::remove_all(dir);
  std::printf("power-cut-check: %d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
