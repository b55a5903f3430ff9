// Order fulfilment streams written before the saga ran on the framework (cairn::saga): step numbers in the events,
// `fulfillment.result_recorded` for each answer. The shop's upcasters (fulfillment_history.hpp) turn them into
// today's events; an old instance replays into the state the saga reaches today, and one left half-way finishes
// through the runtime.
#include <cairn/domains/inventory.hpp>
#include <cairn/domains/order.hpp>
#include <cairn/domains/order_fulfillment.hpp>
#include <fulfillment_history.hpp>
#include <shop.hpp>

#include <cairn/store/codec.hpp>
#include <cairn/store/event_codec.hpp>
#include <cairn/store/event_store.hpp>

#include <support/temp_dir.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

using namespace cairn;
using namespace cairn::domains;
using fulfillment::order_fulfillment;

namespace {

/// The events as the fulfilment stored them before, schema version 1 (copied from that release's header).
namespace v1 {

struct planned_reservation {
  std::uint64_t step = 0;
  std::string product_id;
  std::int64_t quantity = 0;
};

struct planned_product_step {
  std::uint64_t step = 0;
  std::string product_id;
};

template <class Inspector>
auto inspect(Inspector& f, planned_reservation& x) {
  return f(x.step, x.product_id, x.quantity);
}

template <class Inspector>
auto inspect(Inspector& f, planned_product_step& x) {
  return f(x.step, x.product_id);
}

store::event_record record(std::string type, std::string payload) {
  return store::event_record{std::move(type), 1, 7, std::move(payload)};
}

store::event_record started(std::string order_id, std::vector<planned_reservation> reservations) {
  return record("fulfillment.started", store::encode(std::tuple{order_id, reservations}));
}

store::event_record result(std::uint64_t step, bool accepted, std::string message = {}) {
  return record("fulfillment.result_recorded", store::encode(std::tuple{step, accepted, message}));
}

store::event_record confirmation(std::vector<planned_product_step> commits, std::uint64_t confirm_step) {
  return record("fulfillment.confirmation_scheduled", store::encode(std::tuple{commits, confirm_step}));
}

store::event_record release(std::vector<planned_product_step> releases, std::string reason) {
  return record("fulfillment.release_scheduled", store::encode(std::tuple{releases, reason}));
}

store::event_record rejection(std::uint64_t step, std::string reason) {
  return record("fulfillment.rejection_scheduled", store::encode(std::tuple{step, reason}));
}

store::event_record confirmed() {
  return record("fulfillment.confirmed", "");
}

store::event_record rejected(std::string reason) {
  return record("fulfillment.rejected", store::encode(std::tuple{reason}));
}

} // namespace v1

using saga_root = aggregate_root<order_fulfillment>;
using answers = std::vector<std::tuple<std::uint64_t, bool, std::string>>;

/// Decodes the records an older release stored (each must stand for one event) and replays them.
saga_root replay_old(const std::vector<store::event_record>& old) {
  store::event_codec<order_fulfillment::event> codec;
  shop::add_fulfillment_upcasters(codec);
  saga_root root{"o-1"};
  for (std::size_t i = 0; i < old.size(); ++i) {
    auto events = codec.decode(old[i], "order_fulfillment-o-1", i + 1);
    INFO("record " << i + 1 << " (" << old[i].type << ")");
    REQUIRE(events);
    REQUIRE(events->size() == 1);
    root.apply(*events);
  }
  return root;
}

/// The saga as it is now: started with `lines`, then given `given` in order.
saga_root run_now(std::vector<fulfillment::fulfillment_line> lines, const answers& given) {
  saga_root root{"o-1"};
  auto decide = [&](const order_fulfillment::command& cmd) {
    auto outcome = root.decide(cmd);
    INFO("rejected: " << (outcome ? std::string{} : outcome.error().message));
    REQUIRE(outcome.accepted());
    root.apply(outcome.events());
  };
  decide(fulfillment::start_fulfillment{"o-1", std::move(lines)});
  for (const auto& [step, accepted, message] : given)
    decide(order_fulfillment::result_command(step, accepted, message));
  return root;
}

void check_same(const saga_root& replayed, const saga_root& now) {
  CHECK(replayed.version() == now.version());
  CHECK(replayed.state() == now.state());
  CHECK(replayed.state().outbox() == now.state().outbox());
}

template <class Predicate>
bool eventually(Predicate p, std::chrono::seconds limit = std::chrono::seconds{20}) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (p())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  return false;
}

void append(store::event_store& s, std::string stream, std::vector<store::event_record> events) {
  store::append_request request;
  request.stream = std::move(stream);
  request.events = std::move(events);
  INFO(request.stream);
  REQUIRE(s.append(request));
}

template <class E>
store::event_record now_record(const E& e) {
  return store::make_event_record(e, 7);
}

} // namespace

