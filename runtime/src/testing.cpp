#include <cairn/testing/aggregate_test.hpp>

#include <caf/scheduler/test_coordinator.hpp>

#include <rocksdb/env.h>

#include <atomic>

namespace cairn::testing {

std::size_t run_until_idle(runtime& rt) {
  if (!rt.config().deterministic() || !rt.started())
    return 0;
  auto& actors = dynamic_cast<caf::scheduler::test_coordinator&>(rt.system().scheduler());
  std::size_t steps = 0;
  for (;;) {
    auto n = actors.run();
    n += rt.run_queued_work();
    if (n == 0)
      return steps;
    steps += n;
  }
}

namespace detail {

std::shared_ptr<rocksdb::Env> make_memory_env() {
  return std::shared_ptr<rocksdb::Env>{rocksdb::NewMemEnv(rocksdb::Env::Default())};
}

runtime_config deterministic_config(rocksdb::Env* env) {
  static std::atomic<unsigned> next{0};
  runtime_config cfg;
  // The folder exists only inside the in-memory Env; the counter keeps two tests' databases apart.
  cfg.data_dir = "/cairn-test-" + std::to_string(next.fetch_add(1));
  cfg.store_env = env;
  cfg.drive_until_idle = run_until_idle;
  cfg.durability = commit_mode::buffered;
  return cfg;
}

} // namespace detail

} // namespace cairn::testing
