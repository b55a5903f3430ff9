// store-bench: the event store's write and read throughput, next to a raw RocksDB baseline measured in the
// same run on the same configuration.
//
//   store-bench [--json] [--reps N] [--dir PATH]
//
// Results (medians of N repetitions, each on a fresh database):
//   raw WriteBatch      the bytes a group append writes (events in the stream and log column families, heads),
//                       prebuilt, written with rocksdb::DB::Write: the ceiling for the store on this machine
//   group_append        event_store::group_append with --group appends of 1-3 events per write
//   append              event_store::append, one append per write (what a naive committer would do)
//   replay / catch-up   read_stream / read_log in chunks of 1000 after a reopen (data in SST files)
//   10k stream          the time to read back one 10,000-event stream in chunks of 1000
// --json adds one JSON object per result on its own line.
#include "internal/layout.hpp"
#include "internal/tuning.hpp"

#include <cairn/store/event_store.hpp>

#include <rocksdb/db.h>
#include <rocksdb/version.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

namespace {

using namespace cairn::store;
namespace layout = cairn::store::internal;
using clock_type = std::chrono::steady_clock;

struct config {
  bool json = false;
  int reps = 5;
  std::string dir;
  std::size_t group = 128;
  std::size_t streams = 10'000;
  std::size_t payload_bytes = 64;
  std::uint64_t buffered_events = 300'000;
  std::uint64_t durable_events = 100'000;
  std::uint64_t single_appends = 1'000;
};

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "store-bench: %s\n", what.c_str());
  std::exit(1);
}

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct row {
  std::string name;
  std::string unit;
  std::vector<double> samples;
  std::string note;
};

// A fresh folder for one repetition, removed afterwards.
class scratch {
public:
  scratch(const std::string& base, const std::string& name) : path_(base + "/" + name) {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ~scratch() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  scratch(const scratch&) = delete;
  scratch& operator=(const scratch&) = delete;
  const std::string& path() const {
    return path_;
  }

private:
  std::string path_;
};

std::unique_ptr<event_store> open_store(const std::string& path, durability mode) {
  options o;
  o.path = path;
  o.mode = mode;
  auto s = event_store::open(o);
  if (!s)
    die("cannot open the store: " + s.error().to_string());
  return std::move(*s);
}

std::string stream_name(std::size_t i) {
  std::string name{"order-"};
  name += std::to_string(i);
  return name;
}

// The workload: writes of `group` appends, each of 1-3 events to a random stream, with exact expected versions.
std::vector<std::vector<append_request>> make_workload(const config& cfg, std::uint64_t events, unsigned seed) {
  std::mt19937_64 rng{seed};
  std::string payload(cfg.payload_bytes, 'x');
  for (auto& c : payload)
    c = static_cast<char>('a' + rng() % 26);
  std::vector<std::uint64_t> heads(cfg.streams, 0);
  std::vector<std::vector<append_request>> writes;
  std::uint64_t total = 0;
  while (total < events) {
    auto& group = writes.emplace_back();
    group.reserve(cfg.group);
    for (std::size_t i = 0; i < cfg.group; ++i) {
      const std::size_t s = rng() % cfg.streams;
      append_request r;
      r.stream = stream_name(s);
      r.expected_version = heads[s];
      const std::size_t n = 1 + rng() % 3;
      for (std::size_t k = 0; k < n; ++k)
        r.events.push_back(event_record{"order.line_added", 1, 1'700'000'000'000'000 + static_cast<std::int64_t>(total),
                                        payload});
      heads[s] += n;
      total += n;
      group.push_back(std::move(r));
    }
  }
  return writes;
}

std::uint64_t count_events(const std::vector<std::vector<append_request>>& writes) {
  std::uint64_t n = 0;
  for (const auto& g : writes)
    for (const auto& r : g)
      n += r.events.size();
  return n;
}

// The raw baseline writes exactly the keys and values the store writes (docs/store.md), prebuilt.
struct raw_write {
  struct put {
    int cf;
    std::string key;
    std::string value;
  };
  std::vector<put> puts;
};

std::vector<raw_write> make_raw(const std::vector<std::vector<append_request>>& writes) {
  std::vector<raw_write> out;
  std::uint64_t position = 0;
  for (const auto& group : writes) {
    auto& w = out.emplace_back();
    for (const auto& r : group) {
      std::uint64_t version = r.expected_version;
      for (const auto& e : r.events) {
        ++version;
        ++position;
        std::string head;
        layout::put_event_head(head, e);
        std::string stream_value(1, layout::value_format);
        detail::put_varint(stream_value, position);
        stream_value += head;
        stream_value += e.payload;
        std::string log_value(1, layout::value_format);
        detail::put_varint(log_value, r.stream.size());
        log_value += r.stream;
        detail::put_varint(log_value, version);
        log_value += head;
        log_value += e.payload;
        w.puts.push_back({1, layout::stream_key(r.stream, version), std::move(stream_value)});
        w.puts.push_back({2, layout::be64(position), std::move(log_value)});
      }
      w.puts.push_back({3, r.stream, layout::be64(version)});
    }
  }
  return out;
}

double run_raw(const config& cfg, const std::vector<raw_write>& writes, std::uint64_t events, bool sync, int rep) {
  scratch dir{cfg.dir, "raw-" + std::to_string(rep)};
  options o;
  o.path = dir.path();
  auto t = layout::make_tuning(o);
  t.db.create_if_missing = true;
  t.db.create_missing_column_families = true;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const auto name : layout::column_families)
    cfs.emplace_back(std::string{name}, t.for_cf(name));
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  if (const auto s = rocksdb::DB::Open(t.db, dir.path(), cfs, &handles, &db); !s.ok())
    die("raw open: " + s.ToString());
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  rocksdb::WriteBatch batch;
  const auto start = clock_type::now();
  for (const auto& w : writes) {
    batch.Clear();
    for (const auto& p : w.puts)
      if (!batch.Put(handles[static_cast<std::size_t>(p.cf)], p.key, p.value).ok())
        die("raw batch");
    if (const auto s = db->Write(wo, &batch); !s.ok())
      die("raw write: " + s.ToString());
  }
  const double rate = static_cast<double>(events) / seconds_since(start);
  for (auto* h : handles)
    static_cast<void>(db->DestroyColumnFamilyHandle(h));
  delete db;
  return rate;
}

