// crash-check: kills a process that runs saga traffic durably (SIGKILL at a random moment), restarts on the same
// data, lets the sagas finish, and checks that nothing acknowledged was lost and nothing took effect twice.
//
//   crash-check [--rounds N] [--seed S] [--keep DIR]
//
// Each round: fork + exec this program as the traffic child, kill it after 150-900 ms, then in this process: open
// the store through the runtime (process managers resume), wait until every saga and read model has caught up,
// and check
//   * money is conserved: the accounts hold exactly what was deposited (every transfer completed, failed or
//     refunded, none twice);
//   * every submitted order ended confirmed or rejected;
//   * stock is never negative, nothing stays reserved, and on hand == initial - the quantities of confirmed orders;
//   * each read model equals a fresh rebuild from the global log.
// Prints "crash-check: N passed, M failed" and exits non-zero when a round failed.
#include "shop_checks.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace cairn;
using namespace cairn::crash;

namespace {

runtime_config config_for(const std::string& dir) {
  runtime_config cfg;
  cfg.data_dir = dir;
  cfg.durability = commit_mode::durable;
  cfg.scheduler_threads = 2;
  return cfg;
}

/// The child: orders and transfers, asynchronously, until it is killed.
[[noreturn]] void run_traffic(const std::string& dir, unsigned seed) {
  runtime rt{config_for(dir)};
  shop::register_shop(rt);
  if (!rt.start())
    std::_Exit(3);
  std::mt19937 rng{seed};
  std::atomic<int> in_flight{0};
  std::function<void(command_result)> done = [&in_flight](command_result) { in_flight.fetch_sub(1); };
  for (unsigned n = 0;; ++n) {
    while (in_flight.load() > 200)
      std::this_thread::sleep_for(std::chrono::microseconds{200});
    in_flight.fetch_add(send_traffic(rt, rng, std::to_string(seed) + "-" + std::to_string(n), done));
  }
}

} // namespace

int main(int argc, char** argv) {
  int rounds = 10;
  unsigned seed = static_cast<unsigned>(std::random_device{}());
  std::string keep;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--traffic" && i + 2 < argc) {
      run_traffic(argv[i + 1], static_cast<unsigned>(std::strtoul(argv[i + 2], nullptr, 10)));
    } else if (a == "--rounds" && i + 1 < argc) {
      rounds = std::atoi(argv[++i]);
    } else if (a == "--seed" && i + 1 < argc) {
      seed = static_cast<unsigned>(std::strtoul(argv[++i], nullptr, 10));
    } else if (a == "--keep" && i + 1 < argc) {
      keep = argv[++i];
    } else {
      std::fprintf(stderr, "usage: crash-check [--rounds N] [--seed S] [--keep DIR]\n");
      return 2;
    }
  }
  if (rounds < 1) {
    std::fprintf(stderr, "crash-check: --rounds must be at least 1\n");
    return 2;
  }
  auto dir = keep.empty() ? (std::filesystem::temp_directory_path() / ("cairn-crash-" + std::to_string(getpid())))
                          : std::filesystem::path{keep};
  std::filesystem::create_directories(dir);
  auto db = (dir / "db").string();
  std::printf("crash-check: %d rounds, seed %u, data in %s\n", rounds, seed, db.c_str());
  if (!setup(config_for(db))) {
    std::fprintf(stderr, "crash-check: setup failed\n");
    return 1;
  }
  std::mt19937 rng{seed};
  int passed = 0;
  int failed = 0;
  for (int round = 1; round <= rounds; ++round) {
    auto child_seed = std::to_string(rng());
    pid_t child = fork();
    if (child == 0) {
      execl("/proc/self/exe", argv[0], "--traffic", db.c_str(), child_seed.c_str(), static_cast<char*>(nullptr));
      std::_Exit(127);
    }
    auto ms = 150 + rng() % 750;
    std::this_thread::sleep_for(std::chrono::milliseconds{ms});
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    auto start = std::chrono::steady_clock::now();
    std::uint64_t events = 0;
    auto failures = verify(config_for(db), events);
    auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (failures.empty()) {
      ++passed;
      std::printf("round %d: killed after %u ms; recovered, settled and verified in %.2f s; log at %llu events\n",
                  round, static_cast<unsigned>(ms), took, static_cast<unsigned long long>(events));
    } else {
      ++failed;
      std::printf("round %d: killed after %u ms: FAILED\n", round, static_cast<unsigned>(ms));
      for (const auto& f : failures)
        std::printf("  %s\n", f.c_str());
    }
    std::fflush(stdout);
  }
  if (keep.empty() && failed == 0)
    std::filesystem::remove_all(dir);
  std::printf("crash-check: %d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
