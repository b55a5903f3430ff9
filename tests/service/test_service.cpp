// The order service's core over a real runtime and RocksDB: every endpoint, the error codes, the saga's decision
// as seen through HTTP, and the metrics exposition.
#include "service_fixture.hpp"

#include <cairn/domains/order.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <set>
#include <string>
#include <vector>

using cairn::test::service_fixture;
using json = nlohmann::json;

TEST_CASE("an order is created, changed, submitted and confirmed by the stock saga", "[service]") {
  service_fixture f;
  auto product = f.create_product(10, "tea");
  auto created = f.call("POST", "/orders", R"({"customer_id":"c-7"})");
  REQUIRE(created.status == 201);
  auto id = f.json_of(created)["id"].get<std::string>();
  CHECK(f.json_of(created)["version"] == 1);

  auto line = f.add_line(id, product, 2, "3.5");
  REQUIRE(line.status == 200);
  CHECK(f.json_of(line)["version"] == 2);
  REQUIRE(f.add_line(id, "p-gone", 1, "1").status == 200);
  auto removed = f.call("DELETE", "/orders/" + id + "/lines/p-gone");
  REQUIRE(removed.status == 200);
  CHECK(f.json_of(removed)["version"] == 4);

  auto draft = f.json_of(f.call("GET", "/orders/" + id));
  CHECK(draft == json::parse(R"({"id":")" + id + R"(","customer_id":"c-7","status":"draft","total":"7.00",
    "lines":[{"product_id":")" + product + R"(","name":"thing","quantity":2,"unit_price":"3.50","total":"7.00"}],
    "version":4})"));

  auto submitted = f.call("POST", "/orders/" + id + "/submit");
  REQUIRE(submitted.status == 200);
  CHECK(f.json_of(submitted)["version"] == 5);
  auto decided = f.wait_decided(id);
  CHECK(decided["status"] == "confirmed");
  CHECK(decided["version"] == 6);

  auto stock = f.json_of(f.call("GET", "/products/" + product));
  CHECK(stock["on_hand"] == 8);
  CHECK(stock["reserved"] == 0);
  CHECK(stock["available"] == 8);
  CHECK(stock["sku"] == "tea");
}

TEST_CASE("the stock saga rejects an order it cannot reserve, and the stock is untouched", "[service]") {
  service_fixture f;
  auto product = f.create_product(1);
  auto id = f.create_order();
  REQUIRE(f.add_line(id, product, 3, "1.00").status == 200);
  REQUIRE(f.call("POST", "/orders/" + id + "/submit").status == 200);
  auto decided = f.wait_decided(id);
  CHECK(decided["status"] == "rejected");
  CHECK_THAT(decided["rejection_reason"].get<std::string>(), Catch::Contains("not enough stock"));
  auto stock = f.json_of(f.call("GET", "/products/" + product));
  CHECK(stock["on_hand"] == 1);
  CHECK(stock["reserved"] == 0);
}

TEST_CASE("an order's events come back as JSON, in pages", "[service]") {
  service_fixture f;
  auto id = f.create_order("c-2");
  for (int i = 0; i < 4; ++i)
    REQUIRE(f.add_line(id, "p-" + std::to_string(i), i + 1, "0.05").status == 200);
  auto all = f.json_of(f.call("GET", "/orders/" + id + "/events"));
  REQUIRE(all["events"].size() == 5);
  CHECK(all["version"] == 5);
  CHECK_FALSE(all.contains("next_from"));
  CHECK(all["events"][0]["type"] == "order.created");
  CHECK(all["events"][0]["data"] == json{{"customer_id", "c-2"}});
  CHECK(all["events"][2]["data"] ==
        json{{"product_id", "p-1"}, {"name", "thing"}, {"quantity", 2}, {"unit_price", "0.05"}});
  for (std::size_t i = 0; i < 5; ++i)
    CHECK(all["events"][i]["version"] == i + 1);
  CHECK(all["events"][1]["position"] < all["events"][2]["position"]);

  auto page = f.json_of(f.call("GET", "/orders/" + id + "/events?from=2&limit=2"));
  REQUIRE(page["events"].size() == 2);
  CHECK(page["events"][0]["version"] == 2);
  CHECK(page["next_from"] == 4);
  CHECK(f.call("GET", "/orders/" + id + "/events?from=0").status == 400);
  CHECK(f.call("GET", "/orders/" + id + "/events?limit=100000").status == 400);
  CHECK(f.call("GET", "/orders/" + id + "/events?from=x").status == 400);
  CHECK(f.call("GET", "/orders/o-unknown/events").status == 404);
}

