#include "raw_db.hpp"

#include <cairn/store/codec.hpp>

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/statistics.h>
#include <rocksdb/write_batch.h>

#include <stdexcept>
#include <vector>

namespace cairn::bench {

namespace {

void put_be64(char* out, std::uint64_t v) noexcept {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(static_cast<std::uint8_t>(v));
    v >>= 8;
  }
}

std::uint64_t get_be64(const char* in) noexcept {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v = (v << 8) | static_cast<std::uint8_t>(in[i]);
  return v;
}

void check(const rocksdb::Status& s, const char* what) {
  if (!s.ok())
    throw std::runtime_error{std::string{what} + ": " + s.ToString()};
}

// The store's value formats: a format byte, the varints that place the event, then the event itself (schema
// version, zigzag timestamp, type, payload).
void put_event(std::string& out, const store::event_record& e) {
  store::detail::put_varint(out, e.schema_version);
  store::detail::put_varint(out, store::detail::zigzag(e.timestamp_us));
  store::detail::put_varint(out, e.type.size());
  out.append(e.type);
  store::detail::put_varint(out, e.payload.size());
  out.append(e.payload);
}

} // namespace

raw_db::raw_db(const std::filesystem::path& path, bool durable) : durable_(durable) {
  rocksdb::DBOptions db_opts;
  db_opts.create_if_missing = true;
  db_opts.create_missing_column_families = true;
  db_opts.max_background_jobs = 2;
  db_opts.bytes_per_sync = 1u << 20;
  db_opts.max_total_wal_size = 256u << 20;
  db_opts.db_write_buffer_size = 512u << 20;
  statistics_ = rocksdb::CreateDBStatistics();
  // Counters only: the WAL sync count is all that is read.
  statistics_->set_stats_level(rocksdb::StatsLevel::kExceptHistogramOrTimers);
  db_opts.statistics = statistics_;

  rocksdb::ColumnFamilyOptions scan;
  scan.write_buffer_size = 64u << 20;
  scan.max_write_buffer_number = 4;
  scan.compression = rocksdb::kLZ4Compression;
  rocksdb::ColumnFamilyOptions point;
  point.write_buffer_size = 16u << 20;
  point.max_write_buffer_number = 4;
  point.compression = rocksdb::kLZ4Compression;

  const std::vector<rocksdb::ColumnFamilyDescriptor> families{
    {rocksdb::kDefaultColumnFamilyName, point}, {"streams", scan}, {"log", scan}, {"heads", point}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  check(rocksdb::DB::Open(db_opts, path.string(), families, &handles, &db), "cannot open the baseline database");
  db_.reset(db);
  default_ = handles[0];
  streams_ = handles[1];
  log_ = handles[2];
  heads_ = handles[3];
}

raw_db::~raw_db() {
  for (auto* h : {streams_, log_, heads_, default_})
    static_cast<void>(db_->DestroyColumnFamilyHandle(h));
  static_cast<void>(db_->Close());
}

void raw_db::add(rocksdb::WriteBatch& batch, std::string_view stream, std::uint64_t first_version,
                 std::uint64_t first_position, std::span<const store::event_record> events) const {
  std::string key;
  std::string value;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const auto version = first_version + i;
    const auto position = first_position + i;

    key.assign(stream);
    key.push_back('\0');
    key.resize(key.size() + 8);
    put_be64(key.data() + key.size() - 8, version);
    value.assign(1, '\x01');
    store::detail::put_varint(value, position);
    put_event(value, events[i]);
    check(batch.Put(streams_, key, value), "cannot build the batch");

    char position_key[8];
    put_be64(position_key, position);
    value.assign(1, '\x01');
    store::detail::put_varint(value, stream.size());
    value.append(stream);
    store::detail::put_varint(value, version);
    put_event(value, events[i]);
    check(batch.Put(log_, rocksdb::Slice{position_key, sizeof position_key}, value), "cannot build the batch");
  }
  char head[8];
  put_be64(head, first_version + events.size() - 1);
  check(batch.Put(heads_, rocksdb::Slice{stream.data(), stream.size()}, rocksdb::Slice{head, sizeof head}),
        "cannot build the batch");
}

void raw_db::write(rocksdb::WriteBatch& batch, bool sync) const {
  rocksdb::WriteOptions wo;
  wo.sync = durable_ && sync;
  check(db_->Write(wo, &batch), "cannot write");
}

void raw_db::sync_wal() const {
  check(db_->SyncWAL(), "cannot sync the WAL");
}

std::uint64_t raw_db::wal_syncs() const {
  return statistics_->getTickerCount(rocksdb::WAL_FILE_SYNCED);
}

std::uint64_t raw_db::log_entries() const {
  std::unique_ptr<rocksdb::Iterator> it{db_->NewIterator(rocksdb::ReadOptions{}, log_)};
  std::uint64_t n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next())
    ++n;
  check(it->status(), "cannot read the log");
  return n;
}

std::uint64_t raw_db::head(std::string_view stream) const {
  std::string value;
  const auto s = db_->Get(rocksdb::ReadOptions{}, heads_, rocksdb::Slice{stream.data(), stream.size()}, &value);
  if (s.IsNotFound())
    return 0;
  check(s, "cannot read a head");
  if (value.size() != 8)
    throw std::runtime_error{"a head of " + std::to_string(value.size()) + " bytes"};
  return get_be64(value.data());
}

} // namespace cairn::bench
