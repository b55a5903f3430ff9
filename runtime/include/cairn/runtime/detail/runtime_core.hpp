// What every aggregate actor of a runtime shares: the store, the committer, the activation pool, the bounds.
#pragma once

#include <cairn/runtime/config.hpp>
#include <cairn/runtime/detail/committer.hpp>
#include <cairn/runtime/detail/directory.hpp>
#include <cairn/runtime/detail/router.hpp>
#include <cairn/runtime/detail/work_pool.hpp>
#include <cairn/store/event_store.hpp>

#include <atomic>
#include <cstddef>
#include <memory>

namespace cairn::detail {

struct runtime_core {
  runtime_config config;
  std::unique_ptr<store::event_store> store;
  std::unique_ptr<router> feed;
  std::unique_ptr<committer> commits;
  std::unique_ptr<work_pool> loader;
  activation_budget budget;
  /// Commands and queries admitted and not yet answered.
  std::atomic<std::size_t> in_flight{0};
  std::atomic<bool> admitting{false};
  /// Instances that read their stream again after a failed append.
  std::atomic<std::uint64_t> reloads{0};
};

} // namespace cairn::detail
