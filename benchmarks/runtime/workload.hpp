// The commands a scenario sends, described once so that cairn and the baselines run exactly the same ones: which
// aggregates exist, how each is created, and the timed phases (command number i goes to aggregate target(i)).
#pragma once

#include "options.hpp"

#include <cairn/aggregate.hpp>
#include <cairn/domains/example_aggregate.hpp>
#include <cairn/domains/order.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace cairn::bench {

/// Which aggregate command number i goes to: a pure function of (seed, i), so that a run is reproducible, any
/// thread can ask without sharing a generator, and the expected final state can be recomputed afterwards.
class key_chooser {
public:
  /// Every aggregate equally likely.
  static key_chooser uniform(std::size_t aggregates, std::uint64_t seed);
  /// Aggregate k with probability proportional to 1 / (k + 1)^skew: aggregate 0 is the hottest.
  static key_chooser zipfian(std::size_t aggregates, double skew, std::uint64_t seed);

  std::size_t operator()(std::uint64_t i) const noexcept;

private:
  key_chooser(std::size_t aggregates, std::uint64_t seed, std::vector<double> cdf);

  std::size_t aggregates_;
  std::uint64_t seed_;
  std::vector<double> cdf_; ///< empty for uniform
};

template <aggregate A>
struct command_phase {
  std::string name;
  std::uint64_t commands = 0; ///< at most this many; --seconds may stop the phase earlier
  std::function<std::size_t(std::uint64_t)> target;
  std::function<typename A::command(std::uint64_t)> command;
  std::uint64_t events_per_command = 1;
  /// The events one command records: the raw RocksDB baselines write their bytes without deciding anything.
  std::vector<typename A::event> typical_events;
};

template <aggregate A>
struct workload {
  std::vector<std::string> ids;
  typename A::command create; ///< brings each aggregate into being, before the timed phases
  std::uint64_t creation_events = 1;
  std::vector<command_phase<A>> phases; ///< timed, one after the other
};

/// The creation of every aggregate, as a phase of its own (command i creates aggregate i).
template <aggregate A>
command_phase<A> creation_phase(const workload<A>& w) {
  return command_phase<A>{"create", w.ids.size(), [](std::uint64_t i) { return static_cast<std::size_t>(i); },
                          [create = w.create](std::uint64_t) { return create; }, w.creation_events, {}};
}

/// The version of every aggregate after its creation and the first `executed[p]` commands of each phase p (a run
/// always executes a prefix of a phase's commands).
template <aggregate A>
std::vector<std::uint64_t> expected_versions(const workload<A>& w, const std::vector<std::uint64_t>& executed) {
  std::vector<std::uint64_t> versions(w.ids.size(), w.creation_events);
  for (std::size_t p = 0; p < executed.size(); ++p)
    for (std::uint64_t i = 0; i < executed[p]; ++i)
      versions[w.phases[p].target(i)] += w.phases[p].events_per_command;
  return versions;
}

/// uniform, hotspot and lone: --aggregates example aggregates, each command creates --events-per-command examples.
workload<domains::examples::example_aggregate> examples_workload(const bench_options& opt);

/// orders: --aggregates orders get --lines lines each (line k of every order before line k + 1 of any), then
/// every order is submitted.
workload<domains::orders::order> orders_workload(const bench_options& opt);

} // namespace cairn::bench
