// Typed subscriptions: projections, subscribers and policies given decoded (upcast) events of the aggregate types
// they name, one handler per event type, with each event's meta; and the projection writer's indexed pending
// writes.
#include <cairn/domains/account.hpp>
#include <cairn/domains/inventory.hpp>
#include <cairn/domains/order.hpp>
#include <cairn/runtime/runtime.hpp>

#include "wait_caught_up.hpp"

#include <support/temp_dir.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace cairn;
using namespace cairn::domains;

using test::wait_caught_up;

namespace {

runtime_config config_in(const test::temp_dir& dir) {
  runtime_config cfg;
  cfg.data_dir = dir.sub("db");
  cfg.scheduler_threads = 2;
  cfg.durability = commit_mode::buffered;
  return cfg;
}

/// What the subscriptions are behind on, for failure messages.
std::string lag_of(runtime& rt) {
  std::string out;
  for (const auto& s : rt.subscriptions())
    out += s.name + " at " + std::to_string(s.position) + " of " + std::to_string(rt.store().last_position()) + "; ";
  return out;
}

/// The committed events of the log, by position.
std::map<std::uint64_t, store::stored_event> log_of(runtime& rt) {
  std::map<std::uint64_t, store::stored_event> out;
  auto events = rt.store().read_log(1, 1000);
  REQUIRE(events);
  for (auto& e : *events)
    out.emplace(e.position, std::move(e));
  return out;
}

std::string describe(const event_meta& m) {
  return std::string{m.aggregate_type} + " " + std::string{m.aggregate_id} + " v" + std::to_string(m.version) +
         " @" + std::to_string(m.position) + " t" + std::to_string(m.timestamp.time_since_epoch().count());
}

/// The writes of the mixed projection and subscriber below: order and product events, accounts' ignored.
void run_mixed_commands(runtime& rt) {
  REQUIRE(rt.execute<orders::order>("o-1", orders::create_order{"ann"}).ok());
  REQUIRE(rt.execute<orders::order>("o-1", orders::add_line{"pen", "Pen", 3, money{150}}).ok());
  REQUIRE(rt.execute<inventory::product>("pen", inventory::register_product{"PEN", 10}).ok());
  REQUIRE(rt.execute<accounts::account>("a-1", accounts::open_account{"ann"}).ok());
  REQUIRE(rt.execute<inventory::product>("pen", inventory::add_stock{5}).ok());
  REQUIRE(rt.execute<orders::order>("o-1", orders::add_line{"ink", "Ink", 1, money{90}}).ok());
}

/// "order.line_added" as schema version 0 stored it: a product and a quantity, no name or price.
struct line_added_v0 {
  std::string product_id;
  std::int64_t quantity = 0;
};

template <class Inspector>
auto inspect(Inspector& f, line_added_v0& x) {
  return f(x.product_id, x.quantity);
}

/// Writes streams straight into the store at cfg.data_dir, as an older release (or a corrupting disk) left them.
void write_streams(const runtime_config& cfg, std::vector<store::append_request> requests) {
  store::options opts;
  opts.path = cfg.data_dir;
  auto opened = store::event_store::open(opts);
  REQUIRE(opened);
  for (const auto& r : requests)
    REQUIRE((*opened)->append(r));
}

store::event_record old_line(std::string product, std::int64_t quantity, std::int64_t timestamp_us) {
  store::event_record old;
  old.type = std::string{orders::line_added::event_type};
  old.schema_version = 0;
  old.timestamp_us = timestamp_us;
  old.payload = store::encode(line_added_v0{std::move(product), quantity});
  return old;
}

void add_line_upcaster(runtime& rt) {
  rt.codec<orders::order>().add_upcaster(
    std::string{orders::line_added::event_type}, 0,
    [](const store::event_record& r) -> store::result<std::vector<store::event_record>> {
      line_added_v0 v0;
      if (auto st = store::decode(r.payload, v0); !st)
        return st.error();
      orders::line_added now{v0.product_id, "(unnamed)", v0.quantity, money{0}};
      return std::vector<store::event_record>{store::make_event_record(now, r.timestamp_us)};
    });
}

} // namespace

