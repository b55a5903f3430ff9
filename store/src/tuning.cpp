#include "internal/tuning.hpp"

#include "internal/layout.hpp"

#include <rocksdb/cache.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/listener.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>

#include <memory>
#include <string_view>

namespace cairn::store::internal {

namespace {

// Recovery from a failed write happens at one moment: before the next write, under the write lock, where the
// store can check what the failed batch left behind. RocksDB's own background recovery would race with that.
// A background error (a flush, a compaction or a MANIFEST write that failed) is counted, so that the store
// reports itself unhealthy and recovers before its next write.
class manual_recovery : public rocksdb::EventListener {
public:
  explicit manual_recovery(std::shared_ptr<background_errors> errors) : errors_(std::move(errors)) {}
  const char* Name() const override {
    return "CairnManualRecovery";
  }
  void OnBackgroundError(rocksdb::BackgroundErrorReason reason, rocksdb::Status* error) override {
    if (error == nullptr || error->ok())
      return;
    errors_->record(std::string{reason_name(reason)} + " failed: " + error->ToString());
  }
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason, rocksdb::Status, bool* auto_recovery) override {
    *auto_recovery = false;
  }

private:
  static const char* reason_name(rocksdb::BackgroundErrorReason reason) {
    switch (reason) {
      case rocksdb::BackgroundErrorReason::kFlush:
      case rocksdb::BackgroundErrorReason::kFlushNoWAL:
        return "a flush";
      case rocksdb::BackgroundErrorReason::kCompaction:
        return "a compaction";
      case rocksdb::BackgroundErrorReason::kWriteCallback:
        return "a write";
      case rocksdb::BackgroundErrorReason::kMemTable:
        return "a memtable insert";
      case rocksdb::BackgroundErrorReason::kManifestWrite:
      case rocksdb::BackgroundErrorReason::kManifestWriteNoWAL:
        return "a MANIFEST write";
    }
    return "a background job";
  }

  std::shared_ptr<background_errors> errors_;
};

// The stream of a key in cf_streams ("stream\0<version>"): each stream's events arrive in version order, so
// the memtable keeps one insert position per stream instead of searching the skiplist from the top.
class stream_prefix : public rocksdb::SliceTransform {
public:
  const char* Name() const override {
    return "CairnStreamPrefix";
  }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    const std::string_view k{key.data(), key.size()};
    return rocksdb::Slice{key.data(), k.find(stream_key_separator) + 1};
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return std::string_view{key.data(), key.size()}.find(stream_key_separator) != std::string_view::npos;
  }
};

// A stream's head is rewritten by every append to it: the memtable keeps one insert position per key.
class whole_key : public rocksdb::SliceTransform {
public:
  const char* Name() const override {
    return "CairnWholeKey";
  }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return key;
  }
  bool InDomain(const rocksdb::Slice&) const override {
    return true;
  }
};

// WAL files are preallocated with their size set (fallocate without FALLOC_FL_KEEP_SIZE) instead of RocksDB's
// default of keeping the size. A synced append then writes inside the file's size: only its data, not the inode's
// size, has to reach the disk, which on ext4 spares most WAL syncs a journal commit (measured: docs/store.md).
// The bytes after the last record read as zeros, which RocksDB's log reader skips as preallocated space (record
// type 0 is reserved for it); RocksDB truncates a WAL to its written size when it closes it.
class sized_wal_preallocation : public rocksdb::FileSystemWrapper {
public:
  explicit sized_wal_preallocation(const std::shared_ptr<rocksdb::FileSystem>& target)
    : rocksdb::FileSystemWrapper(target) {
  }
  static const char* kClassName() {
    return "CairnSizedWalPreallocation";
  }
  const char* Name() const override {
    return kClassName();
  }
  rocksdb::FileOptions OptimizeForLogWrite(const rocksdb::FileOptions& file_options,
                                           const rocksdb::DBOptions& db_options) const override {
    auto o = target()->OptimizeForLogWrite(file_options, db_options);
    o.fallocate_with_keep_size = false;
    return o;
  }
};

} // namespace

