// What one invocation of cairn-bench measures, once the command line is parsed and every default filled in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cairn::bench {

enum class scenario_kind { uniform, hotspot, orders, recovery, idle_memory, lone, transfers, churn };

/// "uniform", "idle-memory", ...: the spelling of --scenario.
std::string_view to_string(scenario_kind s) noexcept;

struct bench_options {
  scenario_kind scenario = scenario_kind::uniform;
  std::size_t aggregates = 0;
  std::size_t in_flight = 0;
  /// Exactly one of the two bounds the timed commands (orders has neither: its size follows from --lines).
  std::optional<std::uint64_t> commands;
  std::optional<double> seconds;
  std::int64_t events_per_command = 1;
  double skew = 0.99;
  std::size_t lines = 0;
  std::uint64_t events = 0;
  std::size_t max_active = 0;
  bool durable = true;
  std::size_t threads = 0;
  std::uint64_t seed = 0;
  /// Every run gets a fresh folder inside it, removed afterwards.
  std::filesystem::path data_dir;
  std::vector<std::string> baselines;
  bool json = false;
  unsigned repeat = 1;
};

} // namespace cairn::bench