double run_group_append(const config& cfg, const std::vector<std::vector<append_request>>& writes,
                        std::uint64_t events, durability mode, int rep) {
  scratch dir{cfg.dir, "group-" + std::to_string(rep)};
  auto s = open_store(dir.path(), mode);
  const auto start = clock_type::now();
  for (const auto& group : writes)
    for (const auto& r : s->group_append(group))
      if (!r)
        die("group_append: " + r.error().to_string());
  const double rate = static_cast<double>(events) / seconds_since(start);
  if (s->last_position() != events)
    die("group_append wrote " + std::to_string(s->last_position()) + " events, expected " + std::to_string(events));
  return rate;
}

double run_single_appends(const config& cfg, int rep) {
  scratch dir{cfg.dir, "single-" + std::to_string(rep)};
  auto s = open_store(dir.path(), durability::durable);
  const std::string payload(cfg.payload_bytes, 'p');
  append_request r;
  r.events.push_back(event_record{"order.line_added", 1, 0, payload});
  r.events.push_back(r.events.front());
  const auto start = clock_type::now();
  for (std::uint64_t i = 0; i < cfg.single_appends; ++i) {
    r.stream = stream_name(i);
    if (auto result = s->append(r); !result)
      die("append: " + result.error().to_string());
  }
  return static_cast<double>(2 * cfg.single_appends) / seconds_since(start);
}

struct read_results {
  row replay{"replay: read_stream, chunks of 1000", "events/s", {}, ""};
  row catch_up{"catch-up: read_log, chunks of 1000", "events/s", {}, ""};
  row long_stream{"read a 10,000-event stream", "ms", {}, ""};
};