TEST_CASE("fulfillment history: each old record upcasts to today's event, numbers dropped", "[fulfillment][upcast]") {
  const auto one = [](const store::event_record& old) {
    store::event_codec<order_fulfillment::event> codec;
    shop::add_fulfillment_upcasters(codec);
    auto events = codec.decode(old, "order_fulfillment-o-1", 1);
    INFO(old.type);
    REQUIRE(events);
    REQUIRE(events->size() == 1);
    return events->front();
  };
  CHECK(one(v1::started("o-1", {{1, "pen", 2}, {2, "ink", 1}})) ==
        order_fulfillment::event{fulfillment::fulfillment_started{"o-1", {{"pen", 2}, {"ink", 1}}}});
  CHECK(one(v1::result(2, false, "no stock")) ==
        order_fulfillment::event{step_answered<order_fulfillment>{2, false, "no stock"}});
  CHECK(one(v1::confirmation({{3, "pen"}, {4, "ink"}}, 5)) ==
        order_fulfillment::event{fulfillment::confirmation_scheduled{{"pen", "ink"}}});
  CHECK(one(v1::release({{3, "pen"}}, "no ink")) ==
        order_fulfillment::event{fulfillment::release_scheduled{{"pen"}, "no ink"}});
  CHECK(one(v1::rejection(4, "no ink")) == order_fulfillment::event{fulfillment::rejection_scheduled{"no ink"}});
  // A record that is not what its type says stays an error, naming the record.
  store::event_codec<order_fulfillment::event> codec;
  shop::add_fulfillment_upcasters(codec);
  const auto broken = codec.decode(v1::record("fulfillment.started", "\x05"), "order_fulfillment-o-1", 1);
  REQUIRE_FALSE(broken);
  CHECK_THAT(broken.error().message(), Catch::Contains("fulfillment.started"));
}

TEST_CASE("fulfillment history: an old stream replays into the state the saga reaches today", "[fulfillment][upcast]") {
  SECTION("confirmed") {
    const auto replayed = replay_old({v1::started("o-1", {{1, "pen", 2}, {2, "ink", 1}}), v1::result(2, true),
                                      v1::result(1, true), v1::confirmation({{3, "pen"}, {4, "ink"}}, 5),
                                      v1::result(5, true), v1::result(3, false, "order 'o-1' holds no reservation"),
                                      v1::result(4, true), v1::confirmed()});
    check_same(replayed, run_now({{"pen", 2}, {"ink", 1}}, {{2, true, ""},
                                                            {1, true, ""},
                                                            {5, true, ""},
                                                            {3, false, "order 'o-1' holds no reservation"},
                                                            {4, true, ""}}));
    CHECK(replayed.state().status() == fulfillment::fulfillment_status::confirmed);
    CHECK(replayed.state().steps().size() == 5);
  }
  SECTION("rejected after releasing, with a held reservation") {
    const std::string reason = "product 'ink' refused the reservation: not enough stock";
    // The old saga recorded the held reservation's answer as accepted; today's framework records it as given.
    const auto replayed = replay_old(
      {v1::started("o-1", {{1, "pen", 2}, {2, "ink", 1}, {3, "pad", 4}}),
       v1::result(1, true, "order 'o-1' already holds a reservation"), v1::result(2, false, "not enough stock"),
       v1::result(3, true), v1::release({{4, "pen"}, {5, "pad"}}, reason), v1::result(5, true),
       v1::result(4, true), v1::rejection(6, reason), v1::result(6, true), v1::rejected(reason)});
    check_same(replayed, run_now({{"pen", 2}, {"ink", 1}, {"pad", 4}},
                                 {{1, false, "order 'o-1' already holds a reservation"},
                                  {2, false, "not enough stock"},
                                  {3, true, ""},
                                  {5, true, ""},
                                  {4, true, ""},
                                  {6, true, ""}}));
    CHECK(replayed.state().status() == fulfillment::fulfillment_status::rejected);
    CHECK(replayed.state().rejection_reason() == reason);
  }
  SECTION("rejected at the start (a quantity overflowing)") {
    const std::string why = "quantity of product 'pen' overflows: the order's lines add up to more than "
                            "9223372036854775807 units";
    const auto replayed = replay_old({v1::started("o-1", {}), v1::rejection(1, why)});
    check_same(replayed, run_now({{"pen", std::numeric_limits<std::int64_t>::max()}, {"pen", 1}}, {}));
    CHECK(replayed.state().outbox().size() == 1);
  }
  SECTION("half-way: the outbox holds the same steps under the same numbers") {
    const auto replayed = replay_old({v1::started("o-1", {{1, "pen", 2}, {2, "ink", 1}}), v1::result(1, true),
                                      v1::result(2, true), v1::confirmation({{3, "pen"}, {4, "ink"}}, 5),
                                      v1::result(4, true)});
    check_same(replayed, run_now({{"pen", 2}, {"ink", 1}}, {{1, true, ""}, {2, true, ""}, {4, true, ""}}));
    using out = outgoing_command<order_fulfillment::outgoing>;
    CHECK(replayed.state().outbox() ==
          std::vector<out>{{3, "pen", inventory::commit_reservation{"o-1"}}, {5, "o-1", orders::confirm_order{}}});
  }
}

