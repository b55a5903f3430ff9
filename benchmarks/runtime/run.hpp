// What every measured run (of cairn or of a baseline) is given, and how it reports a failed correctness check:
// a benchmark whose system lost or duplicated work has measured nothing, so it must not print a figure.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>

namespace cairn::bench {

struct run_context {
  std::filesystem::path dir; ///< fresh and empty, this run's own
  std::string label;         ///< names the run on the progress line: "uniform cairn 2/3"
};

/// A correctness check failed; the message says which and with what figures.
struct check_failed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

} // namespace cairn::bench
