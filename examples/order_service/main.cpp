// order-service: the shop (orders, products, the stock saga, read models) on a cairn runtime, over HTTP/1.1 and
// JSON. See docs/order_service.md.
//
//   order-service [--listen 127.0.0.1:8080] [--data-dir ./data] [--durability durable|buffered] [--threads 1]
//                 [--max-connections 1024] [--max-body-bytes 65536] [--cluster FILE --node ID]
//
// Prints "order-service: listening on http://HOST:PORT ..." once it accepts connections (with --listen HOST:0,
// the port the system chose). SIGINT or SIGTERM: stops accepting, answers the requests in flight, stops the
// runtime (which writes and syncs what is queued) and exits 0.
#include "server.hpp"
#include "service.hpp"

#include <shop.hpp>

#include <cairn/runtime/cluster_map.hpp>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <variant>

using namespace cairn;
using namespace cairn::order_service;

namespace {

/// "HOST:PORT" (IPv4, or [IPv6]:PORT) -> an endpoint; the message says what is wrong.
std::variant<boost::asio::ip::tcp::endpoint, std::string> parse_listen(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size())
    return "--listen needs HOST:PORT, got '" + text + "'";
  auto host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  unsigned long port = 0;
  try {
    std::size_t used = 0;
    port = std::stoul(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1 || port > 65535)
      throw std::out_of_range{"port"};
  } catch (const std::exception&) {
    return "--listen: bad port in '" + text + "'";
  }
  boost::system::error_code ec;
  if (auto address = boost::asio::ip::make_address(host, ec); !ec)
    return boost::asio::ip::tcp::endpoint{address, static_cast<unsigned short>(port)};
  // A host name (e.g. localhost): its first address.
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::resolver resolver{ioc};
  auto found = resolver.resolve(host, std::to_string(port), boost::asio::ip::resolver_base::numeric_service, ec);
  if (ec || found.empty())
    return "--listen: cannot resolve '" + host + "': " + (ec ? ec.message() : std::string{"no address"});
  return found.begin()->endpoint();
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"order-service: the cairn example shop over HTTP/1.1 + JSON"};
  std::string listen = "127.0.0.1:8080";
  std::string data_dir = "./data";
  std::string durability = "durable";
  std::size_t threads = 1;
  server_options server;
  service_limits limits;
  app.add_option("--listen", listen, "address:port to listen on (port 0: any free port)")->capture_default_str();
  app.add_option("--data-dir", data_dir, "RocksDB folder (created when missing)")->capture_default_str();
  app.add_option("--durability", durability, "durable: acknowledged after fsync; buffered: after the OS write")
    ->check(CLI::IsMember({"durable", "buffered"}))
    ->capture_default_str();
  app.add_option("--threads", threads, "HTTP I/O threads (the runtime has its own scheduler threads)")
    ->check(CLI::Range(1, 64))
    ->capture_default_str();
  app.add_option("--max-connections", server.max_connections, "open connections; beyond: 429 and close")
    ->check(CLI::Range(1, 1'000'000))
    ->capture_default_str();
  app.add_option("--max-body-bytes", limits.max_body_bytes, "request body limit; beyond: 413")
    ->check(CLI::Range(1, 64 * 1024 * 1024))
    ->capture_default_str();
  std::string cluster_file;
  std::string node_id;
  auto* cluster_option = app.add_option("--cluster", cluster_file, "cluster file: the nodes and partitions "
                                                                   "(docs/cluster.md); needs --node");
  app.add_option("--node", node_id, "this node's id in the cluster file")->needs(cluster_option);
  cluster_option->needs(app.get_option("--node"));
  CLI11_PARSE(app, argc, argv);

  auto endpoint = parse_listen(listen);
  if (auto* error = std::get_if<std::string>(&endpoint)) {
    std::fprintf(stderr, "order-service: %s\n", error->c_str());
    return 2;
  }
  server.listen = std::get<boost::asio::ip::tcp::endpoint>(endpoint);
  server.io_threads = threads;
  server.handle_signals = true;

  runtime_config cfg;
  cfg.data_dir = data_dir;
  cfg.durability = durability == "durable" ? commit_mode::durable : commit_mode::buffered;
  if (!cluster_file.empty()) {
    auto map = cluster_map::load(cluster_file);
    if (!map) {
      std::fprintf(stderr, "order-service: %s\n", map.error().message().c_str());
      return 2;
    }
    cfg.cluster = std::make_shared<const cluster_map>(std::move(map).value());
    cfg.node_id = node_id;
  }
  runtime rt{cfg};
  shop::register_shop(rt);
  {
    service svc{rt, limits};
    // The port first: a start that cannot listen must not create or open the data folder.
    auto opened = http_server::open(svc, server);
    if (auto* error = std::get_if<std::string>(&opened)) {
      std::fprintf(stderr, "order-service: %s\n", error->c_str());
      return 1;
    }
    if (auto started = rt.start(); !started) {
      // The store left nothing behind (no half-made database, no info log): a start on a full disk can simply be
      // tried again once there is space.
      std::fprintf(stderr, "order-service: cannot open %s: %s\n", data_dir.c_str(),
                   started.error().to_string().c_str());
      if (started.error().message().find("No space left on device") != std::string::npos)
        std::fprintf(stderr, "order-service: the disk under %s is full; free some space and start again\n",
                     data_dir.c_str());
      return 1;
    }
    auto& srv = *std::get<std::unique_ptr<http_server>>(opened);
    auto where = srv.local_endpoint();
    auto host = where.address().is_v6() ? "[" + where.address().to_string() + "]" : where.address().to_string();
    std::printf("order-service: listening on http://%s:%u (data %s, %s, %zu I/O thread%s)\n", host.c_str(),
                static_cast<unsigned>(where.port()), data_dir.c_str(), durability.c_str(), threads,
                threads == 1 ? "" : "s");
    std::fflush(stdout);
    srv.run(); // until SIGINT/SIGTERM, then until every connection has answered its request in flight
    std::printf("order-service: stopping\n");
    svc.drain();
  }
  rt.stop();
  std::printf("order-service: stopped\n");
  std::fflush(stdout);
  return 0;
}