TEST_CASE("fulfillment history: instances an older release left half-way finish through the runtime",
          "[fulfillment][upcast][sagas]") {
  test::temp_dir dir;
  runtime_config cfg;
  cfg.data_dir = dir.sub("db");
  cfg.scheduler_threads = 2;
  const std::string shortage = "product 'pad' refused the reservation: not enough stock: 2 requested, 1 available";
  // What the older release stored: o-1 had its reservations accepted and pen's committed (step 3), ink's commit
  // (4) and the confirmation (5) still due; o-2 had pad refused and pen's release (3) due.
  {
    store::options opts;
    opts.path = cfg.data_dir;
    auto opened = store::event_store::open(opts);
    REQUIRE(opened);
    auto& s = **opened;
    const std::vector<orders::order_line> lines_1{{"pen", "Pen", 2, money{150}}, {"ink", "Ink", 1, money{300}}};
    const std::vector<orders::order_line> lines_2{{"pen", "Pen", 3, money{150}}, {"pad", "Pad", 2, money{200}}};
    append(s, "product-pen",
           {now_record(inventory::product_registered{"PEN", 10}), now_record(inventory::stock_reserved{"o-1", 2}),
            now_record(inventory::stock_reserved{"o-2", 3}), now_record(inventory::reservation_committed{"o-1", 2})});
    append(s, "product-ink",
           {now_record(inventory::product_registered{"INK", 5}), now_record(inventory::stock_reserved{"o-1", 1})});
    append(s, "product-pad", {now_record(inventory::product_registered{"PAD", 1})});
    for (const auto& [id, customer, lines] : {std::tuple{"o-1", "ann", lines_1}, std::tuple{"o-2", "bob", lines_2}}) {
      std::vector<store::event_record> order{now_record(orders::order_created{customer})};
      for (const auto& l : lines)
        order.push_back(now_record(orders::line_added{l.product_id, l.name, l.quantity, l.unit_price}));
      order.push_back(now_record(orders::order_submitted{lines}));
      append(s, std::string{"order-"} + id, std::move(order));
    }
    append(s, "order_fulfillment-o-1",
           {v1::started("o-1", {{1, "pen", 2}, {2, "ink", 1}}), v1::result(2, true), v1::result(1, true),
            v1::confirmation({{3, "pen"}, {4, "ink"}}, 5), v1::result(3, true)});
    append(s, "order_fulfillment-o-2",
           {v1::started("o-2", {{1, "pen", 3}, {2, "pad", 2}}), v1::result(1, true),
            v1::result(2, false, "not enough stock: 2 requested, 1 available"),
            v1::release({{3, "pen"}}, shortage)});
  }
  runtime rt{cfg};
  shop::register_shop(rt);
  REQUIRE(rt.start());
  auto saga_status = [&](const std::string& id) {
    auto saga = rt.get<order_fulfillment>(id); // loading activates it, which sends its outbox
    return saga.ok() ? std::string{to_string(saga.root->state().status())} : "not loaded: " + saga.status.message;
  };
  const bool finished =
    eventually([&] { return saga_status("o-1") == "confirmed" && saga_status("o-2") == "rejected"; });
  INFO("after 20 s: o-1 " << saga_status("o-1") << " (want confirmed), o-2 " << saga_status("o-2")
                          << " (want rejected)");
  REQUIRE(finished);

  const auto o1 = rt.get<order_fulfillment>("o-1").root->state();
  CHECK(o1.steps().size() == 5);
  for (const auto& s : o1.steps())
    CHECK(s.outcome == fulfillment::step_outcome::accepted);
  const auto o2 = rt.get<order_fulfillment>("o-2").root->state();
  REQUIRE(o2.steps().size() == 4);
  CHECK(o2.steps()[2].kind == fulfillment::step_kind::release);
  CHECK(o2.steps()[3].kind == fulfillment::step_kind::reject);
  CHECK(o2.rejection_reason() == shortage);

  REQUIRE(eventually([&] {
    return rt.get<orders::order>("o-1").root->state().status() == orders::order_status::confirmed &&
           rt.get<orders::order>("o-2").root->state().status() == orders::order_status::rejected;
  }));
  CHECK(rt.get<orders::order>("o-2").root->state().rejection_reason() == shortage);
  const auto pen = rt.get<inventory::product>("pen").root->state();
  CHECK(pen.on_hand() == 8); // o-1's 2 committed (before the restart), o-2's 3 released
  CHECK(pen.reserved() == 0);
  const auto ink = rt.get<inventory::product>("ink").root->state();
  CHECK(ink.on_hand() == 4);
  CHECK(ink.reserved() == 0);
  rt.stop();
}
