#include <cairn/store/event_store.hpp>

#include "internal/info_logger.hpp"
#include "internal/layout.hpp"
#include "internal/tuning.hpp"

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <cstdlib>
#include <array>
#include <atomic>
#include <exception>
#include <mutex>
#include <shared_mutex>
#include <string_view>
#include <unordered_map>

namespace cairn::store {

namespace {

namespace layout = internal;

constexpr const auto& cf_names = layout::column_families;
// Indexes into column_families and event_store::impl::cf.
enum cf_index : std::size_t {
  meta_cf,
  streams_cf,
  log_cf,
  heads_cf,
  snapshots_cf,
  tracking_cf,
  causations_cf,
  projections_cf,
  runtime_cf
};
static_assert(layout::column_families[log_cf] == layout::cf_log && layout::column_families[tracking_cf] ==
              layout::cf_tracking);
static_assert(layout::column_families[causations_cf] == layout::cf_causations &&
              layout::column_families[projections_cf] == layout::cf_projections &&
              layout::column_families[runtime_cf] == layout::cf_runtime);

using layout::is_cairn_cf;
using layout::make_tuning;
using layout::tuning;

status check_name(std::string_view what, std::string_view name) {
  if (name.empty())
    return error{errc::invalid_argument, std::string{what} + " name is empty"};
  if (name.size() > max_stream_name_bytes)
    return error{errc::invalid_argument, std::string{what} + " name is longer than " +
                                             std::to_string(max_stream_name_bytes) + " bytes"};
  if (name.find('\0') != std::string_view::npos)
    return error{errc::invalid_argument, std::string{what} + " name contains a NUL byte"};
  return ok;
}

status check_projection_key(std::string_view what, std::string_view key) {
  if (key.empty())
    return error{errc::invalid_argument, std::string{what} + " is empty"};
  if (key.size() > max_projection_key_bytes)
    return error{errc::invalid_argument, std::string{what} + " is longer than " +
                                             std::to_string(max_projection_key_bytes) + " bytes"};
  return ok;
}

// Both the same-process and the other-process failure to take RocksDB's LOCK file are plain IOErrors; only the
// message tells them apart from other I/O failures.
bool is_lock_failure(const rocksdb::Status& s) {
  if (!s.IsIOError())
    return false;
  const std::string text = s.ToString();
  return text.find("lock hold by current process") != std::string::npos ||
         text.find("While lock file") != std::string::npos || text.find("/LOCK:") != std::string::npos;
}

error open_error(const rocksdb::Status& s, const std::string& path) {
  if (is_lock_failure(s))
    return error{errc::locked, "database " + path + " is in use by another store instance or process: " +
                                   s.ToString()};
  return error{errc::io_error, "cannot open database " + path + ": " + s.ToString()};
}

// An open RocksDB database with its column family handles, released in the order RocksDB requires.
struct database {
  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  std::vector<std::string> names;

  database() = default;
  database(const database&) = delete;
  database& operator=(const database&) = delete;
  ~database() {
    close();
  }

  void close() noexcept {
    if (db == nullptr)
      return;
    for (auto* h : handles)
      static_cast<void>(db->DestroyColumnFamilyHandle(h));
    handles.clear();
    static_cast<void>(db->Close());
    delete db;
    db = nullptr;
  }

  rocksdb::ColumnFamilyHandle* handle(std::string_view name) const {
    for (std::size_t i = 0; i < names.size(); ++i)
      if (names[i] == name)
        return handles[i];
    return nullptr;
  }
};

// A fixed 8-byte big-endian value (a head or a tracked position); 0 when the key is absent. `what` and `name`
// only build error messages, so the hot path allocates nothing.
result<std::uint64_t> read_be64_value(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, const std::string& name,
                                      const char* what) {
  rocksdb::PinnableSlice value;
  const auto s = db->Get(rocksdb::ReadOptions{}, cf, name, &value);
  if (s.IsNotFound())
    return std::uint64_t{0};
  if (!s.ok())
    return error{errc::io_error, std::string{"cannot read "} + what + " " + name + ": " + s.ToString()};
  if (value.size() != 8)
    return error{errc::corrupt_data, std::string{what} + " " + name + " has a malformed value (" +
                                         std::to_string(value.size()) + " bytes, expected 8)"};
  return layout::get_be64(value.data());
}

// The last key of the log: the position of the last committed event.
result<std::uint64_t> read_last_position(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* log) {
  std::unique_ptr<rocksdb::Iterator> it{db->NewIterator(rocksdb::ReadOptions{}, log)};
  it->SeekToLast();
  if (!it->Valid()) {
    if (!it->status().ok())
      return error{errc::io_error, "cannot read the global log: " + it->status().ToString()};
    return std::uint64_t{0};
  }
  if (it->key().size() != 8)
    return error{errc::corrupt_data, "the last key of the global log is malformed"};
  return layout::get_be64(it->key().data());
}

// True when no column family holds a key: a database whose creation stopped before the format was written.
bool all_empty(const database& d) {
  for (auto* h : d.handles) {
    std::unique_ptr<rocksdb::Iterator> it{d.db->NewIterator(rocksdb::ReadOptions{}, h)};
    it->SeekToFirst();
    if (it->Valid() || !it->status().ok())
      return false;
  }
  return true;
}

// What the format key says: the current format, an older one that open() upgrades, absent (no key), or an error.
enum class format_state { present, upgradable, absent };

result<format_state> read_format(const database& d, const std::string& path) {
  std::string value;
  const auto s = d.db->Get(rocksdb::ReadOptions{}, d.handle(layout::cf_meta),
                           rocksdb::Slice{layout::meta_format_key.data(), layout::meta_format_key.size()}, &value);
  if (s.IsNotFound())
    return format_state::absent;
  if (!s.ok())
    return error{errc::io_error, "cannot read the format of " + path + ": " + s.ToString()};
  if (value.size() != 4)
    return error{errc::unknown_format, path + " has an unreadable store format marker"};
  const std::uint32_t format = (static_cast<std::uint32_t>(static_cast<std::uint8_t>(value[0])) << 24) |
                               (static_cast<std::uint32_t>(static_cast<std::uint8_t>(value[1])) << 16) |
                               (static_cast<std::uint32_t>(static_cast<std::uint8_t>(value[2])) << 8) |
                               static_cast<std::uint32_t>(static_cast<std::uint8_t>(value[3]));
  if (format >= layout::oldest_upgradable_format && format < store_format_version)
    return format_state::upgradable;
  if (format != store_format_version)
    return error{errc::unknown_format, path + " is in store format " + std::to_string(format) +
                                           "; this build reads format " + std::to_string(store_format_version)};
  return format_state::present;
}

status open_database(database& d, const tuning& t, const std::string& path, bool create,
                     const std::vector<std::string>& names, bool read_only) {
  rocksdb::DBOptions db_opts = t.db;
  db_opts.create_if_missing = create;
  db_opts.create_missing_column_families = true;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& name : names)
    descriptors.emplace_back(name, t.for_cf(name));
  const auto s = read_only ? rocksdb::DB::OpenForReadOnly(db_opts, path, descriptors, &d.handles, &d.db)
                           : rocksdb::DB::Open(db_opts, path, descriptors, &d.handles, &d.db);
  if (!s.ok()) {
    d.handles.clear();
    d.db = nullptr;
    return open_error(s, path);
  }
  d.names = names;
  return ok;
}

// Decides from the file system alone whether `path` is a database, a place for a new one, or neither.
enum class path_kind { existing_database, new_database };

result<path_kind> classify_path(rocksdb::Env* env, const options& opts) {
  const auto exists = env->FileExists(opts.path);
  if (exists.IsNotFound()) {
    if (!opts.create_if_missing)
      return error{errc::not_a_database, opts.path + " does not exist (and create_if_missing is off)"};
    return path_kind::new_database;
  }
  if (!exists.ok())
    return error{errc::io_error, "cannot access " + opts.path + ": " + exists.ToString()};
  bool is_dir = false;
  if (const auto s = env->IsDirectory(opts.path, &is_dir); !s.ok())
    return error{errc::io_error, "cannot access " + opts.path + ": " + s.ToString()};
  if (!is_dir)
    return error{errc::not_a_database, opts.path + " is not a folder"};
  if (env->FileExists(opts.path + "/CURRENT").ok())
    return path_kind::existing_database;
  std::vector<std::string> children;
  if (const auto s = env->GetChildren(opts.path, &children); !s.ok())
    return error{errc::io_error, "cannot list " + opts.path + ": " + s.ToString()};
  const bool empty = std::all_of(children.begin(), children.end(),
                                 [](const std::string& c) { return c == "." || c == ".."; });
  if (!empty)
    return error{errc::not_a_database, opts.path + " holds files but no database"};
  if (!opts.create_if_missing)
    return error{errc::not_a_database, opts.path + " is an empty folder (and create_if_missing is off)"};
  return path_kind::new_database;
}

// After a failed creation: removes what the open made in a folder that was empty or absent before it.
void remove_created(rocksdb::Env* env, const std::string& path, bool made_folder) {
  std::vector<std::string> children;
  if (env->GetChildren(path, &children).ok())
    for (const auto& c : children)
      if (c != "." && c != "..")
        static_cast<void>(env->DeleteFile(path + "/" + c));
  if (made_folder)
    static_cast<void>(env->DeleteDir(path));
}

} // namespace

