// The sagas through the runtime: order placement with stock (confirmed, or rejected with every reservation
// released), money transfers (completed, or compensated), and the read models.
#include <cairn/domains/account.hpp>
#include <cairn/domains/inventory.hpp>
#include <cairn/domains/order.hpp>
#include <cairn/domains/order_fulfillment.hpp>
#include <cairn/domains/transfer.hpp>
#include <shop.hpp>

#include <cairn/store/codec.hpp>
#include <cairn/store/event_codec.hpp>
#include <cairn/store/event_store.hpp>

#include <support/temp_dir.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

using namespace cairn;
using namespace cairn::domains;

namespace {

runtime_config config_in(const test::temp_dir& dir) {
  runtime_config cfg;
  cfg.data_dir = dir.sub("db");
  cfg.scheduler_threads = 2;
  return cfg;
}

template <class Predicate>
bool eventually(Predicate p, std::chrono::seconds limit = std::chrono::seconds{20}) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (p())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  return false;
}

/// "order.submitted" as schema version 0 stored it: one product and its quantity, no name or price.
struct submitted_v0 {
  std::string product_id;
  std::int64_t quantity = 0;
};

template <class Inspector>
auto inspect(Inspector& f, submitted_v0& x) {
  return f(x.product_id, x.quantity);
}

orders::order_status status_of(runtime& rt, const std::string& id) {
  auto o = rt.get<orders::order>(id);
  return o.ok() ? o.root->state().status() : orders::order_status::draft;
}

/// Sends `cmd` to account "a" as causation test #`seq` and waits (20 s at most) for its answer.
template <class Command>
command_result send_caused(runtime& rt, Command cmd, std::uint64_t seq) {
  auto p = std::make_shared<std::promise<command_result>>();
  auto answer = p->get_future();
  rt.send<accounts::account>("a", std::move(cmd), causation{"test", seq}, [p](command_result r) { p->set_value(r); });
  if (answer.wait_for(std::chrono::seconds{20}) != std::future_status::ready)
    FAIL("no answer within 20 s to the command of causation test #" << seq);
  return answer.get();
}

} // namespace

TEST_CASE("an order with stock for every line is confirmed and its stock committed", "[sagas]") {
  test::temp_dir dir;
  runtime rt{config_in(dir)};
  shop::register_shop(rt);
  REQUIRE(rt.start());
  REQUIRE(rt.execute<inventory::product>("pen", inventory::register_product{"PEN", 10}).ok());
  REQUIRE(rt.execute<inventory::product>("ink", inventory::register_product{"INK", 5}).ok());
  REQUIRE(rt.execute<orders::order>("o-1", orders::create_order{"ann"}).ok());
  REQUIRE(rt.execute<orders::order>("o-1", orders::add_line{"pen", "Pen", 3, money{150}}).ok());
  REQUIRE(rt.execute<orders::order>("o-1", orders::add_line{"ink", "Ink", 5, money{300}}).ok());
  REQUIRE(rt.execute<orders::order>("o-1", orders::submit_order{}).ok());

  REQUIRE(eventually([&] { return status_of(rt, "o-1") == orders::order_status::confirmed; }));
  CHECK(eventually([&] { return rt.get<inventory::product>("pen").root->state().on_hand() == 7; }));
  CHECK(rt.get<inventory::product>("pen").root->state().reserved() == 0);
  CHECK(rt.get<inventory::product>("ink").root->state().on_hand() == 0);
  CHECK(eventually([&] { return shop::stock_of(rt.store(), "pen") == shop::stock_level{7, 0}; }));
  CHECK(shop::orders_of(rt.store(), "ann") == std::vector<std::string>{"o-1"});
}

