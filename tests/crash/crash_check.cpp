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
#include <cairn/domains/account.hpp>
#include <cairn/domains/inventory.hpp>
#include <cairn/domains/order.hpp>
#include <cairn/domains/order_fulfillment.hpp>
#include <cairn/domains/transfer.hpp>
#include <shop.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace cairn;
using namespace cairn::domains;

namespace {

constexpr int product_count = 20;
constexpr std::int64_t initial_stock = 50;
constexpr int account_count = 20;
constexpr std::int64_t initial_balance = 1000;

std::string product_id(int i) {
  return "p-" + std::to_string(i);
}
std::string account_id(int i) {
  return "a-" + std::to_string(i);
}

runtime_config config_for(const std::string& dir) {
  runtime_config cfg;
  cfg.data_dir = dir;
  cfg.durability = commit_mode::durable;
  cfg.scheduler_threads = 2;
  return cfg;
}

bool setup(const std::string& dir) {
  runtime rt{config_for(dir)};
  shop::register_shop(rt);
  if (!rt.start())
    return false;
  bool ok = true;
  for (int i = 0; i < product_count; ++i)
    ok = ok && rt.execute<inventory::product>(product_id(i), inventory::register_product{"sku", initial_stock}).ok();
  for (int i = 0; i < account_count; ++i) {
    ok = ok && rt.execute<accounts::account>(account_id(i), accounts::open_account{"owner"}).ok();
    ok = ok && rt.execute<accounts::account>(account_id(i), accounts::deposit{money{initial_balance}}).ok();
  }
  return ok;
}

/// The child: orders and transfers, asynchronously, until it is killed.
[[noreturn]] void run_traffic(const std::string& dir, unsigned seed) {
  runtime rt{config_for(dir)};
  shop::register_shop(rt);
  if (!rt.start())
    std::_Exit(3);
  std::mt19937 rng{seed};
  std::atomic<int> in_flight{0};
  auto done = [&in_flight](command_result) { in_flight.fetch_sub(1); };
  for (unsigned n = 0;; ++n) {
    while (in_flight.load() > 200)
      std::this_thread::sleep_for(std::chrono::microseconds{200});
    auto id = std::to_string(seed) + "-" + std::to_string(n);
    if (rng() % 2 == 0) {
      auto order = "o-" + id;
      in_flight.fetch_add(1);
      rt.send<orders::order>(order, orders::create_order{"c-" + std::to_string(rng() % 5)}, done);
      auto lines = 1 + rng() % 3;
      for (unsigned l = 0; l < lines; ++l) {
        in_flight.fetch_add(1);
        rt.send<orders::order>(order,
                               orders::add_line{product_id(static_cast<int>(rng() % product_count)), "item",
                                                static_cast<std::int64_t>(1 + rng() % 5), money{100}},
                               done);
      }
      in_flight.fetch_add(1);
      rt.send<orders::order>(order, orders::submit_order{}, done);
    } else {
      auto from = static_cast<int>(rng() % account_count);
      auto to = static_cast<int>((from + 1 + rng() % (account_count - 1)) % account_count);
      auto transfer = "t-" + id;
      in_flight.fetch_add(1);
      rt.send<transfers::transfer>(
        transfer,
        transfers::start_transfer{transfer, account_id(from), account_id(to),
                                  money{static_cast<std::int64_t>(1 + rng() % 300)}},
        done);
    }
  }
}

template <class Predicate>
bool eventually(Predicate p, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (p())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return false;
}

/// Rebuilds a read model from the global log with its own handler, in memory.
template <class Handler>
std::map<std::string, std::string> rebuild(const store::event_store& s, std::string_view name, Handler handler) {
  std::map<std::string, std::string> model;
  auto prefix = std::string{name} + "/";
  for (std::uint64_t from = 1;;) {
    auto chunk = s.read_log(from, 4096);
    if (!chunk || chunk->empty())
      return model;
    for (const auto& e : *chunk) {
      projection_writer w{prefix};
      handler(e, w, model);
      for (auto& put : w.take()) {
        auto key = put.key.substr(prefix.size());
        if (put.value)
          model[key] = *put.value;
        else
          model.erase(key);
      }
      from = e.position + 1;
    }
  }
}

/// Restarts on the data, lets the sagas finish, checks the invariants; returns the failures.
std::vector<std::string> verify(const std::string& dir, std::uint64_t& events) {
  std::vector<std::string> failures;
  auto fail = [&](std::string what) { failures.push_back(std::move(what)); };
  runtime rt{config_for(dir)};
  shop::register_shop(rt);
  if (auto started = rt.start(); !started) {
    fail("restart failed: " + started.error().to_string());
    return failures;
  }
  auto settled = [&] {
    auto open = rt.store().scan_projection("cairn.open-process/", "", 1);
    if (!open || !open->empty())
      return false;
    for (const auto& s : rt.subscriptions())
      if (s.position != rt.store().last_position())
        return false;
    return true;
  };
  if (!eventually(settled, std::chrono::seconds{60})) {
    fail("the sagas and read models did not settle within 60 s");
    return failures;
  }
  events = rt.store().last_position();

  money total;
  for (int i = 0; i < account_count; ++i) {
    auto a = rt.get<accounts::account>(account_id(i));
    if (!a.ok())
      fail("account " + account_id(i) + " is missing");
    else
      total.minor_units += a.root->state().balance().minor_units;
  }
  if (total.minor_units != account_count * initial_balance)
    fail("money is not conserved: accounts hold " + total.to_string() + ", expected " +
         money{account_count * initial_balance}.to_string());

  std::map<std::string, std::int64_t> confirmed_quantity;
  for (int c = 0; c < 5; ++c) {
    for (const auto& order_id : shop::orders_of(rt.store(), "c-" + std::to_string(c))) {
      auto o = rt.get<orders::order>(order_id);
      if (!o.ok()) {
        fail("order " + order_id + " is in the read model but not in the store");
        continue;
      }
      auto status = o.root->state().status();
      if (status == orders::order_status::submitted)
        fail("order " + order_id + " is still submitted");
      if (status == orders::order_status::confirmed)
        for (const auto& line : o.root->state().lines())
          confirmed_quantity[line.product_id] += line.quantity;
    }
  }
  for (int i = 0; i < product_count; ++i) {
    auto p = rt.get<inventory::product>(product_id(i));
    if (!p.ok()) {
      fail("product " + product_id(i) + " is missing");
      continue;
    }
    const auto& s = p.root->state();
    if (s.on_hand() < 0 || s.reserved() != 0 ||
        s.on_hand() != initial_stock - confirmed_quantity[product_id(i)])
      fail("product " + product_id(i) + ": on hand " + std::to_string(s.on_hand()) + ", reserved " +
           std::to_string(s.reserved()) + ", expected on hand " +
           std::to_string(initial_stock - confirmed_quantity[product_id(i)]));
  }

  auto orders_model = rebuild(rt.store(), shop::orders_by_customer,
                              [](const store::stored_event& e, projection_writer& w, auto&) {
                                shop::project_orders_by_customer(e, w);
                              });
  if (orders_model != shop::read_model(rt.store(), shop::orders_by_customer))
    fail("orders_by_customer differs from a rebuild from the log");
  auto stock_model = rebuild(rt.store(), shop::stock_levels,
                             [](const store::stored_event& e, projection_writer& w, auto& model) {
                               shop::project_stock_levels(e, w, [&](std::string_view key) -> std::optional<std::string> {
                                 auto i = model.find(std::string{key});
                                 return i == model.end() ? std::nullopt : std::optional{i->second};
                               });
                             });
  if (stock_model != shop::read_model(rt.store(), shop::stock_levels))
    fail("stock_levels differs from a rebuild from the log");
  return failures;
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
  if (!setup(db)) {
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
    auto failures = verify(db, events);
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
