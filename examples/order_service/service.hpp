// The order service's request handling without sockets: routes a request to the shop's aggregates on a running
// cairn runtime and answers it, asynchronously, with a JSON response. The HTTP server (server.hpp) is a thin
// layer over it; the tests and a fuzzer drive it directly.
//
//   cairn::runtime rt{cfg};
//   cairn::shop::register_shop(rt);
//   rt.start();
//   cairn::order_service::service svc{rt};
//   svc.handle({"POST", "/orders", R"({"customer_id":"c-1"})"}, [](cairn::order_service::response r) { ... });
//   ...
//   svc.drain();   // every request answered, new ones get 503
//   rt.stop();
//
// Endpoints and error codes: docs/order_service.md. Commands go through the runtime's asynchronous send(); reads
// of the store (an order's events) run on the service's own reader thread; nothing blocks the caller.
//
// Thread-safety: handle() from any number of threads at once. The responder runs exactly once, on a CAF thread,
// the reader thread, or the calling thread (before handle() returns: bad input, refusals at the door), so it must
// only hand the response on (e.g. post it to the connection's executor). The runtime must be started before the
// service handles anything and stopped only after drain() (or the destructor) returned.
#pragma once

#include "http_types.hpp"
#include "metrics.hpp"

#include <cairn/runtime/runtime.hpp>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>

namespace cairn::order_service {

struct service_limits {
  /// Larger bodies are answered 413 (the HTTP server enforces the same limit while reading).
  std::size_t max_body_bytes = 64 * 1024;
  /// At most this many events per GET /orders/{id}/events (the `limit` query parameter may ask for fewer).
  std::size_t max_events_page = 1000;
  /// Longest accepted text field (customer_id, product_id, name, sku), in bytes.
  std::size_t max_text_bytes = 200;
};

/// Answers one request, exactly once.
using responder = std::function<void(response)>;

class service {
public:
  explicit service(runtime& rt, service_limits limits = {});
  /// Calls drain().
  ~service();
  service(const service&) = delete;
  service& operator=(const service&) = delete;

  /// Answers `req` through `done` (see the header comment for where `done` runs).
  void handle(request req, responder done);

  /// From now on every request is answered 503; returns once every request handed in before is answered.
  /// Idempotent; call it before stopping the runtime.
  void drain();

  service_metrics& metrics() noexcept {
    return metrics_;
  }

  const service_limits& limits() const noexcept {
    return limits_;
  }

private:
  struct reader;

  void route(const request& req, responder& done);
  void create_order(const request& req, responder& done);
  void add_line(std::string_view order_id, const request& req, responder& done);
  void remove_line(std::string_view order_id, std::string_view product_id, const request& req, responder& done);
  void submit_order(std::string_view order_id, const request& req, responder& done);
  void get_order(std::string_view order_id, responder& done);
  void get_order_events(std::string_view order_id, std::string_view query, responder& done);
  void register_product(const request& req, responder& done);
  void get_product(std::string_view product_id, responder& done);
  void healthz(responder& done);

  /// Answers the committed state of an aggregate through `view`, 404 when its stream is empty (checked first, in
  /// the store, so that an unknown id activates no instance).
  template <class Aggregate, class View>
  void query_stored(std::string_view id, std::string_view noun, responder& done, View view);

  /// Sends a command through the runtime; `on_accepted` builds the success response from the result. With an
  /// `expected` version (an If-Match), a conflict is 412.
  template <class Aggregate, class Command, class OnAccepted>
  void send_command(command_kind kind, std::string id, Command command, std::optional<std::uint64_t> expected,
                    responder& done, OnAccepted on_accepted);

  /// A fresh id for a new aggregate: the prefix and 16 random hex digits.
  std::string new_id(std::string_view prefix);

  /// Wraps `done` so that it counts the response and releases the pending count.
  responder finish(responder done);

  runtime& rt_;
  service_limits limits_;
  service_metrics metrics_;
  std::unique_ptr<reader> reader_;
  std::atomic<bool> draining_{false};
  std::atomic<bool> storage_healthy_{true}; ///< as last seen by /healthz: a change is logged once
  std::mutex pending_mutex_;
  std::condition_variable pending_done_;
  std::size_t pending_ = 0;
  std::mutex ids_mutex_;
  std::mt19937_64 ids_;
};

} // namespace cairn::order_service
