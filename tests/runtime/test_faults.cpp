// The runtime when the disk fails: the affected commands get storage_failure, no instance runs ahead of the
// store, and everything works once the fault clears.
#include <cairn/domains/account.hpp>
#include <cairn/runtime/runtime.hpp>
#include <cairn/store/fault_injection.hpp>

#include <support/temp_dir.hpp>

#include <catch2/catch.hpp>

using namespace cairn;
using namespace cairn::domains;

TEST_CASE("injected write and sync failures answer storage_failure and leave no divergence", "[runtime][faults]") {
  test::temp_dir dir;
  store::fault_injection faults;
  faults.scope(store::fault_scope::wal);
  runtime_config cfg;
  cfg.data_dir = dir.sub("db");
  cfg.scheduler_threads = 2;
  cfg.store_env = faults.env();
  runtime rt{cfg};
  rt.register_aggregate<accounts::account>();
  REQUIRE(rt.start());
  REQUIRE(rt.execute<accounts::account>("a", accounts::open_account{"ann"}).ok());
  REQUIRE(rt.execute<accounts::account>("a", accounts::deposit{money{100}}).ok());

  auto fail_while = [&](auto set_fault) {
    set_fault(true);
    for (int i = 0; i < 5; ++i) {
      auto r = rt.execute<accounts::account>("a", accounts::deposit{money{1}});
      CHECK(r.code == command_errc::storage_failure);
    }
    set_fault(false);
    // The instance reloaded what the store has: nothing of the failed commands.
    auto state = rt.get<accounts::account>("a");
    REQUIRE(state.ok());
    CHECK(state.root->state().balance() == money{100});
    CHECK(state.root->version() == 2);
  };
  SECTION("failing syncs") {
    fail_while([&](bool on) { faults.fail_syncs(on); });
  }
  SECTION("failing writes") {
    fail_while([&](bool on) { faults.fail_writes(on); });
  }
  SECTION("a full disk") {
    fail_while([&](bool on) { faults.disk_full(on); });
  }
  auto after = rt.execute<accounts::account>("a", accounts::deposit{money{5}});
  INFO(to_string(after));
  REQUIRE(after.ok());
  CHECK(after.version == 3);
  CHECK(rt.get<accounts::account>("a").root->state().balance() == money{105});
}