TEST_CASE("malformed or invalid input is 400 with a JSON error and changes nothing", "[service]") {
  service_fixture f;
  auto id = f.create_order();
  auto lines = "/orders/" + id + "/lines";
  const std::vector<std::string> bad_lines{
    "{not json",
    "[1,2]",
    R"({"name":"x","quantity":1,"unit_price":"1.00"})",
    R"({"product_id":"","name":"x","quantity":1,"unit_price":"1.00"})",
    R"({"product_id":"p","name":"x","quantity":0,"unit_price":"1.00"})",
    R"({"product_id":"p","name":"x","quantity":-2,"unit_price":"1.00"})",
    R"({"product_id":"p","name":"x","quantity":"2","unit_price":"1.00"})",
    R"({"product_id":"p","name":"x","quantity":1.5,"unit_price":"1.00"})",
    R"({"product_id":"p","name":"x","quantity":18446744073709551615,"unit_price":"1.00"})",
    R"({"product_id":"p","name":"x","quantity":1,"unit_price":12.5})",
    R"({"product_id":"p","name":"x","quantity":1,"unit_price":"1.234"})",
    R"({"product_id":"p","name":"x","quantity":1,"unit_price":"-1.00"})",
    R"({"product_id":"p","name":"x","quantity":1,"unit_price":"-0.00"})",
    R"({"product_id":"p\u0000q","name":"x","quantity":1,"unit_price":"1.00"})",
    R"({"product_id":"p","name":"x","quantity":1,"unit_price":"1,00"})",
    R"({"product_id":"p","name":")" + std::string(201, 'n') + R"(","quantity":1,"unit_price":"1.00"})",
  };
  for (const auto& body : bad_lines) {
    INFO(body);
    auto r = f.call("POST", lines, body);
    CHECK(r.status == 400);
    CHECK(f.json_of(r)["error"].is_string());
  }
  CHECK(f.call("POST", "/orders", "{}").status == 400);
  CHECK(f.call("POST", "/orders", R"({"customer_id":5})").status == 400);
  CHECK(f.call("POST", "/products", R"({"sku":"s","stock":-1})").status == 400);
  CHECK(f.call("POST", "/products", R"({"sku":"s"})").status == 400);
  CHECK(f.call("GET", "/orders/%zz").status == 400);
  CHECK(f.call("GET", "orders").status == 400);
  CHECK(f.call("GET", "/orders/" + std::string(201, 'o')).status == 400);
  CHECK(f.call("GET", "/orders/o%00x").status == 400);
  CHECK(f.call("DELETE", lines + "/p%00q").status == 400);
  // Nothing of it was recorded.
  auto state = f.json_of(f.call("GET", "/orders/" + id));
  CHECK(state["version"] == 1);
  CHECK(state["lines"].empty());
}

TEST_CASE("reads of unknown ids answer 404 without activating instances", "[service]") {
  service_fixture f;
  auto id = f.create_order();
  const auto active_before = f.rt->stats().active_instances;
  for (int i = 0; i < 500; ++i) {
    CHECK(f.call("GET", "/orders/o-unknown-" + std::to_string(i)).status == 404);
    CHECK(f.call("GET", "/products/p-unknown-" + std::to_string(i)).status == 404);
  }
  CHECK(f.rt->stats().active_instances == active_before);
  CHECK(f.call("GET", "/orders/" + id).status == 200);
}