TEST_CASE("an order short of stock is rejected and every reservation it made is released", "[sagas]") {
  test::temp_dir dir;
  runtime rt{config_in(dir)};
  shop::register_shop(rt);
  REQUIRE(rt.start());
  REQUIRE(rt.execute<inventory::product>("pen", inventory::register_product{"PEN", 10}).ok());
  REQUIRE(rt.execute<inventory::product>("ink", inventory::register_product{"INK", 1}).ok());
  REQUIRE(rt.execute<orders::order>("o-2", orders::create_order{"bob"}).ok());
  REQUIRE(rt.execute<orders::order>("o-2", orders::add_line{"pen", "Pen", 3, money{150}}).ok());
  REQUIRE(rt.execute<orders::order>("o-2", orders::add_line{"ink", "Ink", 2, money{300}}).ok());
  REQUIRE(rt.execute<orders::order>("o-2", orders::submit_order{}).ok());

  REQUIRE(eventually([&] { return status_of(rt, "o-2") == orders::order_status::rejected; }));
  auto pen = rt.get<inventory::product>("pen").root->state();
  CHECK(pen.on_hand() == 10);
  CHECK(pen.reserved() == 0);
  CHECK(rt.get<inventory::product>("ink").root->state().reserved() == 0);
  CHECK(eventually([&] { return shop::stock_of(rt.store(), "pen") == shop::stock_level{10, 0}; }));
}

TEST_CASE("a transfer moves money, and a transfer to a missing account is refunded", "[sagas]") {
  test::temp_dir dir;
  runtime rt{config_in(dir)};
  shop::register_shop(rt);
  REQUIRE(rt.start());
  REQUIRE(rt.execute<accounts::account>("a", accounts::open_account{"ann"}).ok());
  REQUIRE(rt.execute<accounts::account>("b", accounts::open_account{"bob"}).ok());
  REQUIRE(rt.execute<accounts::account>("a", accounts::deposit{money{1000}}).ok());

  REQUIRE(rt.execute<transfers::transfer>("t-1", transfers::start_transfer{"t-1", "a", "b", money{300}}).ok());
  REQUIRE(eventually([&] {
    auto t = rt.get<transfers::transfer>("t-1");
    return t.ok() && t.root->state().status() == transfers::transfer_status::completed;
  }));
  CHECK(rt.get<accounts::account>("a").root->state().balance() == money{700});
  CHECK(rt.get<accounts::account>("b").root->state().balance() == money{300});

  REQUIRE(rt.execute<transfers::transfer>("t-2", transfers::start_transfer{"t-2", "a", "nobody", money{100}}).ok());
  REQUIRE(eventually([&] {
    auto t = rt.get<transfers::transfer>("t-2");
    return t.ok() && t.root->state().status() == transfers::transfer_status::compensated;
  }));
  CHECK(rt.get<accounts::account>("a").root->state().balance() == money{700});

  REQUIRE(rt.execute<transfers::transfer>("t-3", transfers::start_transfer{"t-3", "b", "a", money{301}}).ok());
  REQUIRE(eventually([&] {
    auto t = rt.get<transfers::transfer>("t-3");
    return t.ok() && t.root->state().status() == transfers::transfer_status::failed;
  }));
  CHECK(rt.get<accounts::account>("b").root->state().balance() == money{300});
}

TEST_CASE("an idempotent command sent twice takes effect once and gets the first answer again", "[sagas]") {
  test::temp_dir dir;
  runtime rt{config_in(dir)};
  rt.register_aggregate<accounts::account>();
  REQUIRE(rt.start());
  REQUIRE(rt.execute<accounts::account>("a", accounts::open_account{"ann"}).ok());
  auto send = [&](auto cmd, std::uint64_t seq) { return send_caused(rt, cmd, seq); };
  auto first = send(accounts::deposit{money{10}}, 1);
  auto again = send(accounts::deposit{money{10}}, 1);
  REQUIRE(first.ok());
  CHECK(again.ok());
  CHECK(again.version == first.version);
  auto refused = send(accounts::withdraw{money{1000}}, 2);
  auto refused_again = send(accounts::withdraw{money{1}}, 2); // same causation: the first answer, not a new try
  CHECK(refused.code == command_errc::rejected);
  CHECK(refused_again.code == command_errc::rejected);
  CHECK(refused_again.message == refused.message);
  CHECK(rt.get<accounts::account>("a").root->state().balance() == money{10});
  CHECK(rt.get<accounts::account>("a").root->version() == 2);
}