struct event_store::impl {
  // Most reads are short (an aggregate's few events); long ones grow the vector as they go.
  static constexpr std::size_t initial_read_capacity = 64;

  std::string path;
  tuning t;
  durability mode = durability::durable;
  bool read_only = false; // options::read_only: no writes, and RocksDB opened without its lock

  // Readers share the database; only recovery (under write_mutex as well) replaces it.
  mutable std::shared_mutex db_mutex;
  database d;
  rocksdb::ColumnFamilyHandle* cf[cf_names.size()] = {};

  // Mirrors needs_recovery for readers of health() that do not take the write lock; `failure` says why.
  std::atomic<bool> write_failure{false};
  mutable std::mutex failure_mutex;
  std::string failure;

  std::atomic<std::uint64_t> last_position{0};
  std::atomic<std::uint64_t> writes{0};
  std::atomic<std::uint64_t> syncs{0};
  std::atomic<std::uint64_t> appends{0};
  std::atomic<std::uint64_t> events{0};

  // Everything below is guarded by write_mutex: one RocksDB write at a time, so positions follow commit order.
  std::mutex write_mutex;
  rocksdb::WriteBatch batch;
  std::unordered_map<std::string_view, std::uint64_t> group_heads;
  // The causations accepted so far in this group (sequence, and the answer: the version after it), by causation
  // key: a later request of the same group with the same (stream, source) must go beyond them.
  std::unordered_map<std::string, causation_record> group_causations;
  // The committed heads of recently written streams: this instance is the only writer (RocksDB's LOCK), so they
  // stay exact and spare the append a RocksDB lookup. Cleared when full and whenever recovery ran.
  std::unordered_map<std::string, std::uint64_t> head_cache;
  static constexpr std::size_t max_cached_heads = 1u << 16;
  std::string event_head;
  std::string snapshot_value;
  std::string causation_value;

  // After a failed write: RocksDB may refuse writes until it is resumed or reopened, and the failed batch may
  // resurface from the WAL on a reopen (its bytes were appended, its sync failed). `undo` restores every key the
  // failed batch touched to its value before the batch; it is written if the batch resurfaces.
  bool needs_recovery = false;
  // The background errors (internal/tuning.hpp) the last successful recovery dealt with: a count beyond it
  // makes the next write recover first.
  std::atomic<std::uint64_t> recovered_background_errors{0};
  std::uint64_t committed_position = 0;
  rocksdb::WriteBatch undo;
  bool undo_complete = true;

  rocksdb::DB* db() const noexcept {
    return d.db;
  }

  void bind_handles() {
    for (std::size_t i = 0; i < cf_names.size(); ++i)
      cf[i] = d.handle(cf_names[i]);
  }

  // Runs a read against the current database instance, which recovery may be replacing, and turns an exception
  // (only allocation can throw) into an error value.
  template <class F>
  auto guarded_read(const char* what, F&& f) const -> decltype(f()) {
    try {
      std::shared_lock lock{db_mutex};
      if (d.db == nullptr)
        return error{errc::io_error, "the store is reopening its database after a write failure"};
      return f();
    } catch (const std::exception& e) {
      return error{errc::io_error, std::string{"cannot read "} + what + ": " + e.what()};
    }
  }

  // Before a reopen: does the disk take a synced append again? Probed the way the WAL is written (a *.log file),
  // so that a failure which only hits the WAL is seen too. RocksDB ignores files it did not name.
  bool disk_takes_writes() const {
    rocksdb::Env* env = t.db.env;
    const std::string probe = path + "/cairn-probe.log";
    std::unique_ptr<rocksdb::WritableFile> file;
    bool ok = env->NewWritableFile(probe, &file, rocksdb::EnvOptions{}).ok() && file->Append("probe").ok() &&
              file->Sync().ok();
    if (file)
      ok = file->Close().ok() && ok;
    static_cast<void>(env->DeleteFile(probe));
    return ok;
  }

  // Precondition: db_mutex is held exclusively.
  status reopen() {
    const std::vector<std::string> names = d.names;
    d.close();
    if (auto st = open_database(d, t, path, false, names, false); !st)
      return error{errc::storage_failure, "cannot reopen the database after a write failure: " + st.error().message()};
    bind_handles();
    return ok;
  }

  // Brings the store back to a writable state equal to what it answered: nothing of a failed write visible.
  status recover() {
    // Neither a resume nor a reopen can succeed while the disk refuses writes, and each would leave RocksDB in a
    // worse state to retry from (a resume after a failed one trips over the WAL writer's remembered error).
    const std::uint64_t errors_before = t.errors->count();
    if (!disk_takes_writes())
      return error{errc::storage_failure, "the disk under " + path + " still refuses writes"};
    const rocksdb::Status resumed = db() != nullptr ? db()->Resume() : rocksdb::Status::Incomplete();
    // Resume() clears recoverable errors (flushing the memtables onto a new WAL, which retires the failed
    // batch's bytes). An I/O error of the WAL itself is fatal to the RocksDB instance: only a reopen helps. Its
    // WAL replay may bring the failed batch back, so readers wait until the undo below is written.
    std::unique_lock lock{db_mutex, std::defer_lock};
    if (!resumed.ok()) {
      lock.lock();
      if (auto st = reopen(); !st)
        return st;
    }
    auto last = read_last_position(db(), cf[log_cf]);
    if (!last)
      return error{errc::storage_failure, last.error().message()};
    // The log shows whether a batch with events came back, but a batch of only tracking records, causations or
    // projection puts leaves no mark there. So the undo is written whenever there is one: nothing was written
    // since the failure, so when the batch stayed away the undo only restores what is there already.
    if (undo_complete && undo.Count() > 0) {
      rocksdb::WriteOptions wo;
      wo.sync = true;
      if (const auto s = db()->Write(wo, &undo); !s.ok())
        return error{errc::storage_failure, "cannot roll back a failed write that the WAL kept: " + s.ToString()};
      *last = std::min(*last, committed_position);
    }
    // Without a complete undo a resurfaced batch stays: it is committed after all (an ambiguous commit), and the
    // next positions follow it.
    last_position.store(*last, std::memory_order_release);
    head_cache.clear();
    needs_recovery = false;
    recovered_background_errors.store(errors_before, std::memory_order_release);
    write_failure.store(false, std::memory_order_release);
    undo.Clear();
    undo_complete = true;
    return ok;
  }

