// The order service while the disk fails (store/fault_injection.hpp's Env under the runtime): write failures,
// sync failures and a full disk make the affected requests 503, nothing diverges (what the service shows is what
// is stored, also after a restart), and the service works again once the fault clears.
#include "service_fixture.hpp"

#include <cairn/store/fault_injection.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using cairn::test::service_fixture;
using json = nlohmann::json;

namespace {

cairn::runtime_config with_faults(cairn::store::fault_injection& faults) {
  faults.scope(cairn::store::fault_scope::wal);
  cairn::runtime_config cfg;
  cfg.store_env = faults.env();
  return cfg;
}

using fault_switch = std::function<void(cairn::store::fault_injection&, bool)>;

const std::vector<std::pair<std::string, fault_switch>>& fault_kinds() {
  static const std::vector<std::pair<std::string, fault_switch>> kinds{
    {"failing writes", [](cairn::store::fault_injection& f, bool on) { f.fail_writes(on); }},
    {"failing syncs", [](cairn::store::fault_injection& f, bool on) { f.fail_syncs(on); }},
    {"a full disk", [](cairn::store::fault_injection& f, bool on) { f.disk_full(on); }},
  };
  return kinds;
}

} // namespace

TEST_CASE("a failing disk answers 503, shows nothing of the failed requests, and recovers", "[service][faults]") {
  for (const auto& [name, set_fault] : fault_kinds()) {
    DYNAMIC_SECTION(name) {
      cairn::store::fault_injection faults;
      service_fixture f{with_faults(faults)};
      auto id = f.create_order();
      REQUIRE(f.add_line(id, "p", 2, "1.50").status == 200);
      auto before = f.json_of(f.call("GET", "/orders/" + id));
      auto events_before = f.json_of(f.call("GET", "/orders/" + id + "/events"));

      set_fault(faults, true);
      for (int i = 0; i < 3; ++i) {
        auto r = f.add_line(id, "p", 1, "1.00");
        CHECK(r.status == 503);
        CHECK(f.json_of(r)["error"].is_string());
        CHECK(f.json_of(r)["code"] == "storage_failure");
        // Neither a server path nor RocksDB's own message reaches the client (they are logged).
        CHECK(r.body.find('/') == std::string::npos);
        CHECK(r.body.find("IO error") == std::string::npos);
      }
      CHECK(f.call("POST", "/orders", R"({"customer_id":"c"})").status == 503);
      CHECK(f.call("POST", "/orders/" + id + "/submit").status == 503);
      CHECK(f.call("POST", "/products", R"({"sku":"s","stock":1})").status == 503);
      // Reads still work and show the stored state: nothing of the failed commands.
      CHECK(f.json_of(f.call("GET", "/orders/" + id)) == before);
      CHECK(f.json_of(f.call("GET", "/orders/" + id + "/events")) == events_before);
      set_fault(faults, false);

      auto after = f.add_line(id, "p", 1, "1.00");
      INFO(after.body);
      REQUIRE(after.status == 200);
      CHECK(f.json_of(after)["version"] == 3);
      auto state = f.json_of(f.call("GET", "/orders/" + id));
      CHECK(state["total"] == "4.00");
      CHECK(state["lines"].size() == 2);
      CHECK(f.svc->metrics().commands(cairn::order_service::command_kind::add_line,
                                      cairn::command_errc::storage_failure) == 3);
      CHECK(f.svc->metrics().responses(503) == 6);
    }
  }
}

TEST_CASE("faults while serving concurrent traffic: each request is 200 or 503, and the stored state is exactly "
          "the acknowledged one",
          "[service][faults]") {
  for (const auto& [name, set_fault] : fault_kinds()) {
    DYNAMIC_SECTION(name) {
      cairn::store::fault_injection faults;
      auto cfg = with_faults(faults);
      std::map<std::string, json> seen;
      std::map<std::string, int> acked_lines;
      int failed = 0, ok_after_fault = 0;
      {
        service_fixture f{cfg};
        std::vector<std::string> orders;
        for (int i = 0; i < 16; ++i)
          orders.push_back(f.create_order());
        std::atomic<int> phase{0}; // 0 before, 1 during, 2 after the fault
        std::mutex mutex;
        std::atomic<bool> stop{false};
        std::vector<std::thread> clients;
        for (int c = 0; c < 4; ++c)
          clients.emplace_back([&, c] {
            for (int n = 0; !stop.load(); ++n) {
              const auto& order = orders[static_cast<std::size_t>((c * 4 + n) % 16)];
              auto p = phase.load();
              auto r = f.add_line(order, "p", 1, "0.01");
              std::lock_guard guard{mutex};
              if (r.status == 200) {
                ++acked_lines[order];
                ok_after_fault += p == 2 ? 1 : 0;
              } else if (r.status == 503) {
                ++failed;
              } else {
                FAIL_CHECK("unexpected " << r.status << " " << r.body);
              }
            }
          });
        // Each phase lasts until it has shown its effect (or 10 s passed, which fails below).
        auto wait_for = [&](auto condition) {
          auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
          while (std::chrono::steady_clock::now() < deadline) {
            {
              std::lock_guard guard{mutex};
              if (condition())
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds{5});
          }
        };
        wait_for([&] { return !acked_lines.empty(); });
        phase = 1;
        set_fault(faults, true);
        wait_for([&] { return failed >= 20; });
        set_fault(faults, false);
        phase = 2;
        wait_for([&] { return ok_after_fault >= 20; });
        stop = true;
        for (auto& t : clients)
          t.join();
        CHECK(failed >= 20);
        CHECK(ok_after_fault >= 20);
        for (const auto& order : orders) {
          auto state = f.json_of(f.call("GET", "/orders/" + order));
          CHECK(state["lines"].size() == static_cast<std::size_t>(acked_lines[order]));
          CHECK(state["version"] == 1 + acked_lines[order]);
          auto events = f.json_of(f.call("GET", "/orders/" + order + "/events"));
          CHECK(events["version"] == state["version"]);
          seen[order] = state;
        }
        // Restart on the same data without faults: the same state comes back from the store.
        f.svc.reset();
        f.rt->stop();
        cairn::runtime_config clean;
        clean.data_dir = f.dir.sub("db");
        clean.scheduler_threads = 2;
        cairn::runtime rt{clean};
        cairn::shop::register_shop(rt);
        REQUIRE(rt.start());
        {
          cairn::order_service::service svc{rt};
          for (const auto& [order, state] : seen) {
            std::promise<cairn::order_service::response> answer;
            svc.handle({"GET", "/orders/" + order, ""},
                       [&answer](cairn::order_service::response r) { answer.set_value(std::move(r)); });
            CHECK(json::parse(answer.get_future().get().body) == state);
          }
        }
        rt.stop();
      }
    }
  }
}
