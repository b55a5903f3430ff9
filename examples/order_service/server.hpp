// The order service's HTTP/1.1 server: Boost.Beast, asynchronous, many keep-alive connections on a few I/O
// threads. It only frames requests and responses; every request goes to the socket-free core (service.hpp),
// whose answer is posted back to the connection's strand, so an I/O thread never waits for a command.
//
//   auto srv = http_server::open(svc, options);   // binds and listens, or an error
//   srv->run();                                    // serves until stop() (or SIGINT/SIGTERM) and every
//                                                  // connection has finished its request in flight
//
// Bounds: request header bytes and body bytes (413 beyond), open connections (429 and close beyond), idle
// keep-alive time (closed after). Graceful stop: the listener closes, idle connections are closed, busy ones
// send their response (with "Connection: close") and close; run() returns when none is left.
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
  /// A keep-alive connection with no complete request for this long is closed (also bounds slow senders).
  std::chrono::milliseconds idle_timeout{std::chrono::seconds{30}};
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