  bool background_failed() const noexcept {
    return t.errors->count() != recovered_background_errors.load(std::memory_order_acquire);
  }

  status ensure_writable() {
    if (background_failed() && !needs_recovery) {
      // A flush, a compaction or a MANIFEST write failed: RocksDB stopped its background work (its own recovery
      // is off) and may refuse writes. Recover first, as after a failed write; nothing needs undoing.
      write_failed(t.errors->last());
      undo.Clear();
    }
    if (!needs_recovery)
      return ok;
    if (auto st = recover(); !st)
      return error{errc::storage_failure,
                   "the store has not recovered from an earlier write failure: " + st.error().message()};
    return ok;
  }

  // Adds to `undo` what restores `key` of `family` to its current (pre-batch) value; false if it cannot.
  bool undo_restore(rocksdb::ColumnFamilyHandle* family, const std::string& key) {
    std::string value;
    const auto s = db()->Get(rocksdb::ReadOptions{}, family, key, &value);
    if (s.ok())
      return undo.Put(family, key, value).ok();
    return s.IsNotFound() && undo.Delete(family, key).ok();
  }

  // Called right after a failed write, while the database still shows the state before it. Only an undo built to
  // the end is ever written (undo_complete), so an exception half-way leaves none.
  void prepare_undo(std::span<const append_request> requests, const std::vector<result<append_receipt>>& out) {
    undo.Clear();
    undo_complete = false;
    bool complete = true;
    for (std::size_t i = 0; i < requests.size(); ++i) {
      if (!out[i])
        continue;
      const auto& r = requests[i];
      const auto& receipt = *out[i];
      const std::uint64_t n = r.events.size();
      for (std::uint64_t k = 0; k < n; ++k) {
        complete = undo.Delete(cf[streams_cf], layout::stream_key(r.stream, receipt.new_version - n + 1 + k)).ok() &&
                   undo.Delete(cf[log_cf], layout::be64(receipt.first_position + k)).ok() && complete;
      }
      if (!r.stream.empty())
        complete = undo_restore(cf[heads_cf], r.stream) && complete;
      if (r.snapshot)
        complete = undo_restore(cf[snapshots_cf], r.stream) && complete;
      if (r.tracking)
        complete = undo_restore(cf[tracking_cf], r.tracking->subscriber) && complete;
      if (r.causation)
        complete = undo_restore(cf[causations_cf], layout::causation_key(r.stream, r.causation->source)) && complete;
      // A key put twice in the batch gets two equal restores: both read the value before the batch.
      for (const auto& put : r.puts)
        complete = undo_restore(cf[projections_cf], put.key) && complete;
      for (const auto& put : r.runtime_puts)
        complete = undo_restore(cf[runtime_cf], put.key) && complete;
    }
    undo_complete = complete;
  }

  void write_failed(std::string why) {
    needs_recovery = true;
    committed_position = last_position.load(std::memory_order_relaxed);
    {
      std::lock_guard lock{failure_mutex};
      failure = std::move(why);
    }
    write_failure.store(true, std::memory_order_release);
  }

  store_health health() const {
    if (!write_failure.load(std::memory_order_acquire) && !background_failed())
      return store_health{};
    std::string why;
    {
      std::lock_guard lock{failure_mutex};
      why = failure;
    }
    if (why.empty())
      why = t.errors->last();
    return store_health{false, "writes fail until the disk takes them again: " + why};
  }

  store_health check_health() {
    // Waits for a write in progress (it is short, and recovers by itself first): answering from under it would
    // report a failure that this very write is clearing.
    std::lock_guard lock{write_mutex};
    static_cast<void>(ensure_writable());
    return health();
  }

  status validate(const append_request& r) const {
    if (r.stream.empty()) {
      // A subscriber's progress and a projection's state belong to no stream; everything else does.
      if (!r.events.empty() || r.snapshot || r.causation || (!r.tracking && r.puts.empty() && r.runtime_puts.empty()))
        return error{errc::invalid_argument, "append has an empty stream name; only an append of nothing but a "
                                             "tracking record and/or key puts may have no stream"};
    } else if (auto st = check_name("stream", r.stream); !st) {
      return st;
    }
    if (r.events.empty() && !r.snapshot && !r.tracking && !r.causation && r.puts.empty() && r.runtime_puts.empty())
      return error{errc::invalid_argument, "append to stream " + r.stream +
                                               " has no event, snapshot, tracking, causation or projection put"};
    if (r.events.size() > max_events_per_append)
      return error{errc::too_large, "append to stream " + r.stream + " has " +
                                        std::to_string(r.events.size()) + " events; at most " +
                                               std::to_string(max_events_per_append) + " are allowed"};
    if (r.expected_version > UINT64_MAX - r.events.size())
      return error{errc::invalid_argument, "append to stream " + r.stream + " overflows the version"};
    for (std::size_t i = 0; i < r.events.size(); ++i) {
      const auto& e = r.events[i];
      if (e.type.empty() || e.type.size() > max_event_type_bytes)
        return error{errc::invalid_argument, "event " + std::to_string(i) + " of the append to stream " + r.stream +
                                                 " has an empty or too long type name"};
      if (e.payload.size() > max_event_payload_bytes)
        return error{errc::too_large, "event " + std::to_string(i) + " of the append to stream " + r.stream +
                                          " has a payload over " + std::to_string(max_event_payload_bytes) +
                                          " bytes"};
    }
    if (r.snapshot) {
      const auto new_version = r.expected_version + r.events.size();
      if (r.snapshot->version == 0 || r.snapshot->version > new_version)
        return error{errc::invalid_argument, "snapshot of stream " + r.stream + " at version " +
                                                 std::to_string(r.snapshot->version) +
                                                 " is not within the stream's versions 1.." +
                                                 std::to_string(new_version)};
      if (r.snapshot->payload.size() > max_snapshot_payload_bytes)
        return error{errc::too_large, "snapshot of stream " + r.stream + " is over " +
                                          std::to_string(max_snapshot_payload_bytes) + " bytes"};
    }
    if (r.tracking)
      if (auto st = check_name("subscriber", r.tracking->subscriber); !st)
        return st;
    if (r.causation) {
      const auto& c = *r.causation;
      if (auto st = check_name("causation source", c.source); !st)
        return st;
      if (c.message.size() > max_causation_message_bytes)
        return error{errc::invalid_argument, "causation message of source " + c.source + " on stream " + r.stream +
                                                 " is over " + std::to_string(max_causation_message_bytes) +
                                                 " bytes"};
      // A rejected command changed nothing: what it records is only that it was seen (and why it failed).
      if (!c.accepted && (!r.events.empty() || r.snapshot))
        return error{errc::invalid_argument, "the rejection of causation " + std::to_string(c.sequence) +
                                                 " of source " + c.source + " on stream " + r.stream +
                                                 " carries events or a snapshot"};
    }
    if (auto st = validate_puts(r, r.puts, "projection"); !st)
      return st;
    return validate_puts(r, r.runtime_puts, "runtime");
  }

