// cairn's side of every scenario: one measured run, with its correctness checks.
#pragma once

#include "options.hpp"
#include "report.hpp"
#include "run.hpp"

namespace cairn::bench {

/// One run of cairn in opt.scenario, in a fresh runtime on ctx.dir. Throws check_failed when an answer is
/// missing, duplicated or not "accepted", or when the stored versions do not add up.
result run_cairn(const bench_options& opt, const run_context& ctx);

} // namespace cairn::bench
