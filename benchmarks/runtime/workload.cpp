#include "workload.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace cairn::bench {

namespace {

using namespace cairn::domains;

/// SplitMix64: a good 64-bit mix of a counter, which is all a counter-based generator needs.
std::uint64_t mix(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::vector<std::string> numbered_ids(std::string_view prefix, std::size_t n) {
  std::vector<std::string> ids;
  ids.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    ids.push_back(std::string{prefix} + std::to_string(i));
  return ids;
}

} // namespace

key_chooser::key_chooser(std::size_t aggregates, std::uint64_t seed, std::vector<double> cdf)
  : aggregates_(aggregates), seed_(mix(seed)), cdf_(std::move(cdf)) {
}

key_chooser key_chooser::uniform(std::size_t aggregates, std::uint64_t seed) {
  return key_chooser{aggregates, seed, {}};
}

key_chooser key_chooser::zipfian(std::size_t aggregates, double skew, std::uint64_t seed) {
  std::vector<double> cdf(aggregates);
  double sum = 0;
  for (std::size_t k = 0; k < aggregates; ++k)
    cdf[k] = sum += 1.0 / std::pow(static_cast<double>(k + 1), skew);
  for (auto& c : cdf)
    c /= sum;
  return key_chooser{aggregates, seed, std::move(cdf)};
}

std::size_t key_chooser::operator()(std::uint64_t i) const noexcept {
  const auto r = mix(seed_ ^ mix(i));
  if (cdf_.empty())
    return static_cast<std::size_t>(r % aggregates_);
  // 53 random bits: a uniform double in [0, 1), then the first aggregate whose cumulative share exceeds it.
  const double u = static_cast<double>(r >> 11) * 0x1.0p-53;
  const auto k = std::upper_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin();
  return std::min(static_cast<std::size_t>(k), aggregates_ - 1);
}

workload<examples::example_aggregate> examples_workload(const bench_options& opt) {
  workload<examples::example_aggregate> w;
  w.ids = numbered_ids("ex-", opt.aggregates);
  w.create = examples::create_aggregate{};
  const auto chooser = opt.scenario == scenario_kind::hotspot
                         ? key_chooser::zipfian(opt.aggregates, opt.skew, opt.seed)
                         : key_chooser::uniform(opt.aggregates, opt.seed);
  const auto e = opt.events_per_command;
  command_phase<examples::example_aggregate> phase;
  phase.name = "create_examples";
  phase.commands = opt.commands.value_or(std::numeric_limits<std::uint64_t>::max());
  phase.target = chooser;
  phase.command = [e](std::uint64_t) { return examples::create_examples{e}; };
  phase.events_per_command = static_cast<std::uint64_t>(e);
  for (std::int64_t k = 1; k <= e; ++k)
    phase.typical_events.push_back(examples::example_created{static_cast<std::uint64_t>(k)});
  w.phases.push_back(std::move(phase));
  return w;
}

workload<orders::order> orders_workload(const bench_options& opt) {
  workload<orders::order> w;
  w.ids = numbered_ids("order-", opt.aggregates);
  w.create = orders::create_order{"customer-1"};
  const std::uint64_t n = opt.aggregates;
  // One cent a line, so that no number of lines reaches the order's maximum total.
  const auto price = money::from_minor(1);

  command_phase<orders::order> lines;
  lines.name = "add_line";
  lines.commands = n * opt.lines;
  lines.target = [n](std::uint64_t i) { return static_cast<std::size_t>(i % n); };
  lines.command = [n, price](std::uint64_t i) {
    return orders::add_line{"product-" + std::to_string(i / n), "a product", 1, price};
  };
  lines.typical_events.emplace_back(std::in_place_type<orders::line_added>, "product-0", "a product", 1, price);
  w.phases.push_back(std::move(lines));

  command_phase<orders::order> submit;
  submit.name = "submit_order";
  submit.commands = n;
  submit.target = [](std::uint64_t i) { return static_cast<std::size_t>(i); };
  submit.command = [](std::uint64_t) { return orders::submit_order{}; };
  submit.typical_events.push_back(orders::order_submitted{});
  w.phases.push_back(std::move(submit));
  return w;
}

} // namespace cairn::bench