rocksdb::ColumnFamilyOptions tuning::for_cf(std::string_view name) const {
  if (name == cf_streams)
    return stream_cf;
  if (name == cf_log)
    return log_cf;
  if (is_cairn_cf(name))
    return point_cf;
  return foreign_cf;
}

tuning make_tuning(const options& opts) {
  tuning t;
  auto* base = opts.env != nullptr ? opts.env : rocksdb::Env::Default();
  t.env = rocksdb::NewCompositeEnv(std::make_shared<sized_wal_preallocation>(base->GetFileSystem()));
  t.db.env = t.env.get();
  t.errors = std::make_shared<background_errors>();
  t.db.listeners.push_back(std::make_shared<manual_recovery>(t.errors));
  t.db.max_bgerror_resume_count = 0;
  t.db.paranoid_checks = true;
  // One writer at a time (the store's write lock): the sequential insert path is faster, and it is the one that
  // uses the insert hints below.
  t.db.allow_concurrent_memtable_write = false;
  // Every write reaches the OS before Write() returns: "buffered" then survives a process crash.
  t.db.manual_wal_flush = false;
  t.db.max_background_jobs = 2;
  t.db.bytes_per_sync = 1u << 20;
  // The small column families keep old WAL files alive until they are flushed; this bounds the WAL on disk
  // (and the replay after a crash).
  t.db.max_total_wal_size = 256u << 20;
  t.db.db_write_buffer_size = 512u << 20;
  t.db.keep_log_file_num = 4;
  t.db.max_log_file_size = 8u << 20;

  const auto cache = rocksdb::NewLRUCache(opts.block_cache_bytes);

  // streams and log: appended to, read back by range scans.
  rocksdb::BlockBasedTableOptions scan_table;
  scan_table.block_cache = cache;
  scan_table.block_size = 16u << 10; // fewer block boundaries on a sequential replay
  scan_table.format_version = 5;
  rocksdb::ColumnFamilyOptions scan;
  scan.table_factory.reset(rocksdb::NewBlockBasedTableFactory(scan_table));
  scan.max_write_buffer_number = 4;
  scan.target_file_size_base = 64u << 20;
  scan.max_bytes_for_level_base = 256u << 20;
  scan.level_compaction_dynamic_level_bytes = true;
  scan.compression = rocksdb::kLZ4Compression;
  scan.bottommost_compression = rocksdb::kZSTD;

  t.stream_cf = scan;
  // Stream keys arrive scattered over many streams; a smaller skiplist stays in the CPU caches.
  t.stream_cf.write_buffer_size = 32u << 20;
  t.stream_cf.memtable_insert_with_hint_prefix_extractor = std::make_shared<stream_prefix>();

  t.log_cf = scan;
  t.log_cf.write_buffer_size = 64u << 20;
  // Log keys only grow: with one hint for all of them (their first byte is 0 below 2^56), each insert lands
  // right after the previous one.
  t.log_cf.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(1));

  // meta, heads, snapshots, tracking, causations, projections: mostly small, read by key (projections also by
  // short prefix scans, which the bloom filters do not get in the way of).
  rocksdb::BlockBasedTableOptions point_table;
  point_table.block_cache = cache;
  point_table.format_version = 5;
  point_table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  t.point_cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(point_table));
  t.point_cf.write_buffer_size = 16u << 20;
  t.point_cf.max_write_buffer_number = 4;
  t.point_cf.level_compaction_dynamic_level_bytes = true;
  t.point_cf.compression = rocksdb::kLZ4Compression;
  // An append whose stream's head is not cached looks it up, often for a stream that has none yet: a memtable
  // bloom filter answers those misses without a skiplist search.
  t.point_cf.memtable_whole_key_filtering = true;
  t.point_cf.memtable_prefix_bloom_size_ratio = 0.02;
  // A head is rewritten by every append to its stream. The insert hints live in the memtable's arena, so they
  // count against its size and their memory stays bounded.
  t.point_cf.memtable_insert_with_hint_prefix_extractor = std::make_shared<whole_key>();
  return t;
}

} // namespace cairn::store::internal