read_results run_reads(const config& cfg) {
  constexpr std::size_t streams = 200;
  constexpr std::uint64_t per_stream = 1000;
  constexpr std::uint64_t long_events = 10'000;
  constexpr std::size_t chunk = 1000;
  scratch dir{cfg.dir, "reads"};
  {
    auto s = open_store(dir.path(), durability::buffered);
    const std::string payload(cfg.payload_bytes, 'r');
    std::vector<append_request> group;
    // Interleaved like real traffic: every stream grows by 10 events per round.
    for (std::uint64_t round = 0; round < per_stream / 10; ++round) {
      group.clear();
      for (std::size_t i = 0; i < streams; ++i) {
        append_request r;
        r.stream = stream_name(i);
        r.expected_version = round * 10;
        r.events.assign(10, event_record{"order.line_added", 1, 0, payload});
        group.push_back(std::move(r));
      }
      for (const auto& r : s->group_append(group))
        if (!r)
          die("reads setup: " + r.error().to_string());
    }
    for (std::uint64_t v = 0; v < long_events; v += 1000) {
      append_request r;
      r.stream = "long-stream";
      r.expected_version = v;
      r.events.assign(1000, event_record{"order.line_added", 1, 0, payload});
      if (auto result = s->append(r); !result)
        die("reads setup: " + result.error().to_string());
    }
    if (auto st = s->flush(); !st)
      die("flush: " + st.error().to_string());
  }
  // Reopening moves the memtables into SST files: the reads below come from disk (and the OS page cache).
  auto s = open_store(dir.path(), durability::buffered);
  read_results out;
  for (int rep = 0; rep < cfg.reps; ++rep) {
    auto start = clock_type::now();
    std::uint64_t n = 0;
    for (std::size_t i = 0; i < streams; ++i) {
      const std::string name = stream_name(i);
      for (std::uint64_t from = 1;;) {
        auto part = s->read_stream(name, from, chunk);
        if (!part)
          die("read_stream: " + part.error().to_string());
        if (part->empty())
          break;
        n += part->size();
        from = part->back().version + 1;
      }
    }
    if (n != streams * per_stream)
      die("replay read " + std::to_string(n) + " events");
    out.replay.samples.push_back(static_cast<double>(n) / seconds_since(start));

    start = clock_type::now();
    n = 0;
    for (std::uint64_t from = 1;;) {
      auto part = s->read_log(from, chunk);
      if (!part)
        die("read_log: " + part.error().to_string());
      if (part->empty())
        break;
      n += part->size();
      from = part->back().position + 1;
    }
    if (n != streams * per_stream + long_events)
      die("catch-up read " + std::to_string(n) + " events");
    out.catch_up.samples.push_back(static_cast<double>(n) / seconds_since(start));

    start = clock_type::now();
    n = 0;
    for (std::uint64_t from = 1;;) {
      auto part = s->read_stream("long-stream", from, chunk);
      if (!part)
        die("read_stream: " + part.error().to_string());
      if (part->empty())
        break;
      n += part->size();
      from = part->back().version + 1;
    }
    if (n != long_events)
      die("long stream read " + std::to_string(n) + " events");
    out.long_stream.samples.push_back(seconds_since(start) * 1000);
  }
  out.replay.note = "200 streams x 1000 events, after a reopen";
  out.catch_up.note = "210,000 events, block cache bypassed";
  out.long_stream.note = "first repetition cold: " + std::to_string(out.long_stream.samples.front()).substr(0, 5) +
                         " ms";
  return out;
}