  static status validate_puts(const append_request& r, const std::vector<projection_put>& puts, const char* space) {
    for (std::size_t i = 0; i < puts.size(); ++i) {
      const auto& put = puts[i];
      if (auto st = check_projection_key(std::string{space} + " key of put " + std::to_string(i) + " of the " +
                                           describe(r),
                                         put.key);
          !st)
        return st;
      if (put.value && put.value->size() > max_projection_value_bytes)
        return error{errc::invalid_argument, std::string{space} + " value of put " + std::to_string(i) + " of the " +
                                                 describe(r) + " is over " +
                                                 std::to_string(max_projection_value_bytes) + " bytes"};
    }
    return ok;
  }

  static std::string describe(const append_request& r) {
    return r.stream.empty() ? std::string{"append without a stream"} : "append to stream " + r.stream;
  }

  // Adds one accepted request to the batch; its events take positions first_position, first_position + 1, ...
  // `causation_key` is the key of its causation record (empty without one).
  rocksdb::Status add_to_batch(const append_request& r, std::uint64_t head, std::uint64_t first_position,
                               const std::string& causation_key) {
    const rocksdb::Slice stream{r.stream};
    char version_key[9];
    version_key[0] = layout::stream_key_separator;
    char position_key[8];
    char stream_prefix[1 + 10];
    char log_prefix[1 + 10 + max_stream_name_bytes + 10];

    for (std::size_t i = 0; i < r.events.size(); ++i) {
      const auto& e = r.events[i];
      const std::uint64_t version = head + 1 + i;
      const std::uint64_t position = first_position + i;

      event_head.clear();
      layout::put_event_head(event_head, e);

      // cf_streams: "stream\0<be64 version>" -> format, position, event
      layout::put_be64(version_key + 1, version);
      std::size_t stream_prefix_size = put_prefix(stream_prefix, position);
      const rocksdb::Slice stream_key_parts[] = {stream, rocksdb::Slice{version_key, sizeof version_key}};
      const rocksdb::Slice stream_value_parts[] = {rocksdb::Slice{stream_prefix, stream_prefix_size},
                                                   rocksdb::Slice{event_head}, rocksdb::Slice{e.payload}};
      if (auto s = batch.Put(cf[streams_cf], rocksdb::SliceParts{stream_key_parts, 2},
                             rocksdb::SliceParts{stream_value_parts, 3});
          !s.ok())
        return s;

      // cf_log: "<be64 position>" -> format, stream, version, event
      layout::put_be64(position_key, position);
      std::size_t log_prefix_size = put_log_prefix(log_prefix, r.stream, version);
      const rocksdb::Slice log_key{position_key, sizeof position_key};
      const rocksdb::Slice log_value_parts[] = {rocksdb::Slice{log_prefix, log_prefix_size},
                                                rocksdb::Slice{event_head}, rocksdb::Slice{e.payload}};
      if (auto s = batch.Put(cf[log_cf], rocksdb::SliceParts{&log_key, 1}, rocksdb::SliceParts{log_value_parts, 3});
          !s.ok())
        return s;
    }
    if (!r.events.empty()) {
      char head_value[8];
      layout::put_be64(head_value, head + r.events.size());
      if (auto s = batch.Put(cf[heads_cf], stream, rocksdb::Slice{head_value, sizeof head_value}); !s.ok())
        return s;
    }
    if (r.snapshot) {
      snapshot_value.clear();
      layout::put_snapshot_value(snapshot_value, *r.snapshot);
      if (auto s = batch.Put(cf[snapshots_cf], stream, snapshot_value); !s.ok())
        return s;
    }
    if (r.tracking) {
      char position_value[8];
      layout::put_be64(position_value, r.tracking->position);
      if (auto s = batch.Put(cf[tracking_cf], r.tracking->subscriber,
                             rocksdb::Slice{position_value, sizeof position_value});
          !s.ok())
        return s;
    }
    if (r.causation) {
      causation_value.clear();
      layout::put_causation_value(causation_value, *r.causation, head + r.events.size());
      if (auto s = batch.Put(cf[causations_cf], causation_key, causation_value); !s.ok())
        return s;
    }
    for (const auto& put : r.puts) {
      if (auto s = put.value ? batch.Put(cf[projections_cf], put.key, *put.value)
                             : batch.Delete(cf[projections_cf], put.key);
          !s.ok())
        return s;
    }
    for (const auto& put : r.runtime_puts) {
      if (auto s = put.value ? batch.Put(cf[runtime_cf], put.key, *put.value) : batch.Delete(cf[runtime_cf], put.key);
          !s.ok())
        return s;
    }
    return rocksdb::Status::OK();
  }

  static std::size_t put_varint_to(char* out, std::uint64_t v) noexcept {
    std::size_t n = 0;
    while (v >= 0x80) {
      out[n++] = static_cast<char>(static_cast<std::uint8_t>(v) | 0x80);
      v >>= 7;
    }
    out[n++] = static_cast<char>(v);
    return n;
  }

  static std::size_t put_prefix(char* out, std::uint64_t position) noexcept {
    out[0] = layout::value_format;
    return 1 + put_varint_to(out + 1, position);
  }

  static std::size_t put_log_prefix(char* out, const std::string& stream, std::uint64_t version) noexcept {
    out[0] = layout::value_format;
    std::size_t n = 1 + put_varint_to(out + 1, stream.size());
    std::copy(stream.begin(), stream.end(), out + n);
    n += stream.size();
    return n + put_varint_to(out + n, version);
  }

  // After a committed write: its heads are the streams' committed heads.
  void remember_heads() noexcept {
    try {
      if (head_cache.size() + group_heads.size() > max_cached_heads)
        head_cache.clear();
      for (const auto& [stream, head] : group_heads)
        head_cache.insert_or_assign(std::string{stream}, head);
    } catch (const std::exception&) {
      // Out of memory: forget rather than keep a half-updated cache; RocksDB has the heads.
      head_cache.clear();
    }
  }

  result<std::uint64_t> head_of(const std::string& stream) const {
    return read_be64_value(db(), cf[heads_cf], stream, "the head of stream");
  }

  // The stored causation record under `key` (of `source` on `stream`), if any.
  result<std::optional<causation_record>> read_causation(const std::string& key, const std::string& stream,
                                                         const std::string& source) const {
    rocksdb::PinnableSlice value;
    const auto s = db()->Get(rocksdb::ReadOptions{}, cf[causations_cf], key, &value);
    if (s.IsNotFound())
      return std::optional<causation_record>{};
    if (!s.ok())
      return error{errc::io_error, "cannot read the causation record of source " + source + " on stream " + stream +
                                       ": " + s.ToString()};
    causation_record record;
    if (const char* defect = layout::parse_causation_value(std::string_view{value.data(), value.size()}, record))
      return error{errc::corrupt_data, "causation record of source " + source + " on stream " + stream +
                                           ": malformed value (" + defect + ")"};
    record.source = source;
    return std::optional<causation_record>{std::move(record)};
  }

