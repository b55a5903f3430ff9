// The order service's HTTP/1.1 server: Boost.Beast, asynchronous, many keep-alive connections on a few I/O
// threads. It only frames requests and responses; every request goes to the socket-free core (service.hpp),
// whose answer is posted back to the connection's strand, so an I/O thread never waits for a command.
//
//   auto srv = http_server::open(svc, options);   // binds and listens, or an error
//   srv->run();                                    // serves until stop() (or SIGINT/SIGTERM) and every
//                                                  // connection has finished its request in flight
//
// Bounds: request header bytes and body bytes (413 beyond); time: an idle keep-alive connection closes after
// idle_timeout, a request's header must arrive within header_timeout of its first byte, its body at
// min_transfer_rate (and a response must be read at that rate). Open connections: at the limit, the connection
// that has waited longest for a request (idle or slow, for at least reclaimable_after) is closed to make room, so
// that slow or idle clients cannot lock honest ones out; only when none qualifies is the new one answered 429.
// Graceful stop: the listener closes, idle connections are closed, busy ones send their response (with
// "Connection: close") and close; after shutdown_timeout every connection left is closed; run() then returns.
//
// Thread-safety: open() and run() from one thread; stop() from any thread (idempotent).
#pragma once

#include "service.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <variant>

namespace cairn::order_service {

struct server_options {
  boost::asio::ip::tcp::endpoint listen{boost::asio::ip::make_address("127.0.0.1"), 8080};
  std::size_t io_threads = 1;
  std::size_t max_connections = 1024;
  std::size_t max_header_bytes = 8 * 1024;
  /// A keep-alive connection with no request byte for this long is closed.
  std::chrono::milliseconds idle_timeout{std::chrono::seconds{30}};
  /// A request's header must be complete this long after its first byte arrived.
  std::chrono::milliseconds header_timeout{std::chrono::seconds{10}};
  /// Slowest accepted transfer of a request body or a response, in bytes per second (after a one-second grace).
  std::size_t min_transfer_rate = 16 * 1024;
  /// At the connection limit, a connection waiting this long for (the rest of) a request may be closed for a new one.
  std::chrono::milliseconds reclaimable_after{std::chrono::seconds{1}};
  /// After stop(), connections still open this long are closed (a client that does not read its response).
  std::chrono::milliseconds shutdown_timeout{std::chrono::seconds{5}};
  /// Stop gracefully on SIGINT and SIGTERM.
  bool handle_signals = false;
};

class http_server {
public:
  /// Binds and listens on options.listen; the error message names what failed.
  static std::variant<std::unique_ptr<http_server>, std::string> open(service& svc, server_options options);

  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// Where it listens (the actual port when options.listen asked for port 0).
  boost::asio::ip::tcp::endpoint local_endpoint() const;

  /// Serves on options.io_threads threads (this one included) until stopped and drained.
  void run();

  /// Stops accepting and closes idle connections; run() returns once busy ones have answered.
  void stop();

  struct state;

private:
  explicit http_server(std::shared_ptr<state> s);
  std::shared_ptr<state> state_;
};

} // namespace cairn::order_service
