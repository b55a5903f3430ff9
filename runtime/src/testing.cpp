#include <cairn/testing/aggregate_test.hpp>

#include <rocksdb/env.h>

#include <atomic>

namespace cairn::testing::detail {

std::shared_ptr<rocksdb::Env> make_memory_env() {
  return std::shared_ptr<rocksdb::Env>{rocksdb::NewMemEnv(rocksdb::Env::Default())};
}

runtime_config deterministic_config(rocksdb::Env* env) {
  static std::atomic<unsigned> next{0};
  runtime_config cfg;
  // The folder exists only inside the in-memory Env; the counter keeps two tests' databases apart.
  cfg.data_dir = "/cairn-test-" + std::to_string(next.fetch_add(1));
  cfg.store_env = env;
  cfg.deterministic = true;
  cfg.durability = commit_mode::buffered;
  return cfg;
}

} // namespace cairn::testing::detail