  // errc::duplicate when (stream, source) already has a causation at or beyond the request's sequence, counting
  // the requests accepted earlier in this group; ok otherwise. A duplicate's `prior` is the record that made it
  // one (the first answer), and `in_group` says whether that is an earlier request of this group.
  status check_causation(const append_request& r, const std::string& key, std::optional<causation_record>& prior,
                         bool& in_group) const {
    const auto& c = *r.causation;
    std::uint64_t last = 0;
    bool seen = false;
    in_group = false;
    if (const auto it = group_causations.find(key); it != group_causations.end()) {
      last = it->second.sequence;
      seen = true;
      in_group = true;
      prior = it->second;
    } else {
      auto stored = read_causation(key, r.stream, c.source);
      if (!stored)
        return stored.error();
      if (*stored) {
        last = (*stored)->sequence;
        seen = true;
        prior = std::move(**stored);
      }
    }
    if (!seen || last < c.sequence)
      prior.reset();
    if (seen && last >= c.sequence)
      return error{errc::duplicate, "stream " + r.stream + " has already seen sequence " +
                                        std::to_string(c.sequence) + " of source " + c.source +
                                        " (its last recorded sequence is " + std::to_string(last) +
                                        "); nothing was written"};
    return ok;
  }

  void group_append(std::span<const append_request> requests, std::vector<result<append_receipt>>& out,
                    std::vector<std::optional<causation_record>>* priors) {
    std::lock_guard lock{write_mutex};
    if (priors != nullptr)
      priors->assign(requests.size(), std::nullopt);
    // Duplicates of an earlier request of this group: their first answer holds only if this write succeeds.
    std::vector<std::size_t> in_group_duplicates;
    batch.Clear();
    group_heads.clear();
    group_causations.clear();
    // A failed earlier write may leave RocksDB refusing writes; recover before reading heads for this group.
    const auto writable = ensure_writable();
    std::uint64_t next = last_position.load(std::memory_order_relaxed) + 1;
    std::size_t accepted = 0;
    std::uint64_t accepted_events = 0;

    for (const auto& r : requests) {
      if (auto st = validate(r); !st) {
        out.emplace_back(st.error());
        continue;
      }
      if (!writable) {
        out.emplace_back(writable.error());
        continue;
      }
      if (r.stream.empty()) {
        // Tracking and projection puts only: no version to check, no head, no positions.
        batch.SetSavePoint();
        if (const auto s = add_to_batch(r, 0, next, std::string{}); !s.ok()) {
          static_cast<void>(batch.RollbackToSavePoint());
          out.emplace_back(error{errc::storage_failure, "cannot build the write of an append without a stream: " +
                                                            s.ToString()});
          continue;
        }
        out.emplace_back(append_receipt{});
        ++accepted;
        continue;
      }
      // A duplicate is answered as such whatever the version: its effect is committed already, and a conflict
      // would only send the caller to retry into the same answer.
      std::string causation_key;
      if (r.causation) {
        causation_key = layout::causation_key(r.stream, r.causation->source);
        std::optional<causation_record> prior;
        bool in_group = false;
        if (auto st = check_causation(r, causation_key, prior, in_group); !st) {
          if (in_group)
            in_group_duplicates.push_back(out.size());
          if (priors != nullptr)
            (*priors)[out.size()] = std::move(prior);
          out.emplace_back(st.error());
          continue;
        }
      }
      std::uint64_t head = 0;
      if (const auto it = group_heads.find(r.stream); it != group_heads.end()) {
        head = it->second;
      } else if (const auto cached = head_cache.find(r.stream); cached != head_cache.end()) {
        head = cached->second;
      } else {
        auto h = head_of(r.stream);
        if (!h) {
          out.emplace_back(h.error());
          continue;
        }
        head = *h;
      }
      if (head != r.expected_version) {
        out.emplace_back(error{errc::conflict, "stream " + r.stream + " is at version " + std::to_string(head) +
                                                   ", expected " + std::to_string(r.expected_version)});
        continue;
      }
      batch.SetSavePoint();
      if (const auto s = add_to_batch(r, head, next, causation_key); !s.ok()) {
        static_cast<void>(batch.RollbackToSavePoint());
        out.emplace_back(error{errc::storage_failure, "cannot build the write for stream " + r.stream + ": " +
                                                          s.ToString()});
        continue;
      }
      const std::uint64_t n = r.events.size();
      out.emplace_back(append_receipt{head + n, n > 0 ? next : 0, n > 0 ? next + n - 1 : 0});
      group_heads[r.stream] = head + n;
      if (r.causation) {
        auto answer = *r.causation;
        answer.version = head + n;
        group_causations.insert_or_assign(std::move(causation_key), std::move(answer));
      }
      next += n;
      ++accepted;
      accepted_events += n;
    }
    if (accepted == 0)
      return;

    rocksdb::WriteOptions wo;
    wo.sync = mode == durability::durable;
    wo.disableWAL = false;
    if (const auto s = db()->Write(wo, &batch); !s.ok()) {
      write_failed(s.ToString());
      prepare_undo(requests, out);
      const error failure{errc::storage_failure, "the write of " + std::to_string(accepted) +
                                                     " appends failed; nothing of it is visible: " + s.ToString()};
      for (auto& r : out)
        if (r)
          r = failure;
      for (auto i : in_group_duplicates) {
        out[i] = failure;
        if (priors != nullptr)
          (*priors)[i].reset();
      }
      return;
    }
    last_position.store(next - 1, std::memory_order_release);
    remember_heads();
    writes.fetch_add(1, std::memory_order_relaxed);
    if (wo.sync)
      syncs.fetch_add(1, std::memory_order_relaxed);
    appends.fetch_add(accepted, std::memory_order_relaxed);
    events.fetch_add(accepted_events, std::memory_order_relaxed);
  }

  result<std::vector<stored_event>> read_stream(const std::string& stream, std::uint64_t from_version,
                                                std::size_t max_count) const {
    if (auto st = check_name("stream", stream); !st)
      return st.error();
    if (max_count == 0)
      return error{errc::invalid_argument, "read of stream " + stream + " with max_count 0"};
    from_version = std::max<std::uint64_t>(from_version, 1);
    const std::string lower = layout::stream_key(stream, from_version);
    // Bounding the scan at the last wanted version keeps RocksDB from reading ahead past the chunk.
    const std::string upper = from_version <= UINT64_MAX - max_count
                                  ? layout::stream_key(stream, from_version + max_count)
                                  : layout::stream_end_key(stream);
    const rocksdb::Slice upper_slice{upper};
    rocksdb::ReadOptions ro;
    ro.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it{db()->NewIterator(ro, cf[streams_cf])};

    std::vector<stored_event> out;
    out.reserve(std::min<std::size_t>(max_count, initial_read_capacity));
    std::uint64_t expected = from_version;
    for (it->Seek(lower); it->Valid() && out.size() < max_count; it->Next(), ++expected) {
      const auto key = it->key();
      if (key.size() != stream.size() + 9)
        return error{errc::corrupt_data, "stream " + stream + " near version " + std::to_string(expected) +
                                             ": malformed key"};
      const std::uint64_t version = layout::get_be64(key.data() + stream.size() + 1);
      if (version != expected)
        return error{errc::corrupt_data, "stream " + stream + " version " + std::to_string(expected) +
                                             " is missing (found version " + std::to_string(version) + ")"};
      stored_event& e = out.emplace_back();
      if (const char* defect = layout::parse_stream_value(std::string_view{it->value().data(), it->value().size()},
                                                          e.position, e.event))
        return error{errc::corrupt_data, "stream " + stream + " version " + std::to_string(version) +
                                             ": malformed event value (" + defect + ")"};
      e.stream = stream;
      e.version = version;
    }
    if (!it->status().ok())
      return error{errc::io_error, "cannot read stream " + stream + ": " + it->status().ToString()};
    return out;
  }

