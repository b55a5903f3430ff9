// The order service while the disk fails (store/fault_injection.hpp's Env under the runtime): write failures,
// sync failures and a full disk make the affected requests 503, nothing diverges (what the service shows is what
// is stored, also after a restart), and the service works again once the fault clears. /healthz says whether the
// store takes writes, on the fault Env and on a real full disk (a tmpfs, root only, in a child process).
#include "service_fixture.hpp"

#include <support/child_process.hpp>
#include <support/tmpfs.hpp>

#include <cairn/store/fault_injection.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
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

TEST_CASE("/healthz answers 503 storage_failure while writes fail and 200 once the disk takes them again",
          "[service][faults]") {
  for (const auto& [name, set_fault] : fault_kinds()) {
    DYNAMIC_SECTION(name) {
      cairn::store::fault_injection faults;
      service_fixture f{with_faults(faults)};
      auto id = f.create_order();
      CHECK(f.call("GET", "/healthz").status == 200);

      set_fault(faults, true);
      CHECK(f.add_line(id, "p", 1, "1.00").status == 503);
      // Polled again and again while the fault lasts: it stays 503, and says why.
      for (int i = 0; i < 3; ++i) {
        auto health = f.call("GET", "/healthz");
        CHECK(health.status == 503);
        CHECK(f.json_of(health)["status"] == "storage_failure");
      }
      CHECK_FALSE(f.rt->storage_health().writable);

      set_fault(faults, false);
      // No command in between: the health check itself brings the store back.
      auto health = f.call("GET", "/healthz");
      INFO(health.body);
      CHECK(health.status == 200);
      CHECK(f.json_of(health)["status"] == "ok");
      CHECK(f.rt->storage_health().writable);
      CHECK(f.add_line(id, "p", 1, "1.00").status == 200);
    }
  }
}

namespace {

// The service's answer to one request, waited for at most 30 s.
cairn::order_service::response call_within(cairn::order_service::service& svc, std::string method,
                                           std::string target, std::string body = {}) {
  auto answer = std::make_shared<std::promise<cairn::order_service::response>>();
  auto future = answer->get_future();
  const std::string what = method + " " + target;
  svc.handle({std::move(method), std::move(target), std::move(body)},
             [answer](cairn::order_service::response r) { answer->set_value(std::move(r)); });
  if (future.wait_for(std::chrono::seconds{30}) != std::future_status::ready)
    FAIL("no answer to " << what << " within 30 s");
  return future.get();
}

} // namespace

TEST_CASE("on a real full disk the service answers 503 and /healthz 503 and both recover when space is back",
          "[service][faults][tmpfs]") {
  cairn::test::tmpfs_mount disk{2u << 20};
  if (!disk.mounted()) {
    WARN("skipped: " << disk.why_not());
    return;
  }
  const auto outcome = cairn::test::run_self({"service child: full disk"}, {{"CAIRN_TMPFS", disk.path().string()}},
                                             std::chrono::seconds{120});
  INFO("the scenario ran in a child process on a 2 MiB tmpfs: " << outcome.describe());
  CHECK(outcome.passed());
}

