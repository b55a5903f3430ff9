// The event store: streams of events in RocksDB with an atomic append, optimistic concurrency and a global log.
//
// Layout and guarantees (see docs/store.md):
//   * One append = one command's events for one stream. It is written in one RocksDB WriteBatch together with the
//     stream's new head version, the global-log entries, and optionally a snapshot and a tracking record. After
//     any crash either all of it is there or none of it.
//   * Every append names the version it expects the stream to be at (0 = the stream must not exist yet). A
//     mismatch is errc::conflict and nothing is written.
//   * Global positions (1, 2, 3, ...) are assigned at write time, under the store's write lock, in write order:
//     position order == commit order, with no gaps between committed events.
//   * group_append writes many appends (to distinct or repeated streams) in one RocksDB write: appends that
//     conflict are left out and answered conflict; the others commit together.
//   * An append may carry a causation record (source, sequence): the store keeps the last one per (stream, source)
//     and answers errc::duplicate, writing nothing, to a request whose sequence is not beyond it. This makes a
//     command caused by an event idempotent (guarantee 7). A rejected command records only its causation.
//   * An append may carry projection puts (key/value state of projections), written in the same batch; a request
//     with only a tracking record and/or projection puts needs no stream.
//   * durability::durable returns only after the WAL is fsynced (survives power loss);
//     durability::buffered returns after the WAL is written to the OS (survives a process crash, not power loss).
//
// Thread-safety: an event_store may be used from many threads at once. Appends are serialised internally (one
// RocksDB write at a time, so that positions follow commit order); reads run concurrently with appends and with
// each other and see only committed data.
#pragma once

#include <cairn/store/result.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rocksdb {
class Env;
}

namespace cairn::store {

/// The on-disk format this build writes and reads; kept in the database. Format 2 added the runtime's own key
/// space (runtime_put); a read-write open upgrades a format-1 store (see docs/store.md).
inline constexpr std::uint32_t store_format_version = 2;

/// Limits that keep one request bounded; larger requests are errc::invalid_argument.
inline constexpr std::size_t max_stream_name_bytes = 256;
inline constexpr std::size_t max_events_per_append = 10'000;
inline constexpr std::size_t max_event_payload_bytes = 16u << 20;
inline constexpr std::size_t max_event_type_bytes = 256;
inline constexpr std::size_t max_snapshot_payload_bytes = 256u << 20;
inline constexpr std::size_t max_causation_message_bytes = 64u << 10;
inline constexpr std::size_t max_projection_key_bytes = 1024;
inline constexpr std::size_t max_projection_value_bytes = 16u << 20;

enum class durability : std::uint8_t {
  durable,  ///< WAL fsynced before an append returns
  buffered, ///< WAL written (to the OS) before an append returns; not synced
};

struct options {
  std::string path;                         ///< the database folder
  durability mode = durability::durable;
  bool create_if_missing = true;
  /// Opens an existing store without writing anything and without taking RocksDB's lock, so that tools can look
  /// into a store whose process is down or still running (they see it as of the open). Appends and flush() then
  /// answer errc::invalid_argument. A store lacking one of the column families of format 2 (a format-1 store) is
  /// errc::unknown_format (a read-write open upgrades it).
  bool read_only = false;
  rocksdb::Env* env = nullptr;              ///< nullptr: the default Env (tests pass a fault-injecting one)
  std::size_t block_cache_bytes = 64u << 20;
};

/// One event as stored: the envelope around the payload bytes.
struct event_record {
  std::string type;                 ///< the event type name, e.g. "order.line_added"
  std::uint32_t schema_version = 1; ///< the payload's schema version
  std::int64_t timestamp_us = 0;    ///< microseconds since the Unix epoch, when recorded
  std::string payload;              ///< cairn's binary encoding (codec.hpp)

  friend bool operator==(const event_record&, const event_record&) = default;
};

/// An event read back, with where it sits.
struct stored_event {
  std::string stream;
  std::uint64_t version = 0;  ///< 1-based position within its stream
  std::uint64_t position = 0; ///< 1-based position in the global log
  event_record event;
};

/// A snapshot of a stream's state at `version`.
struct snapshot_record {
  std::uint64_t version = 0;
  std::uint32_t schema_version = 1;
  std::string payload;