TEST_CASE("a typed projection over two aggregate types gets each handled event decoded, with its meta",
          "[subscriptions][typed]") {
  test::temp_dir dir;
  runtime rt{config_in(dir)};
  rt.register_aggregate<orders::order>();
  rt.register_aggregate<inventory::product>();
  rt.register_aggregate<accounts::account>();
  REQUIRE(rt.add_projection<orders::order, inventory::product>(
                "lines", handlers{
                           [](const orders::line_added& e, const event_meta& m, projection_writer& w) {
                             w.put("line/" + std::string{m.aggregate_id} + "/" + e.product_id,
                                   std::to_string(e.quantity) + " " + describe(m));
                           },
                           [](const inventory::stock_added& e, projection_writer& w) { // no meta: allowed
                             w.put("stock", std::to_string(e.quantity));
                           }})
            .ok());
  REQUIRE(rt.start());
  run_mixed_commands(rt);
  INFO(lag_of(rt));
  REQUIRE(wait_caught_up(rt));

  // The expected meta comes from the log itself: ids, versions, positions and timestamps as stored.
  auto log = log_of(rt);
  std::map<std::string, std::string> expected;
  for (const auto& [position, e] : log)
    if (e.event.type == orders::line_added::event_type) {
      orders::line_added line;
      REQUIRE(store::decode(e.event.payload, line));
      event_meta m{"order", "o-1", e.version, position,
                   std::chrono::sys_time<std::chrono::microseconds>{std::chrono::microseconds{e.event.timestamp_us}}};
      expected["lines/line/o-1/" + line.product_id] = std::to_string(line.quantity) + " " + describe(m);
    }
  expected["lines/stock"] = "5";
  REQUIRE(expected.size() == 3);
  auto all = rt.store().scan_projection("lines/", "", 100);
  REQUIRE(all);
  std::map<std::string, std::string> got(all->begin(), all->end());
  CHECK(got == expected); // nothing for order.created, product.registered or the account: no handler takes them
  CHECK(got["lines/line/o-1/pen"] == "3 order o-1 v2 @2 t" + std::to_string(log.at(2).event.timestamp_us));
  CHECK(log.at(2).event.timestamp_us > 0);
}

TEST_CASE("a typed subscriber sees upcast events in their current shape, skips unhandled types and aggregates",
          "[subscriptions][typed]") {
  test::temp_dir dir;
  auto cfg = config_in(dir);
  store::append_request order;
  order.stream = "order-o-old";
  order.events.push_back(store::make_event_record(orders::order_created{"ann"}, 1000));
  order.events.push_back(old_line("pen", 3, 2000));
  store::append_request account;
  account.stream = "account-a-1";
  account.events.push_back(store::make_event_record(accounts::account_opened{"ann"}, 3000));
  store::append_request product;
  product.stream = "product-pen";
  product.events.push_back(store::make_event_record(inventory::product_registered{"PEN", 10}, 4000));
  write_streams(cfg, {order, account, product});

  runtime rt{cfg};
  rt.register_aggregate<orders::order>();
  rt.register_aggregate<inventory::product>();
  add_line_upcaster(rt);
  std::mutex m;
  std::vector<std::string> seen;
  REQUIRE(rt.add_subscriber<orders::order, inventory::product>(
                "seen", handlers{[&](const orders::line_added& e, const event_meta& meta) {
                                   std::lock_guard g{m};
                                   seen.push_back(e.product_id + " " + e.name + " " + std::to_string(e.quantity) +
                                                  " " + describe(meta));
                                 },
                                 [&](const inventory::product_registered& e, const event_meta& meta) {
                                   std::lock_guard g{m};
                                   seen.push_back(e.sku + " " + describe(meta));
                                 }})
            .ok());
  REQUIRE(rt.start());
  INFO(lag_of(rt));
  REQUIRE(wait_caught_up(rt));
  std::lock_guard g{m};
  // The v0 line reaches the handler as a current line_added, named by the upcaster; order.created (no handler)
  // and the account (not a subscribed type) are skipped.
  CHECK(seen == std::vector<std::string>{"pen (unnamed) 3 order o-old v2 @2 t2000", "PEN product pen v1 @4 t4000"});
}

