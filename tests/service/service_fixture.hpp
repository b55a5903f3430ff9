// Test support for the order service's core: a started runtime with the shop on RocksDB in a temporary folder,
// the service over it, and a blocking call() that waits for the asynchronous answer.
#pragma once

#include <service.hpp>
#include <shop.hpp>
#include <support/temp_dir.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

namespace cairn::test {

struct service_fixture {
  explicit service_fixture(runtime_config cfg = {}, order_service::service_limits limits = {}) {
    cfg.data_dir = dir.sub("db");
    cfg.scheduler_threads = 2;
    rt = std::make_unique<runtime>(cfg);
    shop::register_shop(*rt);
    if (!rt->start())
      throw std::runtime_error{"runtime did not start"};
    svc = std::make_unique<order_service::service>(*rt, limits);
  }

  ~service_fixture() {
    svc.reset(); // drains: every request answered before the runtime stops
    rt->stop();
  }

  order_service::response call(std::string method, std::string target, std::string body = {}) {
    std::promise<order_service::response> answer;
    auto future = answer.get_future();
    svc->handle({std::move(method), std::move(target), std::move(body)},
                [&answer](order_service::response r) { answer.set_value(std::move(r)); });
    return future.get();
  }

  /// The parsed body of a call (null when it is not JSON).
  nlohmann::json json_of(const order_service::response& r) {
    return nlohmann::json::parse(r.body, nullptr, false);
  }

  std::string create_order(const std::string& customer = "c-1") {
    auto r = call("POST", "/orders", nlohmann::json{{"customer_id", customer}}.dump());
    if (r.status != 201)
      throw std::runtime_error{"create_order: " + r.body};
    return json_of(r)["id"].get<std::string>();
  }

  std::string create_product(std::int64_t stock, const std::string& sku = "sku") {
    auto r = call("POST", "/products", nlohmann::json{{"sku", sku}, {"stock", stock}}.dump());
    if (r.status != 201)
      throw std::runtime_error{"create_product: " + r.body};
    return json_of(r)["id"].get<std::string>();
  }

  order_service::response add_line(const std::string& order, const std::string& product, std::int64_t quantity,
                                   const std::string& price) {
    return call("POST", "/orders/" + order + "/lines",
                nlohmann::json{{"product_id", product}, {"name", "thing"}, {"quantity", quantity},
                               {"unit_price", price}}
                  .dump());
  }

  /// GET /orders/{id} until its status is no longer "submitted" (the saga decided), up to 10 s.
  nlohmann::json wait_decided(const std::string& order) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
    for (;;) {
      auto state = json_of(call("GET", "/orders/" + order));
      if (state["status"] != "submitted" || std::chrono::steady_clock::now() > deadline)
        return state;
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
  }

  temp_dir dir;
  std::unique_ptr<runtime> rt;
  std::unique_ptr<order_service::service> svc;
};

} // namespace cairn::test