TEST_CASE("unknown aggregates and routes are 404, wrong methods 405", "[service]") {
  service_fixture f;
  CHECK(f.call("GET", "/orders/o-none").status == 404);
  CHECK(f.call("GET", "/products/p-none").status == 404);
  auto r = f.add_line("o-none", "p", 1, "1.00");
  CHECK(r.status == 404);
  CHECK(f.json_of(r)["error"].is_string());
  CHECK(f.call("POST", "/orders/o-none/submit").status == 404);
  CHECK(f.call("DELETE", "/orders/o-none/lines/p").status == 404);
  CHECK(f.call("GET", "/nothing").status == 404);
  CHECK(f.call("GET", "/orders/o-1/nothing").status == 404);
  CHECK(f.call("PUT", "/orders").status == 405);
  CHECK(f.call("DELETE", "/orders/o-1").status == 405);
  CHECK(f.call("POST", "/metrics").status == 405);
  // A query for an unknown order leaves it unknown.
  CHECK(f.call("GET", "/orders/o-none").status == 404);
}

TEST_CASE("commands refused by an invariant are 409 and record nothing", "[service]") {
  service_fixture f;
  auto id = f.create_order();
  CHECK(f.call("POST", "/orders/" + id + "/submit").status == 409); // empty
  REQUIRE(f.add_line(id, "p", 1, "9999.99").status == 200);
  auto over = f.add_line(id, "p", 1, "0.02"); // beyond the 10,000.00 limit
  CHECK(over.status == 409);
  CHECK_THAT(f.json_of(over)["error"].get<std::string>(), Catch::Contains("10000.00"));
  CHECK(f.add_line(id, "p", 1, "0.01").status == 200); // exactly the limit
  CHECK(f.call("DELETE", "/orders/" + id + "/lines/q").status == 409);
  REQUIRE(f.call("POST", "/orders/" + id + "/submit").status == 200);
  CHECK(f.add_line(id, "p", 1, "1.00").status == 409);
  CHECK(f.call("POST", "/orders/" + id + "/submit").status == 409);
  auto events = f.json_of(f.call("GET", "/orders/" + id + "/events"));
  CHECK(events["events"][3]["type"] == "order.submitted");
  CHECK(f.json_of(f.call("GET", "/orders/" + id))["total"] == "10000.00");
}

TEST_CASE("bodies over the limit are 413", "[service]") {
  cairn::order_service::service_limits limits;
  limits.max_body_bytes = 100;
  service_fixture f{{}, limits};
  auto r = f.call("POST", "/orders", R"({"customer_id":")" + std::string(100, 'c') + "\"}");
  CHECK(r.status == 413);
  CHECK(f.json_of(r)["error"].is_string());
  CHECK(f.call("POST", "/orders", R"({"customer_id":"c"})").status == 201);
}

TEST_CASE("commands beyond the runtime's in-flight bound are 429", "[service]") {
  cairn::runtime_config cfg;
  cfg.max_in_flight = 2;
  service_fixture f{cfg};
  constexpr int total = 300;
  std::atomic<int> created{0}, overloaded{0}, other{0}, answered{0};
  std::promise<void> all;
  std::mutex ids_mutex;
  std::vector<std::string> ids;
  for (int i = 0; i < total; ++i)
    f.svc->handle({"POST", "/orders", R"({"customer_id":"c"})"}, [&](cairn::order_service::response r) {
      if (r.status == 201) {
        ++created;
        std::lock_guard guard{ids_mutex};
        ids.push_back(json::parse(r.body)["id"].get<std::string>());
      } else if (r.status == 429) {
        ++overloaded;
      } else {
        ++other;
      }
      if (++answered == total)
        all.set_value();
    });
  all.get_future().wait();
  CHECK(other == 0);
  CHECK(overloaded > 0);
  CHECK(created > 0);
  for (const auto& id : ids)
    CHECK(f.call("GET", "/orders/" + id).status == 200);
  CHECK(f.svc->metrics().commands(cairn::order_service::command_kind::create_order,
                                  cairn::command_errc::overloaded) == static_cast<std::uint64_t>(overloaded.load()));
}

TEST_CASE("ids are chosen by the server and never repeat", "[service]") {
  service_fixture f;
  std::set<std::string> ids;
  for (int i = 0; i < 200; ++i)
    ids.insert(f.create_order());
  for (int i = 0; i < 20; ++i)
    ids.insert(f.create_product(1));
  CHECK(ids.size() == 220);
}

