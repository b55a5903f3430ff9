// subscription-bench: the figures of issue 5 that concern subscriptions (routed events/s, catch-up speed, the
// slow subscriber), each with its baselines measured in the same run. Prints the median of --repeat runs as a
// table, or one JSON object per line with --json. Exits 1 when any run's own checks failed.
#include "scenarios.hpp"

#include <CLI/CLI.hpp>

#include <exception>
#include <malloc.h>
#include <iostream>

using namespace cairn::subbench;

int main(int argc, char** argv) {
  CLI::App app{"subscription-bench: routed events/s, catch-up speed and the slow-subscriber check (issue 5)"};
  options opt;
  std::vector<std::string> scenarios{"routed", "catch-up", "slow-subscriber"};
  std::vector<std::string> durabilities{"durable", "buffered"};
  unsigned repeat = 3;
  bool json = false;
  app.add_option("--scenario", scenarios, "routed, catch-up, slow-subscriber (several allowed)")
    ->check(CLI::IsMember({"routed", "catch-up", "slow-subscriber"}));
  app.add_option("--durability", durabilities, "durable, buffered (several allowed)")
    ->check(CLI::IsMember({"durable", "buffered"}));
  app.add_option("--events", opt.events, "routed, catch-up: events committed")->check(CLI::Range(1ULL, 100'000'000ULL));
  app.add_option("--subscriptions", opt.subscriptions, "routed: subscription counts to measure")
    ->check(CLI::Range(1ULL, 64ULL));
  app.add_option("--streams", opt.streams, "routed, catch-up: streams the events go to")
    ->check(CLI::Range(1ULL, 10'000'000ULL));
  app.add_option("--window", opt.window, "routed: appends submitted and not yet answered")
    ->check(CLI::Range(1ULL, 1'000'000ULL));
  app.add_option("--seconds", opt.seconds, "slow-subscriber: seconds of deposits per run")->check(CLI::Range(0.1, 3600.0));
  app.add_option("--accounts", opt.accounts, "slow-subscriber: accounts")->check(CLI::Range(1ULL, 10'000'000ULL));
  app.add_option("--in-flight", opt.in_flight, "slow-subscriber: commands in flight")->check(CLI::Range(1ULL, 60'000ULL));
  app.add_option("--slow-ms", opt.slow_ms, "slow-subscriber: milliseconds the subscriber spends per event")
    ->check(CLI::Range(0.0, 1000.0));
  app.add_option("--repeat", repeat, "runs of each measurement; the median is printed")->check(CLI::Range(1u, 100u));
  app.add_option("--dir", opt.dir, "scratch folder for the databases (emptied)");
  app.add_flag("--json", json, "one JSON object per line instead of the table");
  CLI11_PARSE(app, argc, argv);

  std::vector<row> rows;
  std::vector<std::string> failures;
  try {
    for (const auto& scenario : scenarios)
      for (const auto& d : durabilities)
        for (unsigned i = 0; i < repeat; ++i) {
          std::cerr << "subscription-bench: " << scenario << " " << d << " run " << (i + 1) << "/" << repeat << "\n";
          bool durable = d == "durable";
          // What earlier runs freed goes back to the system, so that each run's resident memory is its own.
          malloc_trim(0);
          auto out = scenario == "routed"     ? run_routed(opt, durable)
                     : scenario == "catch-up" ? run_catch_up(opt, durable)
                                              : run_slow_subscriber(opt, durable, i % 2 == 1);
          rows.insert(rows.end(), out.rows.begin(), out.rows.end());
          failures.insert(failures.end(), out.failures.begin(), out.failures.end());
        }
  } catch (const std::exception& e) {
    std::cerr << "subscription-bench: " << e.what() << "\n";
    return 2;
  }
  auto result = medians(rows);
  if (json)
    for (const auto& r : result)
      print_json(std::cout, r);
  else
    print_table(std::cout, result);
  for (const auto& f : failures)
    std::cerr << "check failed: " << f << "\n";
  if (!failures.empty())
    return 1;
  std::cerr << "subscription-bench: every check passed\n";
  return 0;
}