TEST_CASE("a typed policy turns events of two aggregate types into commands, once each", "[subscriptions][typed]") {
  test::temp_dir dir;
  runtime rt{config_in(dir)};
  rt.register_aggregate<orders::order>();
  rt.register_aggregate<inventory::product>();
  rt.register_aggregate<accounts::account>();
  // Every customer of an order gets an account; every product registered gets one too (for its supplier).
  auto open_for = [&rt](std::string id, std::string owner, const event_meta& m, policy_actions& out) {
    out.add([&rt, id = std::move(id), owner = std::move(owner), cause = causation{"accounts", m.position}](auto done) {
      rt.send<accounts::account>(id, accounts::open_account{owner}, cause, [done](command_result r) { done(r); });
    });
  };
  REQUIRE(rt.add_policy<orders::order, inventory::product>(
                "accounts", handlers{[&](const orders::order_created& e, const event_meta& m, policy_actions& out) {
                                       open_for("customer-" + e.customer_id, e.customer_id, m, out);
                                     },
                                     [&](const inventory::product_registered& e, const event_meta& m,
                                         policy_actions& out) {
                                       open_for("supplier-" + std::string{m.aggregate_id}, e.sku, m, out);
                                     }})
            .ok());
  REQUIRE(rt.start());
  run_mixed_commands(rt);
  INFO(lag_of(rt));
  REQUIRE(wait_caught_up(rt));
  auto customer = rt.get<accounts::account>("customer-ann");
  auto supplier = rt.get<accounts::account>("supplier-pen");
  REQUIRE(customer.ok());
  REQUIRE(supplier.ok());
  CHECK(customer.root->version() == 1);
  CHECK(supplier.root->state().owner() == "PEN");
}

TEST_CASE("an event a typed projection cannot decode stops it there, retried and never skipped",
          "[subscriptions][typed]") {
  test::temp_dir dir;
  auto cfg = config_in(dir);
  store::append_request order;
  order.stream = "order-o-1";
  order.events.push_back(store::make_event_record(orders::order_created{"ann"}, 1));
  store::event_record broken = store::make_event_record(orders::line_added{"pen", "Pen", 1, money{1}}, 2);
  broken.payload = "\xff"; // a truncated varint: not a line_added
  order.events.push_back(std::move(broken));
  order.events.push_back(store::make_event_record(orders::line_added{"ink", "Ink", 1, money{1}}, 3));
  write_streams(cfg, {order});

  runtime rt{cfg};
  rt.register_aggregate<orders::order>();
  std::atomic<int> lines{0};
  REQUIRE(rt.add_projection<orders::order>("lines", handlers{[&](const orders::line_added& e, projection_writer& w) {
                                             ++lines;
                                             w.put(e.product_id, "");
                                           }})
            .ok());
  REQUIRE(rt.start());
  // Retries come every 200 ms: after a second it has tried several times and is still before the broken event,
  // and the event after it was never handled.
  std::this_thread::sleep_for(std::chrono::seconds{1});
  auto subs = rt.subscriptions();
  REQUIRE(subs.size() == 1);
  CHECK(subs[0].position < 2); // the failing chunk is not committed, not even its events before the broken one
  CHECK(lines == 0);
  auto ink = rt.store().projection_value(projection_key("lines", "ink"));
  REQUIRE(ink);
  CHECK_FALSE(ink->has_value());
}

TEST_CASE("the projection writer answers get() from its pending writes by key: last write wins",
          "[subscriptions][writer]") {
  projection_writer w{"p/"};
  std::map<std::string, std::string> committed{{"a", "A0"}, {"b", "B0"}, {"c", "C0"}};
  auto get = [&](std::string_view key) {
    return w.get(key, [&](std::string_view k) -> std::optional<std::string> {
      auto i = committed.find(std::string{k});
      return i == committed.end() ? std::nullopt : std::optional{i->second};
    });
  };
  CHECK(get("a") == "A0"); // nothing pending: as committed
  w.put("a", "A1");
  w.put("a", "A2");
  CHECK(get("a") == "A2");
  w.erase("b");
  CHECK(get("b") == std::nullopt);
  w.put("b", "B1"); // erase then put
  CHECK(get("b") == "B1");
  w.put("c", "C1");
  w.erase("c"); // put then erase
  CHECK(get("c") == std::nullopt);
  w.put("d", "D1");
  w.erase("d");
  w.put("d", "D2");
  CHECK(get("d") == "D2");
  CHECK(get("e") == std::nullopt);
  CHECK(get("p/a") == std::nullopt); // keys are within the projection: "p/p/a" was never written

  // What is committed: one write per key, its last, in first-written order.
  auto puts = w.take();
  std::vector<store::projection_put> expected{
    {"p/a", "A2"}, {"p/b", "B1"}, {"p/c", std::nullopt}, {"p/d", "D2"}};
  CHECK(puts == expected);
  // The next chunk starts empty: nothing of the last one is pending.
  CHECK(get("a") == "A0");
  CHECK(w.take().empty());
}