  friend bool operator==(const snapshot_record&, const snapshot_record&) = default;
};

/// A subscriber's progress: the last global position it has processed.
struct tracking_record {
  std::string subscriber;
  std::uint64_t position = 0;
};

/// What caused a command: the event or step (`source`, `sequence`) it came from, and how it ended. The store
/// keeps the last record per (stream, source); `sequence` must grow strictly per (source, stream), so that a
/// command seen again (a redelivery after a crash) is recognised and answered errc::duplicate.
struct causation_record {
  std::string source{};       ///< who caused the command, e.g. a policy's name; 1..256 bytes, no NUL
  std::uint64_t sequence = 0; ///< strictly increasing per (source, stream), e.g. the causing event's position
  bool accepted = true;       ///< false: the command was rejected; the append carries no events
  std::string message{};      ///< free text, e.g. why it was rejected; up to max_causation_message_bytes
  std::uint64_t version = 0;  ///< read back: the stream's head after the command (ignored in a request)

  friend bool operator==(const causation_record&, const causation_record&) = default;
};

/// A change to a projection's state: `value` nullopt deletes the key. Keys are opaque bytes; a projection names
/// its keys "<projection name>/<key>" so that projections sharing the store never collide and each can scan its
/// own keys by prefix.
struct projection_put {
  std::string key{};                  ///< 1..max_projection_key_bytes bytes
  std::optional<std::string> value{}; ///< up to max_projection_value_bytes bytes; nullopt: delete

  friend bool operator==(const projection_put&, const projection_put&) = default;
};

/// A change to one of the runtime's own keys (e.g. the marker of a process with commands due). They live in a key
/// space of their own, apart from the projections', so that no projection can read, scan or overwrite them.
using runtime_put = projection_put;

/// One command's events for one stream, and what goes into the same batch.
struct append_request {
  std::string stream;                 ///< empty only for an append of a tracking record and/or projection puts
  std::uint64_t expected_version = 0; ///< 0: the stream must not exist yet; ignored without a stream
  std::vector<event_record> events;   ///< may be empty only when something else (snapshot, tracking, ...) is given
  std::optional<snapshot_record> snapshot;
  std::optional<tracking_record> tracking;
  std::optional<causation_record> causation{}; ///< needs a stream; a rejection (accepted false) has no events
  std::vector<projection_put> puts{};          ///< applied in order (the last put of a key wins)
  std::vector<runtime_put> runtime_puts{};     ///< the same, in the runtime's key space
};

/// What a committed append became.
struct append_receipt {
  std::uint64_t new_version = 0;    ///< the stream's head after the append (0 for an append without a stream)
  std::uint64_t first_position = 0; ///< global position of the first event (0 when no events)
  std::uint64_t last_position = 0;  ///< global position of the last event (0 when no events)
};

/// A stream and its head version, as listed by event_store::list_streams().
struct stream_head {
  std::string stream;
  std::uint64_t version = 0;
};

/// RocksDB's own figures for one column family (its properties; estimates where RocksDB says so).
struct column_family_stats {
  std::string name;
  std::uint64_t estimated_keys = 0;      ///< rocksdb.estimate-num-keys
  std::uint64_t sst_bytes = 0;           ///< rocksdb.total-sst-files-size
  std::uint64_t live_data_bytes = 0;     ///< rocksdb.estimate-live-data-size
  std::uint64_t memtable_bytes = 0;      ///< rocksdb.cur-size-all-mem-tables
  std::uint64_t sst_files = 0;           ///< files over all levels (rocksdb.num-files-at-level<N>)
};

/// Counters since open.
struct store_stats {
  std::uint64_t writes = 0;  ///< RocksDB writes (each one batch)
  std::uint64_t syncs = 0;   ///< of which synced (durable mode)
  std::uint64_t appends = 0; ///< committed appends
  std::uint64_t events = 0;  ///< committed events
};

/// Whether the store takes writes (event_store::health()).
struct store_health {
  bool writable = true; ///< false from a failed write or background job until the store has recovered
  std::string reason{}; ///< why not (the failure, e.g. "No space left on device"); empty when writable
};

class event_store {
public:
  /// Opens (or creates) a database. Errors: not_a_database, unknown_format, locked, io_error.
  static result<std::unique_ptr<event_store>> open(const options& opts);

  ~event_store();
  event_store(const event_store&) = delete;
  event_store& operator=(const event_store&) = delete;

  /// Appends one command's events atomically. Errors: conflict, duplicate, invalid_argument, storage_failure.
  result<append_receipt> append(const append_request& request);