TEST_CASE("hundreds of sagas in flight over max_active all finish, with no restart", "[sagas][passivation]") {
  // 300 transfers and 300 order fulfilments against a budget of 50 active instances: every process manager is
  // over the budget right after it sends a command. The sagas' progress is watched through a subscriber, never by
  // querying a process manager (a query would activate it and resend its outbox, hiding a stalled saga).
  constexpr int sagas = 300;
  constexpr int accounts_n = 10;
  constexpr int products_n = 10;
  test::temp_dir dir;
  auto cfg = config_in(dir);
  cfg.max_active = 50;
  runtime rt{cfg};
  shop::register_shop(rt);
  std::atomic<int> credited{0};
  std::atomic<int> confirmed{0};
  REQUIRE(rt.add_subscriber("saga-watch", [&](const store::stored_event& e) {
    if (e.event.type == transfers::credit_accepted::event_type)
      ++credited;
    else if (e.event.type == orders::order_confirmed::event_type)
      ++confirmed;
  }).ok());
  REQUIRE(rt.start());
  for (int a = 0; a < accounts_n; ++a) {
    auto id = "acc-" + std::to_string(a);
    REQUIRE(rt.execute<accounts::account>(id, accounts::open_account{id}).ok());
    REQUIRE(rt.execute<accounts::account>(id, accounts::deposit{money{1'000'000}}).ok());
  }
  for (int p = 0; p < products_n; ++p) {
    auto id = "prod-" + std::to_string(p);
    REQUIRE(rt.execute<inventory::product>(id, inventory::register_product{id, 1'000'000}).ok());
  }
  for (int o = 0; o < sagas; ++o) {
    auto id = "ord-" + std::to_string(o);
    REQUIRE(rt.execute<orders::order>(id, orders::create_order{"c"}).ok());
    REQUIRE(rt.execute<orders::order>(id, orders::add_line{"prod-" + std::to_string(o % products_n), "P", 1,
                                                           money{100}}).ok());
  }

  // Every saga is started at once; the starts' own answers must all be accepted.
  std::atomic<int> started_ok{0};
  std::atomic<int> started_answers{0};
  auto on_start = [&](command_result r) {
    if (r.ok())
      ++started_ok;
    ++started_answers;
  };
  for (int i = 0; i < sagas; ++i) {
    auto from = i % accounts_n;
    auto to = (i + 1) % accounts_n;
    auto tid = "t-" + std::to_string(i);
    rt.send<transfers::transfer>(tid, transfers::start_transfer{tid, "acc-" + std::to_string(from),
                                                                "acc-" + std::to_string(to), money{1 + i}},
                                 on_start);
    rt.send<orders::order>("ord-" + std::to_string(i), orders::submit_order{}, on_start);
  }

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{30};
  while (std::chrono::steady_clock::now() < deadline && (credited < sagas || confirmed < sagas))
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  INFO("after 30 s: " << started_answers.load() << " of " << 2 * sagas << " starts answered (" << started_ok.load()
                      << " accepted), " << credited.load() << " of " << sagas << " transfers credited, "
                      << confirmed.load() << " of " << sagas << " orders confirmed; " << rt.stats().active_instances
                      << " instances active");
  REQUIRE(started_ok == 2 * sagas);
  REQUIRE(credited == sagas);
  REQUIRE(confirmed == sagas);
  // Money is conserved across the accounts; stock left every product exactly once per order.
  std::int64_t total = 0;
  for (int a = 0; a < accounts_n; ++a)
    total += rt.get<accounts::account>("acc-" + std::to_string(a)).root->state().balance().minor_units;
  CHECK(total == 1'000'000 * accounts_n);
  for (int p = 0; p < products_n; ++p)
    CHECK(rt.get<inventory::product>("prod-" + std::to_string(p)).root->state().on_hand() ==
          1'000'000 - sagas / products_n);
}

