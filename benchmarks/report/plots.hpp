// The suite's plots: gnuplot data files and one gnuplot script that draws the PNGs from them. bench-report writes
// them; benchmarks/suite.sh runs gnuplot on the script.
//
//   throughput-<durability>.png  commands/s against commands in flight (the sweep), cairn and its baselines
//   latency-<durability>.png     p50, p99 and p99.9 against commands in flight, cairn and its baselines
//
// Thread-safety: plain functions.
#pragma once

#include "suite_results.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace cairn::bench::report {

/// The commands in flight of the sweep, and the systems it compares.
inline const std::vector<int> sweep_in_flight{1, 10, 100, 1000};
inline const std::vector<std::string> sweep_systems{"cairn", "rocksdb-group", "mutex-pool"};

/// "sweep-durable-100"
std::string sweep_id(const std::string& durability, int in_flight);

/// Writes the data files and `plots.gp` into `work_dir`; the script writes the PNGs into `image_dir`. Returns the
/// PNG file names (within image_dir) for which there was data.
std::vector<std::string> write_plots(const suite_results& results, const std::filesystem::path& work_dir,
                                     const std::filesystem::path& image_dir);

} // namespace cairn::bench::report