std::string format_value(double v, const std::string& unit) {
  char buf[64];
  if (unit == "ms")
    std::snprintf(buf, sizeof buf, "%.2f", v);
  else
    std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

void print(const config& cfg, const std::vector<row>& rows) {
  std::printf("\nstore-bench: %u cores, RocksDB %d.%d.%d, %zu-byte payloads, %zu streams, median of %d repetitions\n\n",
              std::thread::hardware_concurrency(), ROCKSDB_MAJOR, ROCKSDB_MINOR, ROCKSDB_PATCH, cfg.payload_bytes,
              cfg.streams, cfg.reps);
  std::printf("%-52s %14s %-9s %14s %14s   %s\n", "benchmark", "median", "unit", "min", "max", "notes");
  std::printf("%s\n", std::string(130, '-').c_str());
  for (const auto& r : rows) {
    const auto [lo, hi] = std::minmax_element(r.samples.begin(), r.samples.end());
    std::printf("%-52s %14s %-9s %14s %14s   %s\n", r.name.c_str(), format_value(median(r.samples), r.unit).c_str(),
                r.unit.c_str(), format_value(*lo, r.unit).c_str(), format_value(*hi, r.unit).c_str(),
                r.note.c_str());
  }
  if (!cfg.json)
    return;
  std::printf("\n");
  for (const auto& r : rows) {
    const auto [lo, hi] = std::minmax_element(r.samples.begin(), r.samples.end());
    std::printf("{\"benchmark\":\"%s\",\"unit\":\"%s\",\"median\":%.3f,\"min\":%.3f,\"max\":%.3f,\"reps\":%zu}\n",
                r.name.c_str(), r.unit.c_str(), median(r.samples), *lo, *hi, r.samples.size());
  }
}

config parse(int argc, char** argv) {
  config cfg;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg{argv[i]};
    if (arg == "--json") {
      cfg.json = true;
    } else if (arg == "--reps" && i + 1 < argc) {
      cfg.reps = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--dir" && i + 1 < argc) {
      cfg.dir = argv[++i];
    } else if (arg == "--group" && i + 1 < argc) {
      cfg.group = static_cast<std::size_t>(std::max(1, std::atoi(argv[++i])));
    } else {
      std::fprintf(stderr, "usage: store-bench [--json] [--reps N] [--dir PATH] [--group APPENDS_PER_WRITE]\n");
      std::exit(arg == "--help" || arg == "-h" ? 0 : 2);
    }
  }
  return cfg;
}

} // namespace

int main(int argc, char** argv) {
  config cfg = parse(argc, argv);
  std::unique_ptr<scratch> own_dir;
  if (cfg.dir.empty()) {
    own_dir = std::make_unique<scratch>(std::filesystem::temp_directory_path().string(),
                                        "cairn-store-bench-" + std::to_string(::getpid()));
    cfg.dir = own_dir->path();
  }
  std::filesystem::create_directories(cfg.dir);

  const auto buffered_work = make_workload(cfg, cfg.buffered_events, 1);
  const auto durable_work = make_workload(cfg, cfg.durable_events, 2);
  const auto buffered_events = count_events(buffered_work);
  const auto durable_events = count_events(durable_work);
  const auto buffered_raw = make_raw(buffered_work);
  const auto durable_raw = make_raw(durable_work);
  const std::string per_write = std::to_string(cfg.group) + " appends of 1-3 events per write";

  std::vector<row> rows{
      {"raw RocksDB WriteBatch, buffered", "events/s", {}, "same bytes, prebuilt"},
      {"group_append, buffered", "events/s", {}, per_write},
      {"raw RocksDB WriteBatch, durable (sync)", "events/s", {}, "same bytes, prebuilt"},
      {"group_append, durable", "events/s", {}, per_write},
      {"append, durable, one append per write", "events/s", {}, "2 events per append"},
  };
  // Interleaved repetitions, so that a slow phase of the machine does not hit one benchmark only.
  for (int rep = 0; rep < cfg.reps; ++rep) {
    rows[0].samples.push_back(run_raw(cfg, buffered_raw, buffered_events, false, rep));
    rows[1].samples.push_back(run_group_append(cfg, buffered_work, buffered_events, durability::buffered, rep));
    rows[2].samples.push_back(run_raw(cfg, durable_raw, durable_events, true, rep));
    rows[3].samples.push_back(run_group_append(cfg, durable_work, durable_events, durability::durable, rep));
    if (rep < 3)
      rows[4].samples.push_back(run_single_appends(cfg, rep));
  }
  auto reads = run_reads(cfg);
  rows.push_back(std::move(reads.replay));
  rows.push_back(std::move(reads.catch_up));
  rows.push_back(std::move(reads.long_stream));
  print(cfg, rows);
  return 0;
}