  result<std::vector<stored_event>> read_log(std::uint64_t from_position, std::size_t max_count) const {
    if (max_count == 0)
      return error{errc::invalid_argument, "read of the global log with max_count 0"};
    from_position = std::max<std::uint64_t>(from_position, 1);
    const std::string lower = layout::be64(from_position);
    const std::string upper = layout::be64(from_position <= UINT64_MAX - max_count ? from_position + max_count
                                                                                   : UINT64_MAX);
    const rocksdb::Slice upper_slice{upper};
    rocksdb::ReadOptions ro;
    ro.iterate_upper_bound = &upper_slice;
    // A catch-up scan reads each block once: keep it from evicting the blocks that stream replays reuse.
    ro.fill_cache = false;
    std::unique_ptr<rocksdb::Iterator> it{db()->NewIterator(ro, cf[log_cf])};

    std::vector<stored_event> out;
    out.reserve(std::min<std::size_t>(max_count, initial_read_capacity));
    std::uint64_t expected = from_position;
    for (it->Seek(lower); it->Valid() && out.size() < max_count; it->Next(), ++expected) {
      const auto key = it->key();
      if (key.size() != 8)
        return error{errc::corrupt_data, "global log near position " + std::to_string(expected) + ": malformed key"};
      const std::uint64_t position = layout::get_be64(key.data());
      if (position != expected)
        return error{errc::corrupt_data, "global log position " + std::to_string(expected) +
                                             " is missing (found position " + std::to_string(position) + ")"};
      stored_event& e = out.emplace_back();
      if (const char* defect = layout::parse_log_value(std::string_view{it->value().data(), it->value().size()},
                                                       e.stream, e.version, e.event))
        return error{errc::corrupt_data, "global log position " + std::to_string(position) +
                                             (e.stream.empty() ? std::string{} : " (stream " + e.stream + ")") +
                                             ": malformed event value (" + defect + ")"};
      e.position = position;
    }
    if (!it->status().ok())
      return error{errc::io_error, "cannot read the global log: " + it->status().ToString()};
    return out;
  }

  result<std::optional<snapshot_record>> latest_snapshot(const std::string& stream) const {
    if (auto st = check_name("stream", stream); !st)
      return st.error();
    rocksdb::PinnableSlice value;
    const auto s = db()->Get(rocksdb::ReadOptions{}, cf[snapshots_cf], stream, &value);
    if (s.IsNotFound())
      return std::optional<snapshot_record>{};
    if (!s.ok())
      return error{errc::io_error, "cannot read the snapshot of stream " + stream + ": " + s.ToString()};
    snapshot_record record;
    if (const char* defect = layout::parse_snapshot_value(std::string_view{value.data(), value.size()}, record))
      return error{errc::corrupt_data, "snapshot of stream " + stream + ": malformed value (" + defect + ")"};
    return std::optional<snapshot_record>{std::move(record)};
  }

  result<std::vector<stream_head>> list_streams(std::string_view after_stream, std::size_t max_count) const {
    std::unique_ptr<rocksdb::Iterator> it{db()->NewIterator(rocksdb::ReadOptions{}, cf[heads_cf])};
    std::vector<stream_head> out;
    const rocksdb::Slice after{after_stream.data(), after_stream.size()};
    it->Seek(after);
    if (it->Valid() && !after_stream.empty() && it->key() == after)
      it->Next();
    for (; it->Valid() && out.size() < max_count; it->Next()) {
      std::string stream = it->key().ToString();
      if (it->value().size() != 8)
        return error{errc::corrupt_data, "the head of stream " + stream + " is malformed"};
      const std::uint64_t version = layout::get_be64(it->value().data());
      out.push_back(stream_head{std::move(stream), version});
    }
    if (!it->status().ok())
      return error{errc::io_error, "cannot list the streams: " + it->status().ToString()};
    return out;
  }

  result<std::vector<column_family_stats>> column_families() const {
    std::vector<column_family_stats> out;
    for (std::size_t i = 0; i < cf_names.size(); ++i) {
      const auto property = [&](const std::string& name) {
        std::uint64_t value = 0;
        return db()->GetIntProperty(cf[i], name, &value) ? value : 0;
      };
      column_family_stats stats;
      stats.name = std::string{cf_names[i]};
      stats.estimated_keys = property(rocksdb::DB::Properties::kEstimateNumKeys);
      stats.sst_bytes = property(rocksdb::DB::Properties::kTotalSstFilesSize);
      stats.live_data_bytes = property(rocksdb::DB::Properties::kEstimateLiveDataSize);
      stats.memtable_bytes = property(rocksdb::DB::Properties::kCurSizeAllMemTables);
      for (int level = 0; level < db()->NumberLevels(cf[i]); ++level) {
        std::string files;
        if (db()->GetProperty(cf[i], rocksdb::DB::Properties::kNumFilesAtLevelPrefix + std::to_string(level),
                              &files))
          stats.sst_files += std::strtoull(files.c_str(), nullptr, 10);
      }
      out.push_back(std::move(stats));
    }
    return out;
  }

  result<std::vector<tracking_record>> tracking_positions() const {
    std::unique_ptr<rocksdb::Iterator> it{db()->NewIterator(rocksdb::ReadOptions{}, cf[tracking_cf])};
    std::vector<tracking_record> out;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const std::string subscriber = it->key().ToString();
      if (it->value().size() != 8)
        return error{errc::corrupt_data, "tracking record of subscriber " + subscriber + " is malformed"};
      out.push_back(tracking_record{subscriber, layout::get_be64(it->value().data())});
    }
    if (!it->status().ok())
      return error{errc::io_error, "cannot read the tracking records: " + it->status().ToString()};
    return out;
  }

  result<std::optional<std::string>> projection_value(std::string_view key) const {
    if (auto st = check_projection_key("projection key", key); !st)
      return st.error();
    std::string value;
    const auto s = db()->Get(rocksdb::ReadOptions{}, cf[projections_cf], rocksdb::Slice{key.data(), key.size()},
                             &value);
    if (s.IsNotFound())
      return std::optional<std::string>{};
    if (!s.ok())
      return error{errc::io_error, "cannot read a projection key: " + s.ToString()};
    return std::optional<std::string>{std::move(value)};
  }

  // Pages through the keys of `family` (projections or runtime, named `space`) that start with `prefix`.
  result<std::vector<std::pair<std::string, std::string>>> scan_keys(cf_index family, const char* space,
                                                                     std::string_view prefix,
                                                                     std::string_view after_key,
                                                                     std::size_t max_count) const {
    if (max_count == 0)
      return error{errc::invalid_argument, std::string{"scan of "} + space + " keys with max_count 0"};
    if (prefix.size() > max_projection_key_bytes || after_key.size() > max_projection_key_bytes)
      return error{errc::invalid_argument, std::string{"scan of "} + space +
                                               " keys with a prefix or start key longer than " +
                                               std::to_string(max_projection_key_bytes) + " bytes"};
    // Every key in [prefix, prefix_end) starts with the prefix; an empty end means no upper bound.
    const std::string upper = layout::prefix_end_key(prefix);
    const rocksdb::Slice upper_slice{upper};
    rocksdb::ReadOptions ro;
    if (!upper.empty())
      ro.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it{db()->NewIterator(ro, cf[family])};

    // std::string_view compares bytes as unsigned char, as RocksDB's bytewise comparator does.
    const std::string_view lower = std::max(prefix, after_key);
    std::vector<std::pair<std::string, std::string>> out;
    out.reserve(std::min<std::size_t>(max_count, initial_read_capacity));
    for (it->Seek(rocksdb::Slice{lower.data(), lower.size()}); it->Valid() && out.size() < max_count; it->Next()) {
      const std::string_view key{it->key().data(), it->key().size()};
      if (!after_key.empty() && key == after_key)
        continue;
      out.emplace_back(std::string{key}, it->value().ToString());
    }
    if (!it->status().ok())
      return error{errc::io_error, std::string{"cannot scan "} + space + " keys: " + it->status().ToString()};
    return out;
  }

  status flush() {
    std::lock_guard lock{write_mutex};
    if (auto st = ensure_writable(); !st)
      return st;
    if (const auto s = db()->FlushWAL(true); !s.ok()) {
      write_failed(s.ToString());
      undo.Clear();
      return error{errc::storage_failure, "cannot sync the WAL: " + s.ToString()};
    }
    syncs.fetch_add(1, std::memory_order_relaxed);
    return ok;
  }
};

