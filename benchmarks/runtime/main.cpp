// cairn-bench: measures cairn on this machine next to baselines run in the same invocation (docs/benchmarks.md).
//
// Each repetition runs cairn, then each baseline, one after the other (never at the same time: they share the
// cores and the disk), each in a fresh folder; the report gives the median run of each system.
#include "baselines.hpp"
#include "cli.hpp"
#include "machine.hpp"
#include "report.hpp"
#include "run.hpp"
#include "scenarios.hpp"

#include <algorithm>
#include <exception>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

using namespace cairn::bench;

namespace {

std::string label(const bench_options& opt, const std::string& system, unsigned run) {
  std::string l{to_string(opt.scenario)};
  l.append(" ").append(system);
  if (opt.repeat > 1)
    l.append(" ").append(std::to_string(run + 1)).append("/").append(std::to_string(opt.repeat));
  return l;
}

std::vector<result> measure(const bench_options& opt) {
  temp_folder root{opt.data_dir};
  if (on_tmpfs(root.path()))
    std::cerr << "warning: " << root.path().string()
              << " is on a tmpfs: syncs cost nothing there, durable figures mean nothing (see --data-dir)\n";
  std::vector<result> cairn_runs;
  std::map<std::string, std::vector<result>> baseline_runs;
  for (unsigned run = 0; run < opt.repeat; ++run) {
    const auto dir = [&](const std::string& system) {
      auto d = root.path() / (system + "-" + std::to_string(run + 1));
      std::filesystem::create_directory(d);
      return d;
    };
    const run_context cairn_ctx{dir("cairn"), label(opt, "cairn", run)};
    cairn_runs.push_back(run_cairn(opt, cairn_ctx));
    std::filesystem::remove_all(cairn_ctx.dir);
    // Baselines get the time cairn took: enough for a rate, without waiting 30 times longer for a slow one.
    const double budget = opt.seconds.value_or(std::max(1.0, cairn_runs.back().seconds.value_or(1.0)));
    for (const auto& name : opt.baselines) {
      const run_context ctx{dir(name), label(opt, name, run)};
      baseline_runs[name].push_back(run_baseline(opt, name, ctx, budget));
      std::filesystem::remove_all(ctx.dir);
    }
  }
  std::vector<result> rows{median_run(cairn_runs)};
  for (auto& [name, runs] : baseline_runs)
    rows.push_back(median_run(runs));
  add_ratios(rows.front(), {rows.begin() + 1, rows.end()});
  return rows;
}

} // namespace

int main(int argc, char** argv) {
  int exit_code = 0;
  const auto opt = parse_command_line(argc, argv, exit_code);
  if (!opt)
    return exit_code;
  try {
    const auto rows = measure(*opt);
    if (opt->json)
      for (const auto& r : rows)
        print_json(std::cout, r);
    else
      print_table(std::cout, *opt, rows);
    return 0;
  } catch (const check_failed& e) {
    std::cerr << "check failed: " << e.what() << '\n';
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
}
