// The results of one run of the standard suite (benchmarks/suite.sh), as bench-report reads them: the machine,
// each cairn-bench invocation with its exact command and result lines, store-bench's lines, the micro-benchmarks.
//
// Thread-safety: plain values.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace cairn::bench::report {

using json = nlohmann::json;

/// One cairn-bench invocation of the suite: its id (e.g. "uniform-durable", "sweep-buffered-100"), the command
/// as run, and its result lines (cairn first, then the baselines).
struct invocation {
  std::string id;
  std::string command;
  double wall_seconds = 0; ///< the whole invocation, set-up and checks included
  std::vector<json> results;

  /// The result line of `system`, or nullptr.
  const json* system(const std::string& name) const;
};

struct suite_results {
  json machine;                       ///< cores, cpu, memory_kb, kernel, compiler, commit, date, load_start
  json suite;                         ///< wall_seconds, load_end
  std::vector<invocation> invocations; ///< in the order run
  std::vector<json> store_bench;      ///< store-bench --json lines
  std::string store_bench_command;
  double store_bench_seconds = 0;
  json micro;                         ///< Google Benchmark's JSON output (may be null)
  std::string micro_command;
  double micro_seconds = 0;

  /// The invocation with this id, or nullptr.
  const invocation* find(const std::string& id) const;
};

/// Reads the suite's JSON lines (see benchmarks/suite.sh for what each kind of line holds) and, when the path is
/// not empty, Google Benchmark's JSON file. Throws std::runtime_error naming the file and line of a bad line.
suite_results load_results(const std::filesystem::path& lines, const std::filesystem::path& micro);

/// The number under `key`, or nullopt when absent or null.
std::optional<double> number(const json& j, const std::string& key);

} // namespace cairn::bench::report
