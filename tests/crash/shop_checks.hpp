// What the crash checks share: the shop's starting data, its saga traffic, and the check that a runtime restarted
// on a data folder settles with every invariant of the shop intact (money conserved, every order decided, stock
// consistent, each read model equal to a rebuild from the log). Used by crash-check (SIGKILL) and
// power-cut-check (a simulated power cut).
#pragma once

#include <cairn/domains/account.hpp>
#include <cairn/domains/inventory.hpp>
#include <cairn/domains/order.hpp>
#include <cairn/domains/order_fulfillment.hpp>
#include <cairn/domains/transfer.hpp>
#include <shop.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace cairn::crash {

inline constexpr int product_count = 20;
inline constexpr std::int64_t initial_stock = 50;
inline constexpr int account_count = 20;
inline constexpr std::int64_t initial_balance = 1000;
inline constexpr int customer_count = 5;

inline std::string product_id(int i) {
  return "p-" + std::to_string(i);
}
inline std::string account_id(int i) {
  return "a-" + std::to_string(i);
}

/// Registers the products and opens and funds the accounts; false when a command failed.
inline bool setup(const runtime_config& cfg) {
  using namespace cairn::domains;
  runtime rt{cfg};
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

/// Sends one piece of saga traffic named after `id`: an order of 1-3 lines, submitted (which starts a
/// fulfilment saga), or a transfer between two accounts (a transfer saga). Returns the number of commands sent;
/// `done` is called once for each.
inline int send_traffic(runtime& rt, std::mt19937& rng, const std::string& id,
                        const std::function<void(command_result)>& done) {
  using namespace cairn::domains;
  if (rng() % 2 == 0) {
    auto order = "o-" + id;
    rt.send<orders::order>(order, orders::create_order{"c-" + std::to_string(rng() % customer_count)}, done);
    auto lines = 1 + rng() % 3;
    for (unsigned l = 0; l < lines; ++l)
      rt.send<orders::order>(order,
                             orders::add_line{product_id(static_cast<int>(rng() % product_count)), "item",
                                              static_cast<std::int64_t>(1 + rng() % 5), money{100}},
                             done);
    rt.send<orders::order>(order, orders::submit_order{}, done);
    return static_cast<int>(lines) + 2;
  }
  auto from = static_cast<int>(rng() % account_count);
  auto to = static_cast<int>((from + 1 + rng() % (account_count - 1)) % account_count);
  auto transfer = "t-" + id;
  rt.send<transfers::transfer>(transfer,
                               transfers::start_transfer{transfer, account_id(from), account_id(to),
                                                         money{static_cast<std::int64_t>(1 + rng() % 300)}},
                               done);
  return 1;
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

/// Rebuilds a read model of aggregate type A's events from the global log in memory, with the handlers that
/// `make_handlers(model)` returns (they may read the model as committed). An event that does not decode is a
/// failure.
template <aggregate A, class MakeHandlers>
std::map<std::string, std::string> rebuild(const store::event_store& s, std::string_view name,
                                           MakeHandlers make_handlers, std::vector<std::string>& failures) {
  std::map<std::string, std::string> model;
  auto handlers = make_handlers(model);
  const store::event_codec<typename A::event> codec; // the shop registers no upcasters
  typed_events<A> events{codec};
  auto prefix = std::string{name} + "/";
  for (std::uint64_t from = 1;;) {
    auto chunk = s.read_log(from, 4096);
    if (!chunk || chunk->empty())
      return model;
    for (const auto& e : *chunk) {
      projection_writer w{prefix};
      if (auto st = events.dispatch(e, handlers, w); !st)
        failures.push_back("rebuild of " + std::string{name} + ": " + st.error().to_string());
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

/// Restarts on the data, lets the sagas finish, checks the invariants; returns the failures. `events` is the log's
/// length once settled.
inline std::vector<std::string> verify(const runtime_config& cfg, std::uint64_t& events) {
  using namespace cairn::domains;
  std::vector<std::string> failures;
  auto fail = [&](std::string what) { failures.push_back(std::move(what)); };
  runtime rt{cfg};
  shop::register_shop(rt);
  if (auto started = rt.start(); !started) {
    fail("restart failed: " + started.error().to_string());
    return failures;
  }
  auto settled = [&] {
    auto open = rt.store().scan_runtime("open-process/", "", 1);
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
  for (int c = 0; c < customer_count; ++c) {
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
    if (s.on_hand() < 0 || s.reserved() != 0 || s.on_hand() != initial_stock - confirmed_quantity[product_id(i)])
      fail("product " + product_id(i) + ": on hand " + std::to_string(s.on_hand()) + ", reserved " +
           std::to_string(s.reserved()) + ", expected on hand " +
           std::to_string(initial_stock - confirmed_quantity[product_id(i)]));
  }

  auto orders_model = rebuild<orders::order>(
    rt.store(), shop::orders_by_customer, [](auto&) { return shop::orders_by_customer_projection{}; }, failures);
  if (orders_model != shop::read_model(rt.store(), shop::orders_by_customer))
    fail("orders_by_customer differs from a rebuild from the log");
  auto stock_model = rebuild<inventory::product>(
    rt.store(), shop::stock_levels,
    [](const std::map<std::string, std::string>& model) {
      return shop::stock_levels_projection{[&model](std::string_view key) -> std::optional<std::string> {
        auto i = model.find(std::string{key});
        return i == model.end() ? std::nullopt : std::optional{i->second};
      }};
    },
    failures);
  if (stock_model != shop::read_model(rt.store(), shop::stock_levels))
    fail("stock_levels differs from a rebuild from the log");
  return failures;
}

} // namespace cairn::crash
