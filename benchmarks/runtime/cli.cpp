#include "cli.hpp"

#include "baselines.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>
#include <filesystem>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace cairn::bench {

namespace {

constexpr std::size_t max_group_writers = 4096;
constexpr std::uint64_t max_transfers = 100'000'000;

constexpr std::array<std::pair<scenario_kind, std::string_view>, 8> scenario_names{{
  {scenario_kind::uniform, "uniform"},
  {scenario_kind::hotspot, "hotspot"},
  {scenario_kind::orders, "orders"},
  {scenario_kind::recovery, "recovery"},
  {scenario_kind::idle_memory, "idle-memory"},
  {scenario_kind::lone, "lone"},
  {scenario_kind::transfers, "transfers"},
  {scenario_kind::churn, "churn"},
}};

scenario_kind scenario_named(const std::string& name) {
  for (const auto& [kind, spelling] : scenario_names)
    if (spelling == name)
      return kind;
  throw CLI::ValidationError{"--scenario", "unknown scenario " + name};
}

/// Options that only some scenarios read.
struct applies_to {
  CLI::Option* option;
  std::vector<scenario_kind> scenarios;
};

void reject_inapplicable(const std::vector<applies_to>& rules, scenario_kind s) {
  for (const auto& rule : rules) {
    if (rule.option->count() == 0 ||
        std::find(rule.scenarios.begin(), rule.scenarios.end(), s) != rule.scenarios.end())
      continue;
    std::string names;
    for (const auto k : rule.scenarios)
      names += (names.empty() ? "" : ", ") + std::string{to_string(k)};
    throw CLI::ValidationError{rule.option->get_name(), "applies to --scenario " + names + " only, not " +
                                                          std::string{to_string(s)}};
  }
}

} // namespace

std::string_view to_string(scenario_kind s) noexcept {
  for (const auto& [kind, spelling] : scenario_names)
    if (kind == s)
      return spelling;
  return "?";
}

