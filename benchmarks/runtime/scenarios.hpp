// cairn's side of every scenario: one measured run, with its correctness checks.
#pragma once

#include "options.hpp"
#include "report.hpp"
#include "run.hpp"

namespace cairn::bench {

/// One run of cairn in opt.scenario, in a fresh runtime on ctx.dir. Throws check_failed when an answer is
/// missing, duplicated or not "accepted", or when the stored versions do not add up.
result run_cairn(const bench_options& opt, const run_context& ctx);

/// churn (churn.cpp): uniform commands with at most --max-active instances active; counts activations.
result run_churn(const bench_options& opt, const run_context& ctx);

/// transfers (transfers.cpp): the transfer saga end to end, from start_transfer to its last step; checks that
/// every transfer completed (or was refunded, for those sent to a missing account) and that money is conserved.
result run_transfers(const bench_options& opt, const run_context& ctx);

} // namespace cairn::bench