TEST_CASE("a process manager's input stored with an older schema is upcast, not retried forever", "[sagas][upcast]") {
  test::temp_dir dir;
  auto cfg = config_in(dir);
  // The order's stream as an older release wrote it: its submission in schema version 0.
  {
    store::options opts;
    opts.path = cfg.data_dir;
    auto opened = store::event_store::open(opts);
    REQUIRE(opened);
    auto& s = **opened;
    store::append_request product;
    product.stream = "product-pen";
    product.events.push_back(store::make_event_record(inventory::product_registered{"PEN", 10}, 1));
    REQUIRE(s.append(product));
    store::append_request order;
    order.stream = "order-o-old";
    order.events.push_back(store::make_event_record(orders::order_created{"ann"}, 1));
    order.events.push_back(store::make_event_record(orders::line_added{"pen", "Pen", 3, money{150}}, 1));
    store::event_record old;
    old.type = std::string{orders::order_submitted::event_type};
    old.schema_version = 0;
    old.timestamp_us = 1;
    old.payload = store::encode(submitted_v0{"pen", 3});
    order.events.push_back(std::move(old));
    REQUIRE(s.append(order));
  }
  runtime rt{cfg};
  shop::register_shop(rt);
  std::atomic<int> upcasts{0};
  rt.codec<orders::order>().add_upcaster(
    std::string{orders::order_submitted::event_type}, 0,
    [&upcasts](const store::event_record& r) -> store::result<std::vector<store::event_record>> {
      submitted_v0 v0;
      if (auto st = store::decode(r.payload, v0); !st)
        return st.error();
      ++upcasts;
      orders::order_submitted now{{orders::order_line{v0.product_id, "", v0.quantity, money{0}}}};
      return std::vector<store::event_record>{store::make_event_record(now, r.timestamp_us)};
    });
  REQUIRE(rt.start());
  // The fulfilment saga learns the order's lines from the upcast submission alone: it reserves and commits the
  // stock and confirms the order.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{20};
  std::int64_t on_hand = 10;
  while (std::chrono::steady_clock::now() < deadline) {
    on_hand = rt.get<inventory::product>("pen").root->state().on_hand();
    if (on_hand == 7)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  std::string route_state;
  for (const auto& sub : rt.subscriptions())
    if (sub.name == "route:order_fulfillment")
      route_state = "route:order_fulfillment at position " + std::to_string(sub.position) + ", lag " +
                    std::to_string(sub.lag);
  INFO("after 20 s: pen on hand " << on_hand << " (want 7), " << route_state << ", " << upcasts.load()
                                  << " upcasts");
  REQUIRE(on_hand == 7);
  REQUIRE(eventually([&] { return status_of(rt, "o-old") == orders::order_status::confirmed; }));
  CHECK(upcasts > 0);
}

TEST_CASE("a repeated idempotent command gets its first answer from one check in the store, no write, no reload",
          "[sagas][idempotency]") {
  test::temp_dir dir;
  runtime rt{config_in(dir)};
  rt.register_aggregate<accounts::account>();
  REQUIRE(rt.start());
  REQUIRE(rt.execute<accounts::account>("a", accounts::open_account{"ann"}).ok());
  auto send = [&](auto cmd, std::uint64_t seq) { return send_caused(rt, cmd, seq); };
  auto writes = [&] { return rt.store().stats().writes; };

  auto first = send(accounts::deposit{money{10}}, 1);
  REQUIRE(first.ok());
  auto writes_before = writes();
  auto again = send(accounts::deposit{money{10}}, 1);
  CHECK(again.ok());
  CHECK(again.version == first.version);
  CHECK(writes() == writes_before);

  auto refused = send(accounts::withdraw{money{1000}}, 2);
  REQUIRE(refused.code == command_errc::rejected);
  REQUIRE(rt.execute<accounts::account>("a", accounts::deposit{money{5}}).ok()); // the stream moves on
  writes_before = writes();
  // Same causation, another command that would now be accepted: the first answer, version included.
  auto refused_again = send(accounts::withdraw{money{1}}, 2);
  CHECK(refused_again.code == command_errc::rejected);
  CHECK(refused_again.message == refused.message);
  CHECK(refused_again.version == refused.version);
  CHECK(writes() == writes_before);

  auto superseded = send(accounts::deposit{money{1}}, 1);
  CHECK(superseded.code == command_errc::rejected);
  CHECK_THAT(superseded.message, Catch::Contains("superseded"));
  CHECK(writes() == writes_before);

  CHECK(rt.stats().reloads == 0);
  // The instance's state is what the store has: the repeats changed nothing, in memory or stored.
  auto a = rt.get<accounts::account>("a");
  REQUIRE(a.ok());
  CHECK(a.root->state().balance() == money{15});
  CHECK(a.root->version() == *rt.store().stream_version("account-a"));
}