TEST_CASE("the metrics are Prometheus text with commands by type and result and the runtime's figures",
          "[service]") {
  service_fixture f;
  auto id = f.create_order();
  for (int i = 0; i < 3; ++i)
    REQUIRE(f.add_line(id, "p", 1, "1.00").status == 200);
  REQUIRE(f.call("POST", "/orders/" + id + "/submit").status == 200);
  REQUIRE(f.add_line(id, "p", 1, "1.00").status == 409);
  REQUIRE(f.add_line("o-none", "p", 1, "1.00").status == 404);
  auto m = f.call("GET", "/metrics");
  REQUIRE(m.status == 200);
  CHECK_THAT(m.content_type, Catch::StartsWith("text/plain; version=0.0.4"));
  const auto& text = m.body;
  CHECK_THAT(text, Catch::Contains("cairn_commands_total{type=\"add_line\",result=\"accepted\"} 3\n"));
  CHECK_THAT(text, Catch::Contains("cairn_commands_total{type=\"add_line\",result=\"rejected\"} 1\n"));
  CHECK_THAT(text, Catch::Contains("cairn_commands_total{type=\"add_line\",result=\"not_found\"} 1\n"));
  CHECK_THAT(text, Catch::Contains("cairn_commands_total{type=\"create_order\",result=\"accepted\"} 1\n"));
  CHECK_THAT(text, Catch::Contains("cairn_commands_total{type=\"submit_order\",result=\"accepted\"} 1\n"));
  CHECK_THAT(text, Catch::Contains("cairn_command_duration_seconds_bucket{le=\"+Inf\"} 7\n"));
  CHECK_THAT(text, Catch::Contains("cairn_command_duration_seconds_count 7\n"));
  CHECK_THAT(text, Catch::Contains("# TYPE cairn_command_duration_seconds histogram"));
  CHECK_THAT(text, Catch::Contains("cairn_commit_batch_size_count "));
  CHECK_THAT(text, Catch::Contains("cairn_store_fsyncs_total "));
  CHECK_THAT(text, Catch::Contains("cairn_active_aggregates "));
  CHECK_THAT(text, Catch::Contains("cairn_subscription_lag_events{subscription=\"route:order_fulfillment\"} "));
  CHECK_THAT(text, Catch::Contains("cairn_http_responses_total{code=\"409\"} 1\n"));
  CHECK(f.rt->stats().store_syncs > 0);
  // Every sample line is "name{labels} value" or "name value".
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    REQUIRE(end != std::string::npos);
    auto line = text.substr(start, end - start);
    if (!line.starts_with("#")) {
      INFO(line);
      CHECK(line.starts_with("cairn_"));
      CHECK(line.rfind(' ') != std::string::npos);
    }
    start = end + 1;
  }
}

TEST_CASE("a draining service answers 503, and healthz says ok while running", "[service]") {
  service_fixture f;
  auto health = f.call("GET", "/healthz");
  CHECK(health.status == 200);
  CHECK(f.json_of(health)["status"] == "ok");
  auto id = f.create_order();
  f.svc->drain();
  auto r = f.add_line(id, "p", 1, "1.00");
  CHECK(r.status == 503);
  CHECK(f.json_of(r)["error"] == "shutting down");
  CHECK(f.call("GET", "/healthz").status == 503);
  CHECK(f.rt->get<cairn::domains::orders::order>(id).root->version() == 1);
}

TEST_CASE("drain returns only after every request handed in before it is answered", "[service]") {
  service_fixture f;
  auto id = f.create_order();
  constexpr int total = 200;
  const std::string line = R"({"product_id":"p","name":"n","quantity":1,"unit_price":"0.01"})";
  std::atomic<int> answered{0}, accepted{0};
  for (int i = 0; i < total; ++i)
    f.svc->handle({"POST", "/orders/" + id + "/lines", line}, [&](cairn::order_service::response r) {
      accepted += r.status == 200 ? 1 : 0;
      ++answered;
    });
  f.svc->drain(); // at once: most of the 200 are still in the runtime
  CHECK(answered == total);
  CHECK(accepted == total);
  auto root = f.rt->get<cairn::domains::orders::order>(id).root;
  REQUIRE(root);
  CHECK(root->state().lines().size() == static_cast<std::size_t>(total));
  CHECK(f.add_line(id, "p", 1, "0.01").status == 503);
}