  /// Appends many requests in one RocksDB write, in the given order; one result per request. Requests that
  /// conflict, are duplicates (also of an earlier request of the same group) or are invalid are left out and the
  /// others commit. A failed write answers storage_failure for every request that would have been written.
  std::vector<result<append_receipt>> group_append(std::span<const append_request> requests);

  /// group_append() that also says, for each request answered errc::duplicate, which causation record made it one:
  /// `priors[i]` is its first answer (accepted or not, the stream's version after it, a rejection's message), so
  /// that a caller can answer the repeat without reading the store again; nullopt for the other requests.
  std::vector<result<append_receipt>> group_append(std::span<const append_request> requests,
                                                   std::vector<std::optional<causation_record>>& priors);

  /// Up to `max_count` events of `stream` from version `from_version` (1-based) on, in version order. An empty
  /// vector means the end of the stream. Errors: corrupt_data (naming stream and version), io_error.
  result<std::vector<stored_event>> read_stream(const std::string& stream, std::uint64_t from_version,
                                                std::size_t max_count) const;

  /// Up to `max_count` events of the global log from `from_position` (1-based) on, in position order.
  result<std::vector<stored_event>> read_log(std::uint64_t from_position, std::size_t max_count) const;

  /// The stream's head version (0 when it does not exist).
  result<std::uint64_t> stream_version(const std::string& stream) const;

  /// The latest snapshot of a stream, if any.
  result<std::optional<snapshot_record>> latest_snapshot(const std::string& stream) const;

  /// The tracked position of a subscriber (0 when it has none).
  result<std::uint64_t> tracking_position(const std::string& subscriber) const;

  /// Every subscriber with its tracked position.
  result<std::vector<tracking_record>> tracking_positions() const;

  /// The last causation record of `source` on `stream` (nullopt when it has none). Its `version` is the stream's
  /// head after that command (for a rejection: the head it was rejected at).
  result<std::optional<causation_record>> causation(const std::string& stream, const std::string& source) const;

  /// The value of a projection key (nullopt when absent).
  result<std::optional<std::string>> projection_value(std::string_view key) const;

  /// Up to `max_count` projection keys that start with `prefix` and sort strictly after `after_key` (empty: from
  /// the first), with their values, in key order (bytewise). An empty vector means the end. Page through with
  /// after_key = the last key returned.
  result<std::vector<std::pair<std::string, std::string>>> scan_projection(std::string_view prefix,
                                                                           std::string_view after_key,
                                                                           std::size_t max_count) const;

  /// The runtime's keys that start with `prefix`, as scan_projection() pages through the projections' keys.
  result<std::vector<std::pair<std::string, std::string>>> scan_runtime(std::string_view prefix,
                                                                        std::string_view after_key,
                                                                        std::size_t max_count) const;

  /// Up to `max_count` streams whose names sort strictly after `after_stream` (empty: from the first), with their
  /// head versions, in name order (bytewise). An empty vector means the end. Meant for tools (cairn-inspect).
  result<std::vector<stream_head>> list_streams(std::string_view after_stream, std::size_t max_count) const;

  /// RocksDB's size figures of every column family of the store, in layout order. Meant for tools.
  result<std::vector<column_family_stats>> column_families() const;

  /// The global position of the last committed event (0 when the log is empty).
  std::uint64_t last_position() const noexcept;

  durability mode() const noexcept;
  store_stats stats() const noexcept;

  /// Syncs the WAL (meaningful in buffered mode) so that everything committed survives power loss.
  status flush();

  /// Whether writes work, without any I/O. A failed write (WAL, MANIFEST; a full disk or an I/O error) or a
  /// failed background flush or compaction makes the store unhealthy; while it is, appends answer
  /// storage_failure. Each later append, flush() or check_health() first tries to recover (once the disk takes a
  /// write again: RocksDB's DB::Resume(), or a reopen), so the store resumes by itself when space comes back.
  store_health health() const;

  /// health(), after trying to recover when the store is unhealthy (that tries some I/O: a probe write, then a
  /// resume or a reopen of RocksDB). Waits for an append in progress (short; it tries to recover first), so that
  /// it does not report a failure that append is clearing. For a health endpoint polled while no commands arrive.
  store_health check_health();

private:
  std::vector<result<append_receipt>> group_append_impl(std::span<const append_request> requests,
                                                        std::vector<std::optional<causation_record>>* priors);
  struct impl;
  explicit event_store(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace cairn::store
