// The README's program, compiled and run by the tests (README.md shows it verbatim between markers): a runtime
// with one aggregate type, a typed projection, a typed reply and a unit of work. Usage: cairn-quickstart DATA_DIR
#include "wallet.hpp"

#include <cairn/runtime/runtime.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

using namespace quickstart;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: cairn-quickstart DATA_DIR\n");
    return 2;
  }
  // readme-begin: running
  cairn::runtime_config cfg;
  cfg.data_dir = argv[1];                                   // durable by default: "accepted" means fsynced
  cairn::runtime rt{cfg};
  rt.register_aggregate<wallet>();
  rt.add_projection<wallet>("balances", cairn::handlers{    // a read model: exactly once, after commit
    [](const money_deposited& e, const cairn::event_meta& m, cairn::projection_writer& w) {
      w.put(m.aggregate_id, std::to_string(e.cents) + " deposited at version " + std::to_string(m.version));
    }});
  if (auto started = rt.start(); !started) {
    std::fprintf(stderr, "cannot start: %s\n", started.error().to_string().c_str());
    return 1;
  }

  rt.execute("w-1", open_wallet{"ann"});                    // the type follows from the command
  auto r = rt.execute<wallet>("w-1", deposit{500}, &wallet::balance);   // a typed reply: the new balance
  std::printf("%s, balance %lld\n", to_string(r.status).c_str(), static_cast<long long>(r.value.value_or(-1)));
  auto refused = rt.execute("w-1", withdraw{900});          // rejected: not enough money; nothing written
  std::printf("%s\n", to_string(refused).c_str());

  auto loaded = rt.load<wallet>("w-1");                     // a unit of work: a local copy...
  auto& copy = *loaded.copy;
  copy.execute(withdraw{100});                              // ...decided and applied on the copy only
  copy.execute(deposit{40});
  std::printf("copy %lld, pending %zu\n", static_cast<long long>(copy.state().balance()), copy.pending().size());
  auto saved = rt.save(copy);                               // both events in one atomic append, or conflict
  std::printf("saved: %s, balance %lld\n", to_string(saved).c_str(),
              static_cast<long long>(rt.get<wallet>("w-1").root->state().balance()));
  // readme-end: running

  // The projection follows the log after commit: wait (bounded) until it has seen every event.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
  while (rt.subscriptions().front().lag != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  auto balances = rt.store().projection_value(cairn::projection_key("balances", "w-1"));
  std::printf("projection: %s\n", balances && *balances ? (*balances)->c_str() : "(missing)");
  auto ok = r.ok() && r.value == 500 && refused.code == cairn::command_errc::rejected && saved.ok() &&
            rt.get<wallet>("w-1").root->state().balance() == 440 && balances && *balances;
  rt.stop();
  return ok ? 0 : 1;
}