// Run by the test above in a child process (hidden: "[.]").
TEST_CASE("service child: full disk", "[.][child]") {
  const char* mount = std::getenv("CAIRN_TMPFS");
  REQUIRE(mount != nullptr);
  const std::filesystem::path disk{mount};
  cairn::runtime_config cfg;
  cfg.data_dir = (disk / "db").string();
  cfg.scheduler_threads = 2;
  cairn::runtime rt{cfg};
  cairn::shop::register_shop(rt);
  REQUIRE(rt.start());
  {
    cairn::order_service::service svc{rt};
    const auto created = call_within(svc, "POST", "/orders", R"({"customer_id":"c"})");
    REQUIRE(created.status == 201);
    const std::string id = json::parse(created.body)["id"].get<std::string>();
    const std::string line = R"({"product_id":"p","name":"thing","quantity":1,"unit_price":"1.00"})";
    int accepted = 0;
    {
      cairn::test::filler fill{disk / "filler"};
      REQUIRE(fill.bytes() > 0);
      // Commands may still land in space RocksDB holds already; within a few hundred they fail.
      int refused = 0;
      for (int i = 0; i < 2000 && refused < 5; ++i) {
        const auto r = call_within(svc, "POST", "/orders/" + id + "/lines", line);
        INFO(r.body);
        REQUIRE((r.status == 200 || r.status == 503));
        if (r.status == 200) {
          REQUIRE(refused == 0); // once full, it stays full
          ++accepted;
        } else {
          ++refused;
        }
      }
      REQUIRE(refused == 5);
      const auto health = call_within(svc, "GET", "/healthz");
      CHECK(health.status == 503);
      CHECK(json::parse(health.body)["status"] == "storage_failure");
    }
    // The filler is gone: the space is back.
    const auto health = call_within(svc, "GET", "/healthz");
    INFO(health.body);
    CHECK(health.status == 200);
    const auto after = call_within(svc, "POST", "/orders/" + id + "/lines", line);
    INFO(after.body);
    CHECK(after.status == 200);
    const auto state = json::parse(call_within(svc, "GET", "/orders/" + id).body);
    CHECK(state["lines"].size() == static_cast<std::size_t>(accepted + 1));
  }
  rt.stop();
}

namespace {

std::set<std::string> children(const std::filesystem::path& folder) {
  std::set<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator{folder})
    names.insert(e.path().filename().string());
  return names;
}

} // namespace

TEST_CASE("order-service started on a full disk exits 1 with a clear message and leaves nothing behind",
          "[service][faults][tmpfs]") {
  cairn::test::tmpfs_mount disk{2u << 20};
  if (!disk.mounted()) {
    WARN("skipped: " << disk.why_not());
    return;
  }
  const auto existing = disk.path() / "existing";
  {
    // A store made while there was space, with something in it.
    cairn::runtime_config cfg;
    cfg.data_dir = existing.string();
    cfg.scheduler_threads = 2;
    cairn::runtime rt{cfg};
    cairn::shop::register_shop(rt);
    REQUIRE(rt.start());
    {
      cairn::order_service::service svc{rt};
      REQUIRE(call_within(svc, "POST", "/orders", R"({"customer_id":"c"})").status == 201);
    }
    rt.stop();
  }
  const auto before = children(existing);
  const auto fresh = disk.path() / "fresh";
  cairn::test::temp_dir logs; // not on the full disk
  {
    cairn::test::filler fill{disk.path() / "filler"};
    REQUIRE(fill.bytes() > 0);
    for (const auto& folder : {fresh, existing}) {
      const std::string err = logs.sub("stderr-" + folder.filename().string());
      const auto outcome = cairn::test::run_program(
        CAIRN_ORDER_SERVICE, {"--listen", "127.0.0.1:0", "--data-dir", folder.string()}, {},
        std::chrono::seconds{60}, err);
      std::ifstream in{err};
      std::stringstream text;
      text << in.rdbuf();
      INFO("order-service --data-dir " << folder.string() << ": " << outcome.describe() << "; it printed:\n"
                                       << text.str());
      CHECK(outcome.exited);
      CHECK(outcome.exit_code == 1);
      CHECK(text.str().find("the disk under " + folder.string() + " is full") != std::string::npos);
    }
    CHECK_FALSE(std::filesystem::exists(fresh));
    const auto after = children(existing);
    CHECK(after == before);
  }
  // With the space back it starts, and the order made before is there.
  cairn::runtime_config cfg;
  cfg.data_dir = existing.string();
  cfg.scheduler_threads = 2;
  cairn::runtime rt{cfg};
  cairn::shop::register_shop(rt);
  REQUIRE(rt.start());
  CHECK(rt.store().last_position() > 0);
  rt.stop();
}