std::optional<bench_options> parse_command_line(int argc, char** argv, int& exit_code) {
  CLI::App app{"cairn-bench: cairn's throughput, latency, recovery and memory on this machine, with baselines "
               "measured in the same run. Every run verifies that each command was answered exactly once and "
               "that the stored versions add up; a failed check exits with code 2."};

  bench_options opt;
  std::string scenario = "uniform";
  std::string durability = "durable";
  std::uint64_t commands = 0;
  double seconds = 0;
  opt.threads = std::max(1u, std::thread::hardware_concurrency());
  opt.seed = 42;

  std::vector<std::string> all_scenarios;
  for (const auto& [kind, spelling] : scenario_names)
    all_scenarios.emplace_back(spelling);
  std::vector<std::string> all_baselines{baseline_names.begin(), baseline_names.end()};

  app.add_option("--scenario", scenario, "What to measure")->capture_default_str()->check(CLI::IsMember(all_scenarios));
  auto* aggregates =
    app.add_option("--aggregates", opt.aggregates,
                   "Aggregate instances (default: 10,000; lone 1,000; idle-memory 100,000); transfers: accounts")
      ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}));
  auto* in_flight =
    app.add_option("--in-flight", opt.in_flight,
                   "Commands in flight at once (default: 1,000; lone 1); transfers: transfers under way")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
  auto* commands_opt =
    app.add_option("--commands", commands,
                   "Timed commands (default: 100,000; lone 2,000); transfers: transfers (default: 20,000)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 40));
  auto* seconds_opt = app.add_option("--seconds", seconds, "Send timed commands for this long instead")
                        ->check(CLI::PositiveNumber)
                        ->excludes(commands_opt);
  auto* events_per_command =
    app.add_option("--events-per-command", opt.events_per_command, "Events each command records")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{100}));
  auto* skew = app.add_option("--skew", opt.skew, "Zipfian exponent: aggregate k gets 1/(k+1)^skew of the commands")
                 ->capture_default_str()
                 ->check(CLI::Range(0.0, 10.0));
  auto* lines = app.add_option("--lines", opt.lines, "Lines added to each order (default: 5)")
                  ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
  auto* events = app.add_option("--events", opt.events, "Events of the recovering aggregate (default: 10,000)")
                   ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{100'000'000}));
  auto* max_active =
    app.add_option("--max-active", opt.max_active,
                   "Instances active at most (default: 100,000 or --aggregates; churn 100)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100'000'000}));
  app.add_option("--durability", durability, "durable: acknowledged after the WAL is synced; buffered: after it "
                                             "is written to the OS")
    ->capture_default_str()
    ->check(CLI::IsMember({"durable", "buffered"}));
  app.add_option("--threads", opt.threads, "Scheduler threads (and mutex-pool threads)")
    ->capture_default_str()
    ->check(CLI::Range(std::size_t{1}, std::size_t{1024}));
  app.add_option("--seed", opt.seed, "Seed of the choice of aggregates")->capture_default_str();
  auto* data_dir = app.add_option("--data-dir", opt.data_dir,
                                  "Where to make the run's temporary folder (default: the system's temp folder)")
                     ->check(CLI::ExistingDirectory);
  auto* baselines =
    app.add_option("--baseline", opt.baselines, "Also measure this baseline (repeatable); see docs/benchmarks.md")
      ->check(CLI::IsMember(all_baselines))
      ->take_all();
  app.add_flag("--json", opt.json, "One JSON object per result on stdout instead of a table");
  app.add_option("--repeat", opt.repeat, "Run every measurement this often and report the median run")
    ->capture_default_str()
    ->check(CLI::Range(1u, 1000u));

  try {
    app.parse(argc, argv);
    opt.scenario = scenario_named(scenario);
    opt.durable = durability == "durable";
    const auto s = opt.scenario;
    using k = scenario_kind;
    reject_inapplicable(
      {{aggregates, {k::uniform, k::hotspot, k::orders, k::idle_memory, k::lone, k::transfers, k::churn}},
       {in_flight, {k::uniform, k::hotspot, k::orders, k::idle_memory, k::lone, k::transfers, k::churn}},
       {commands_opt, {k::uniform, k::hotspot, k::lone, k::transfers, k::churn}},
       {seconds_opt, {k::uniform, k::hotspot, k::lone, k::churn}},
       {events_per_command, {k::uniform, k::hotspot, k::lone, k::churn}},
       {skew, {k::hotspot}},
       {lines, {k::orders}},
       {events, {k::recovery}},
       {baselines, {k::uniform, k::hotspot, k::orders, k::lone}}},
      s);
    if (s == k::lone && in_flight->count() != 0 && opt.in_flight != 1)
      throw CLI::ValidationError{"--in-flight", "lone sends one command at a time; leave it out or give 1"};

    if (aggregates->count() == 0)
      opt.aggregates = s == k::recovery ? 1 : s == k::lone ? 1'000 : s == k::idle_memory ? 100'000 : 10'000;
    if (in_flight->count() == 0)
      opt.in_flight = s == k::lone ? 1 : 1'000;
    if (commands_opt->count() != 0)
      opt.commands = commands;
    else if (seconds_opt->count() != 0)
      opt.seconds = seconds;
    else if (s == k::uniform || s == k::hotspot || s == k::lone || s == k::churn)
      opt.commands = s == k::lone ? 2'000 : 100'000;
    else if (s == k::transfers)
      opt.commands = 20'000;
    if (s == k::transfers && opt.aggregates < 2)
      throw CLI::ValidationError{"--aggregates", "a transfer needs two accounts: give at least 2"};
    // transfers keeps a few bytes per transfer to check each one off.
    if (s == k::transfers && *opt.commands > max_transfers)
      throw CLI::ValidationError{"--commands", "transfers runs at most " + std::to_string(max_transfers) +
                                                 " transfers"};
    if (lines->count() == 0)
      opt.lines = 5;
    if (events->count() == 0)
      opt.events = 10'000;
    if (max_active->count() == 0)
      opt.max_active = s == k::churn ? 100 : std::max<std::size_t>(100'000, opt.aggregates);
    else if (s == k::idle_memory && opt.max_active < opt.aggregates)
      throw CLI::ValidationError{"--max-active", "idle-memory keeps every aggregate active: give at least "
                                                 "--aggregates (" + std::to_string(opt.aggregates) + ")"};
    if (data_dir->count() == 0)
      opt.data_dir = std::filesystem::temp_directory_path();
    if (std::find(opt.baselines.begin(), opt.baselines.end(), "rocksdb-group") != opt.baselines.end() &&
        opt.in_flight > max_group_writers)
      throw CLI::ValidationError{"--baseline", "rocksdb-group runs a thread per command in flight: at most " +
                                                 std::to_string(max_group_writers) + " (--in-flight)"};
    std::sort(opt.baselines.begin(), opt.baselines.end());
    opt.baselines.erase(std::unique(opt.baselines.begin(), opt.baselines.end()), opt.baselines.end());
  } catch (const CLI::ParseError& e) {
    exit_code = app.exit(e);
    return std::nullopt;
  }
  return opt;
}

} // namespace cairn::bench
