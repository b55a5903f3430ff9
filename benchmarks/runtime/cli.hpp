// The command line of cairn-bench: the options, their per-scenario defaults, and the rejection of options that
// do not apply to the chosen scenario (a silently ignored option would make a figure mean something else).
#pragma once

#include "options.hpp"

#include <optional>

namespace cairn::bench {

/// The options with every default filled in; or, for --help and for bad arguments, nullopt after printing the
/// help or the error, with the exit code in `exit_code`.
std::optional<bench_options> parse_command_line(int argc, char** argv, int& exit_code);

} // namespace cairn::bench
