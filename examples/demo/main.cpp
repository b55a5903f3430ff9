// cairn-demo: the order domain on the embedded runtime, on a RocksDB folder of your choice.
//
//   cairn-demo [DATA_DIR] [--orders N] [--lines K] [--buffered]
//
// It creates N orders, adds K lines to each and submits them, all asynchronously with many commands in flight,
// shows what the invariants reject, reads one order back, and prints what the runtime did. Run it twice on the
// same folder: the second run starts from what the first committed.
#include <cairn/domains/order.hpp>
#include <cairn/runtime/runtime.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <string_view>

using namespace cairn;
using namespace cairn::domains::orders;

namespace {

struct arguments {
  std::string data_dir = "data";
  long orders = 2000;
  long lines = 5;
  bool buffered = false;
};

bool parse(int argc, char** argv, arguments& args) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto number = [&](long& out) {
      if (i + 1 >= argc)
        return false;
      char* end = nullptr;
      out = std::strtol(argv[++i], &end, 10);
      return *end == '\0' && out > 0 && out <= 10'000'000;
    };
    if (a == "--orders") {
      if (!number(args.orders))
        return false;
    } else if (a == "--lines") {
      if (!number(args.lines))
        return false;
    } else if (a == "--buffered") {
      args.buffered = true;
    } else if (!a.empty() && a[0] != '-') {
      args.data_dir = a;
    } else {
      return false;
    }
  }
  return true;
}

/// Counts answers, keeps at most `window` commands outstanding, and wakes the main thread when all are back.
class tally {
public:
  tally(long expected, long window) : expected_(expected), window_(window) {}

  /// Blocks while `window` commands are outstanding.
  void admit(long sent) {
    std::unique_lock lock{mutex_};
    done_.wait(lock, [&] { return sent - answered_ < window_; });
  }

  void record(const command_result& r) {
    std::lock_guard guard{mutex_};
    if (r.ok())
      ++accepted_;
    else if (first_error_.empty())
      first_error_ = to_string(r);
    ++answered_;
    done_.notify_all();
  }

  void wait() {
    std::unique_lock lock{mutex_};
    done_.wait(lock, [this] { return answered_ == expected_; });
  }

  long accepted() const {
    return accepted_;
  }
  const std::string& first_error() const {
    return first_error_;
  }

private:
  std::mutex mutex_;
  std::condition_variable done_;
  long expected_;
  long window_;
  long answered_ = 0;
  long accepted_ = 0;
  std::string first_error_;
};

} // namespace

int main(int argc, char** argv) {
  arguments args;
  if (!parse(argc, argv, args)) {
    std::fprintf(stderr, "usage: cairn-demo [DATA_DIR] [--orders N] [--lines K] [--buffered]\n");
    return 2;
  }
  runtime_config cfg;
  cfg.data_dir = args.data_dir;
  cfg.durability = args.buffered ? commit_mode::buffered : commit_mode::durable;
  runtime rt{cfg};
  rt.register_aggregate<order>();
  if (auto started = rt.start(); !started) {
    std::fprintf(stderr, "cairn-demo: cannot open %s: %s\n", args.data_dir.c_str(),
                 started.error().to_string().c_str());
    return 1;
  }
  auto run = std::to_string(rt.store().last_position());
  std::printf("store %s (%s): %llu events committed before this run\n", args.data_dir.c_str(),
              args.buffered ? "buffered" : "durable", static_cast<unsigned long long>(rt.store().last_position()));

  auto order_id = [&](long i) { return "r" + run + "-" + std::to_string(i); };
  auto start = std::chrono::steady_clock::now();
  long commands = 0;
  auto phase = [&](const char* what, long count, auto&& send_one) {
    tally t{count, 4096};
    for (long i = 0; i < count; ++i) {
      t.admit(i);
      send_one(i, [&t](command_result r) { t.record(r); });
    }
    t.wait();
    commands += count;
    std::printf("  %-34s %7ld accepted of %ld%s%s\n", what, t.accepted(), count,
                t.first_error().empty() ? "" : "; first error: ", t.first_error().c_str());
  };
  phase("create_order", args.orders, [&](long i, auto done) {
    rt.send<order>(order_id(i), create_order{"customer-" + std::to_string(i % 100)}, done);
  });
  phase("add_line", args.orders * args.lines, [&](long i, auto done) {
    auto line = i / args.orders;
    rt.send<order>(order_id(i % args.orders),
                   add_line{"p-" + std::to_string(line), "Product " + std::to_string(line), 1 + line % 3,
                            money{250 + 100 * line}},
                   done);
  });
  phase("submit_order", args.orders, [&](long i, auto done) { rt.send<order>(order_id(i), submit_order{}, done); });
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::printf("invariants at work:\n");
  auto show = [](const char* what, const command_result& r) { std::printf("  %-34s %s\n", what, to_string(r).c_str()); };
  show("add_line to a submitted order:", rt.execute<order>(order_id(0), add_line{"p-x", "Late", 1, money{100}}));
  show("create_order again:", rt.execute<order>(order_id(0), create_order{"someone"}));
  show("submit an unknown order:", rt.execute<order>("no-such-order", submit_order{}));
  rt.execute<order>("big-" + run, create_order{"c"});
  show("a line over 10,000.00:", rt.execute<order>("big-" + run, add_line{"p", "Piano", 1, money{1'000'001}}));
  show("a quantity of 0:", rt.execute<order>("big-" + run, add_line{"p", "Pen", 0, money{100}}));

  auto first = rt.get<order>(order_id(0));
  if (first.ok()) {
    const auto& o = first.root->state();
    std::printf("order %s: customer %s, %zu lines, total %s, version %llu\n", order_id(0).c_str(),
                o.customer_id().c_str(), o.lines().size(), o.total().to_string().c_str(),
                static_cast<unsigned long long>(first.root->version()));
  }
  auto stats = rt.stats();
  std::printf("%ld commands in %.2f s (%.0f commands/s), %llu RocksDB writes, %llu fsyncs, largest batch %llu\n",
              commands, seconds, commands / seconds, static_cast<unsigned long long>(stats.batches),
              static_cast<unsigned long long>(stats.store_syncs),
              static_cast<unsigned long long>(stats.largest_batch));
  rt.stop();
  return 0;
}