namespace {

// Format 1 -> 2: moves the runtime's keys out of the projections' key space into cf_runtime, and records format 2,
// in one synced write: a crash before it leaves a format-1 store that the next open upgrades again.
status upgrade_to_format_2(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* const* cf, const std::string& path) {
  rocksdb::WriteBatch batch;
  const std::string prefix{layout::format1_runtime_key_prefix};
  const std::string upper = layout::prefix_end_key(prefix);
  const rocksdb::Slice upper_slice{upper};
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it{db->NewIterator(ro, cf[projections_cf])};
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    const std::string_view key{it->key().data(), it->key().size()};
    const std::string moved = std::string{layout::format1_runtime_key_prefix_now} + std::string{key.substr(prefix.size())};
    if (!batch.Put(cf[runtime_cf], moved, it->value()).ok() || !batch.Delete(cf[projections_cf], it->key()).ok())
      return error{errc::io_error, "cannot build the upgrade of " + path + " to store format 2"};
  }
  if (!it->status().ok())
    return error{errc::io_error, "cannot upgrade " + path + " to store format 2: " + it->status().ToString()};
  const std::string format = layout::be32(store_format_version);
  if (!batch.Put(cf[meta_cf], rocksdb::Slice{layout::meta_format_key.data(), layout::meta_format_key.size()}, format)
         .ok())
    return error{errc::io_error, "cannot build the upgrade of " + path + " to store format 2"};
  rocksdb::WriteOptions wo;
  wo.sync = true;
  if (const auto s = db->Write(wo, &batch); !s.ok())
    return error{errc::io_error, "cannot upgrade " + path + " to store format 2: " + s.ToString()};
  return ok;
}

} // namespace

result<std::unique_ptr<event_store>> event_store::open(const options& opts) {
  try {
    if (opts.path.empty())
      return error{errc::invalid_argument, "the database path is empty"};
    tuning t = make_tuning(opts);
    // Completes an open database: column family handles, the format of a new store, the position counter.
    const auto finish = [&opts, &t](std::unique_ptr<impl> p, bool write_format,
                                    bool upgrade = false) -> result<std::unique_ptr<event_store>> {
      p->path = opts.path;
      p->t = t;
      p->mode = opts.mode;
      p->bind_handles();
      if (upgrade)
        if (auto st = upgrade_to_format_2(p->db(), p->cf, opts.path); !st)
          return st.error();
      if (write_format) {
        rocksdb::WriteOptions wo;
        wo.sync = true;
        const std::string value = layout::be32(store_format_version);
        const rocksdb::Slice key{layout::meta_format_key.data(), layout::meta_format_key.size()};
        if (const auto s = p->db()->Put(wo, p->cf[meta_cf], key, value); !s.ok())
          return error{errc::io_error, "cannot create database " + opts.path + ": " + s.ToString()};
      }
      auto last = read_last_position(p->db(), p->cf[log_cf]);
      if (!last)
        return last.error();
      p->last_position.store(*last);
      return std::unique_ptr<event_store>{new event_store{std::move(p)}};
    };

    if (opts.read_only) {
      // A read-only open writes nothing into the folder, not even an info log.
      t.db.info_log = std::make_shared<internal::info_logger>();
      options existing = opts;
      existing.create_if_missing = false;
      auto kind = classify_path(t.db.env, existing);
      if (!kind)
        return kind.error();
      std::vector<std::string> names;
      if (const auto s = rocksdb::DB::ListColumnFamilies(t.db, opts.path, &names); !s.ok())
        return error{s.IsIOError() && !s.IsPathNotFound() ? errc::io_error : errc::not_a_database,
                     "cannot read the database catalogue of " + opts.path + ": " + s.ToString()};
      auto p = std::make_unique<impl>();
      if (auto st = open_database(p->d, t, opts.path, false, names, true); !st)
        return st.error();
      auto format = read_format(p->d, opts.path);
      if (!format)
        return format.error();
      if (*format == format_state::absent)
        return error{errc::not_a_database, opts.path + " is a RocksDB database but not a cairn store"};
      if (*format == format_state::upgradable)
        return error{errc::unknown_format, opts.path + " is in an older store format than " +
                                               std::to_string(store_format_version) +
                                               " (opening it read-write once upgrades it)"};
      for (const auto name : cf_names)
        if (std::find(names.begin(), names.end(), name) == names.end())
          return error{errc::unknown_format, opts.path + " lacks the column family " + std::string{name} +
                                                 " (opening it read-write once adds it)"};
      p->read_only = true;
      return finish(std::move(p), false);
    }

    auto kind = classify_path(t.db.env, opts);
    if (!kind)
      return kind.error();
    // A database that cannot be created leaves nothing behind: the folder was empty or absent (classify_path),
    // so whatever is in it after a failed creation was made by this open.
    bool made_folder = false;
    if (*kind == path_kind::new_database && t.db.env->FileExists(opts.path).IsNotFound()) {
      if (const auto s = t.db.env->CreateDirIfMissing(opts.path); !s.ok())
        return error{errc::io_error, "cannot create database " + opts.path + ": " + s.ToString()};
      made_folder = true;
    }
    // RocksDB's info log is ours (internal/info_logger.hpp): its own one aborts the process on a full disk.
    t.db.info_log = std::make_shared<internal::info_logger>(t.env->GetFileSystem(), opts.path,
                                                           t.db.max_log_file_size);
    const auto open_read_write = [&]() -> result<std::unique_ptr<event_store>> {
      std::vector<std::string> names;
      bool finish_creation = *kind == path_kind::new_database;
      bool upgrade = false;
      if (*kind == path_kind::existing_database) {
        // A CURRENT that names no readable MANIFEST is not a database; a failing disk is an I/O error.
        if (const auto s = rocksdb::DB::ListColumnFamilies(t.db, opts.path, &names); !s.ok())
          return error{s.IsIOError() && !s.IsPathNotFound() ? errc::io_error : errc::not_a_database,
                       "cannot read the database catalogue of " + opts.path + ": " + s.ToString()};
        const bool all_ours_present = std::all_of(cf_names.begin(), cf_names.end(), [&](std::string_view n) {
          return std::find(names.begin(), names.end(), n) != names.end();
        });
        const bool only_ours = std::all_of(names.begin(), names.end(), [](const std::string& n) {
          return is_cairn_cf(n);
        });
        // Look before touching: opening read-write would add our column families to a foreign database.
        database probe;
        if (auto st = open_database(probe, t, opts.path, false, names, !all_ours_present); !st)
          return st.error();
        auto format = read_format(probe, opts.path);
        if (!format)
          return format.error();
        if (*format == format_state::absent) {
          // A database whose creation stopped before the format was written has nothing but our empty column
          // families; anything else is somebody else's RocksDB database.
          if (!only_ours || !all_empty(probe))
            return error{errc::not_a_database, opts.path + " is a RocksDB database but not a cairn store"};
          finish_creation = true;
        }
        upgrade = *format == format_state::upgradable;
        if (all_ours_present) {
          auto p = std::make_unique<impl>();
          p->d.db = std::exchange(probe.db, nullptr);
          p->d.handles = std::move(probe.handles);
          p->d.names = std::move(probe.names);
          return finish(std::move(p), finish_creation, upgrade);
        }
        probe.close();
      }
      for (const auto name : cf_names)
        if (std::find(names.begin(), names.end(), name) == names.end())
          names.emplace_back(name);
      auto p = std::make_unique<impl>();
      if (auto st = open_database(p->d, t, opts.path, *kind == path_kind::new_database, names, false); !st)
        return st.error();
      return finish(std::move(p), finish_creation, upgrade);
    };
    auto opened = open_read_write();
    // A lock held by another process means that it is creating the database: its files are not ours to remove.
    if (!opened && *kind == path_kind::new_database && opened.error().code() != errc::locked) {
      t.db.info_log.reset();
      remove_created(t.db.env, opts.path, made_folder);
    }
    return opened;
  } catch (const std::exception& e) {
    return error{errc::io_error, "cannot open database " + opts.path + ": " + e.what()};
  }
}

