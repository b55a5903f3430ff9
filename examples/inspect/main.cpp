// cairn-inspect: a read-only look into a cairn data folder, printing JSON on stdout.
//
//   cairn-inspect --data-dir DIR streams [--after NAME] [--limit N]   streams with their head versions
//   cairn-inspect --data-dir DIR stream NAME [--from V] [--limit N]   one stream's events (decoded when known)
//   cairn-inspect --data-dir DIR log [--from P] [--limit N]           the global log from a position
//   cairn-inspect --data-dir DIR subscriptions                        tracked positions and their lag
//   cairn-inspect --data-dir DIR sizes                                RocksDB's figures per column family
//
// The store is opened read-only (no writes, no lock), so it works while the service is down or running. A folder
// that is missing, not a cairn store, or of an unknown format is reported on stderr with exit code 1; bad
// arguments exit with CLI11's codes (non-zero).
#include "event_json.hpp"

#include <cairn/store/event_store.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <charconv>
#include <cstdint>
#include <iostream>
#include <string>

namespace {

namespace store = cairn::store;

constexpr int exit_store_error = 1;

int fail(const std::string& path, const store::error& e) {
  std::cerr << "cairn-inspect: " << path << ": " << e.to_string() << '\n';
  return exit_store_error;
}

/// A whole number from 1 to 2^64-1, checked on the text (CLI11 would take 0 to a message about doubles and
/// saturate an overflow silently).
const CLI::Validator count_from_one{[](std::string& text) -> std::string {
                                      std::uint64_t value = 0;
                                      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
                                      if (text.empty() || ec != std::errc{} || end != text.data() + text.size() ||
                                          value == 0)
                                        return "must be a whole number from 1 to 18446744073709551615, got '" +
                                               text + "'";
                                      return {};
                                    },
                                    "COUNT>=1"};

nlohmann::json events_json(const std::vector<store::stored_event>& events) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : events)
    out.push_back(cairn::inspect_tool::event_to_json(e));
  return out;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"cairn-inspect: a read-only look into a cairn data folder (JSON on stdout)"};
  app.require_subcommand(1);
  std::string data_dir = "./data";
  app.add_option("--data-dir", data_dir, "the store's folder")->capture_default_str();

  std::size_t limit = 100;
  std::string after;
  auto* streams = app.add_subcommand("streams", "streams with their head versions, in name order");
  streams->add_option("--after", after, "list streams whose names sort after this one");
  streams->add_option("--limit", limit, "at most this many streams")->capture_default_str()->check(count_from_one);

  std::string stream_name;
  std::uint64_t from = 1;
  auto* stream = app.add_subcommand("stream", "one stream's events, decoded when an example domain knows them");
  stream->add_option("name", stream_name, "the stream")->required();
  stream->add_option("--from", from, "the first version")->capture_default_str()->check(count_from_one);
  stream->add_option("--limit", limit, "at most this many events")->capture_default_str()->check(count_from_one);

  auto* log = app.add_subcommand("log", "the global log from a position");
  log->add_option("--from", from, "the first position")->capture_default_str()->check(count_from_one);
  log->add_option("--limit", limit, "at most this many events")->capture_default_str()->check(count_from_one);

  auto* subscriptions = app.add_subcommand("subscriptions", "tracked subscriber positions and their lag");
  auto* sizes = app.add_subcommand("sizes", "RocksDB's size figures per column family");

  CLI11_PARSE(app, argc, argv);

  store::options opts;
  opts.path = data_dir;
  opts.read_only = true;
  opts.create_if_missing = false;
  opts.block_cache_bytes = 8u << 20;
  auto opened = store::event_store::open(opts);
  if (!opened)
    return fail(data_dir, opened.error());
  const store::event_store& db = **opened;
  const std::uint64_t last = db.last_position();

  nlohmann::json out;
  if (*streams) {
    auto heads = db.list_streams(after, limit);
    if (!heads)
      return fail(data_dir, heads.error());
    nlohmann::json list = nlohmann::json::array();
    for (const auto& h : *heads)
      list.push_back({{"stream", h.stream}, {"version", h.version}});
    out = {{"streams", list}};
    if (heads->size() == limit)
      out["next_after"] = heads->back().stream;
  } else if (*stream) {
    auto version = db.stream_version(stream_name);
    if (!version)
      return fail(data_dir, version.error());
    auto events = db.read_stream(stream_name, from, limit);
    if (!events)
      return fail(data_dir, events.error());
    auto snapshot = db.latest_snapshot(stream_name);
    if (!snapshot)
      return fail(data_dir, snapshot.error());
    out = {{"stream", stream_name}, {"version", *version}, {"events", events_json(*events)}};
    if (*snapshot)
      out["snapshot"] = {{"version", (*snapshot)->version},
                         {"schema_version", (*snapshot)->schema_version},
                         {"bytes", (*snapshot)->payload.size()}};
  } else if (*log) {
    auto events = db.read_log(from, limit);
    if (!events)
      return fail(data_dir, events.error());
    out = {{"from", from}, {"last_position", last}, {"events", events_json(*events)}};
  } else if (*subscriptions) {
    auto tracked = db.tracking_positions();
    if (!tracked)
      return fail(data_dir, tracked.error());
    nlohmann::json list = nlohmann::json::array();
    for (const auto& t : *tracked)
      list.push_back({{"subscriber", t.subscriber},
                      {"position", t.position},
                      {"lag", t.position < last ? last - t.position : 0}});
    out = {{"last_position", last}, {"subscriptions", list}};
  } else if (*sizes) {
    auto families = db.column_families();
    if (!families)
      return fail(data_dir, families.error());
    nlohmann::json list = nlohmann::json::array();
    for (const auto& f : *families)
      list.push_back({{"name", f.name},
                      {"estimated_keys", f.estimated_keys},
                      {"sst_bytes", f.sst_bytes},
                      {"sst_files", f.sst_files},
                      {"live_data_bytes", f.live_data_bytes},
                      {"memtable_bytes", f.memtable_bytes}});
    out = {{"last_position", last}, {"column_families", list}};
  }
  // Stream names and event types are bytes; show what is not UTF-8 as U+FFFD rather than fail.
  std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  return 0;
}