event_store::event_store(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

event_store::~event_store() = default;

result<append_receipt> event_store::append(const append_request& request) {
  auto results = group_append(std::span<const append_request>{&request, 1});
  return std::move(results.front());
}

std::vector<result<append_receipt>> event_store::group_append(std::span<const append_request> requests) {
  return group_append_impl(requests, nullptr);
}

std::vector<result<append_receipt>> event_store::group_append(std::span<const append_request> requests,
                                                              std::vector<std::optional<causation_record>>& priors) {
  return group_append_impl(requests, &priors);
}

std::vector<result<append_receipt>>
event_store::group_append_impl(std::span<const append_request> requests,
                               std::vector<std::optional<causation_record>>* priors) {
  std::vector<result<append_receipt>> out;
  try {
    out.reserve(requests.size());
    if (impl_->read_only) {
      for (std::size_t i = 0; i < requests.size(); ++i)
        out.emplace_back(error{errc::invalid_argument, "the store is open read-only"});
      return out;
    }
    impl_->group_append(requests, out, priors);
  } catch (const std::exception& e) {
    // Only allocation can throw, and only before the write (the results after it are assigned in place): no
    // request of this call was committed.
    const error failure{errc::storage_failure, std::string{"the appends could not be prepared: "} + e.what()};
    if (priors != nullptr)
      priors->assign(requests.size(), std::nullopt);
    for (auto& r : out)
      if (r)
        r = failure;
    while (out.size() < requests.size())
      out.emplace_back(failure);
  }
  return out;
}

result<std::vector<stored_event>> event_store::read_stream(const std::string& stream, std::uint64_t from_version,
                                                           std::size_t max_count) const {
  return impl_->guarded_read("a stream", [&] { return impl_->read_stream(stream, from_version, max_count); });
}

result<std::vector<stored_event>> event_store::read_log(std::uint64_t from_position, std::size_t max_count) const {
  return impl_->guarded_read("the global log", [&] { return impl_->read_log(from_position, max_count); });
}

result<std::uint64_t> event_store::stream_version(const std::string& stream) const {
  if (auto st = check_name("stream", stream); !st)
    return st.error();
  return impl_->guarded_read("a stream head", [&] { return impl_->head_of(stream); });
}

result<std::optional<snapshot_record>> event_store::latest_snapshot(const std::string& stream) const {
  return impl_->guarded_read("a snapshot", [&] { return impl_->latest_snapshot(stream); });
}

result<std::uint64_t> event_store::tracking_position(const std::string& subscriber) const {
  if (auto st = check_name("subscriber", subscriber); !st)
    return st.error();
  return impl_->guarded_read("a tracking record", [&] {
    return read_be64_value(impl_->db(), impl_->cf[tracking_cf], subscriber, "the tracking record of subscriber");
  });
}

result<std::vector<tracking_record>> event_store::tracking_positions() const {
  return impl_->guarded_read("the tracking records", [&] { return impl_->tracking_positions(); });
}

result<std::optional<causation_record>> event_store::causation(const std::string& stream,
                                                                const std::string& source) const {
  if (auto st = check_name("stream", stream); !st)
    return st.error();
  if (auto st = check_name("causation source", source); !st)
    return st.error();
  return impl_->guarded_read("a causation record", [&] {
    return impl_->read_causation(layout::causation_key(stream, source), stream, source);
  });
}

result<std::optional<std::string>> event_store::projection_value(std::string_view key) const {
  return impl_->guarded_read("a projection key", [&] { return impl_->projection_value(key); });
}

result<std::vector<std::pair<std::string, std::string>>>
event_store::scan_projection(std::string_view prefix, std::string_view after_key, std::size_t max_count) const {
  return impl_->guarded_read("projection keys", [&] {
    return impl_->scan_keys(projections_cf, "projection", prefix, after_key, max_count);
  });
}

result<std::vector<std::pair<std::string, std::string>>>
event_store::scan_runtime(std::string_view prefix, std::string_view after_key, std::size_t max_count) const {
  return impl_->guarded_read("runtime keys", [&] {
    return impl_->scan_keys(runtime_cf, "runtime", prefix, after_key, max_count);
  });
}

result<std::vector<stream_head>> event_store::list_streams(std::string_view after_stream,
                                                           std::size_t max_count) const {
  return impl_->guarded_read("the stream heads", [&] { return impl_->list_streams(after_stream, max_count); });
}

result<std::vector<column_family_stats>> event_store::column_families() const {
  return impl_->guarded_read("the column family properties", [&] { return impl_->column_families(); });
}

std::uint64_t event_store::last_position() const noexcept {
  return impl_->last_position.load(std::memory_order_acquire);
}

durability event_store::mode() const noexcept {
  return impl_->mode;
}

store_stats event_store::stats() const noexcept {
  return store_stats{impl_->writes.load(std::memory_order_relaxed), impl_->syncs.load(std::memory_order_relaxed),
                     impl_->appends.load(std::memory_order_relaxed), impl_->events.load(std::memory_order_relaxed)};
}

store_health event_store::health() const {
  if (impl_->read_only)
    return store_health{false, "the store is open read-only"};
  try {
    return impl_->health();
  } catch (const std::exception& e) {
    return store_health{false, std::string{"cannot tell: "} + e.what()};
  }
}

store_health event_store::check_health() {
  if (impl_->read_only)
    return health();
  try {
    return impl_->check_health();
  } catch (const std::exception& e) {
    return store_health{false, std::string{"cannot tell: "} + e.what()};
  }
}

status event_store::flush() {
  if (impl_->read_only)
    return error{errc::invalid_argument, "the store is open read-only"};
  try {
    return impl_->flush();
  } catch (const std::exception& e) {
    return error{errc::storage_failure, std::string{"cannot sync the WAL: "} + e.what()};
  }
}

} // namespace cairn::store
