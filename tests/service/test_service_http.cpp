// The order service's Beast server over a real core and runtime, on a loopback port: keep-alive, the size and
// connection bounds, malformed requests, and the graceful stop.
#include "service_fixture.hpp"

#include <server.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using cairn::test::service_fixture;

namespace {

struct running_server {
  running_server(cairn::order_service::service& svc, cairn::order_service::server_options opts) {
    opts.listen = tcp::endpoint{net::ip::make_address("127.0.0.1"), 0};
    auto opened = cairn::order_service::http_server::open(svc, opts);
    REQUIRE(std::holds_alternative<std::unique_ptr<cairn::order_service::http_server>>(opened));
    server = std::move(std::get<std::unique_ptr<cairn::order_service::http_server>>(opened));
    port = server->local_endpoint().port();
    thread = std::thread{[this] { server->run(); }};
  }
  ~running_server() {
    stop();
  }
  void stop() {
    server->stop();
    if (thread.joinable())
      thread.join();
  }

  std::unique_ptr<cairn::order_service::http_server> server;
  unsigned short port = 0;
  std::thread thread;
};

struct connection {
  explicit connection(unsigned short port) : stream(ioc) {
    stream.connect(tcp::endpoint{net::ip::make_address("127.0.0.1"), port});
  }

  void send_raw(const std::string& bytes) {
    net::write(stream, net::buffer(bytes));
  }

  /// The next response, or nullopt when the server closed the connection.
  std::optional<http::response<http::string_body>> receive() {
    http::response<http::string_body> res;
    beast::error_code ec;
    stream.expires_after(std::chrono::seconds{10});
    http::read(stream, buffer, res, ec);
    if (ec)
      return std::nullopt;
    return res;
  }

  std::optional<http::response<http::string_body>> call(http::verb verb, const std::string& target,
                                                        const std::string& body = {},
                                                        const std::vector<std::string>& if_match = {}) {
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "localhost");
    for (const auto& tag : if_match)
      req.insert(http::field::if_match, tag);
    req.body() = body;
    req.prepare_payload();
    http::write(stream, req);
    return receive();
  }

  net::io_context ioc;
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
};

} // namespace

TEST_CASE("many requests on one keep-alive connection", "[service][http]") {
  service_fixture f;
  running_server srv{*f.svc, {}};
  connection c{srv.port};
  auto created = c.call(http::verb::post, "/orders", R"({"customer_id":"c-1"})");
  REQUIRE(created);
  REQUIRE(created->result_int() == 201);
  CHECK(created->keep_alive());
  CHECK(created->at(http::field::content_type) == "application/json");
  auto id = nlohmann::json::parse(created->body())["id"].get<std::string>();
  for (int i = 0; i < 20; ++i) {
    auto r = c.call(http::verb::post, "/orders/" + id + "/lines",
                    R"({"product_id":"p","name":"n","quantity":1,"unit_price":"0.10"})");
    REQUIRE(r);
    CHECK(r->result_int() == 200);
  }
  auto state = c.call(http::verb::get, "/orders/" + id);
  REQUIRE(state);
  CHECK(nlohmann::json::parse(state->body())["total"] == "2.00");
  CHECK(f.svc->metrics().open_connections() == 1);
}

TEST_CASE("oversized bodies and headers are 413, malformed requests 400, and the connection closes",
          "[service][http]") {
  cairn::order_service::service_limits limits;
  limits.max_body_bytes = 1024;
  service_fixture f{{}, limits};
  cairn::order_service::server_options opts;
  opts.max_header_bytes = 512;
  running_server srv{*f.svc, opts};
  {
    connection c{srv.port};
    c.send_raw("POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n");
    auto r = c.receive();
    REQUIRE(r);
    CHECK(r->result_int() == 413);
    CHECK(nlohmann::json::parse(r->body())["error"] == "request body too large");
    CHECK_FALSE(c.receive());
  }
  {
    connection c{srv.port};
    c.send_raw("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(1000, 'b') + "\r\n\r\n");
    auto r = c.receive();
    REQUIRE(r);
    CHECK(r->result_int() == 413);
  }
  {
    connection c{srv.port};
    c.send_raw("NOT A REQUEST\r\n\r\n");
    auto r = c.receive();
    REQUIRE(r);
    CHECK(r->result_int() == 400);
    CHECK_FALSE(c.receive());
  }
  connection ok{srv.port};
  auto health = ok.call(http::verb::get, "/healthz");
  REQUIRE(health);
  CHECK(health->result_int() == 200);
}

TEST_CASE("connections beyond the limit get 429 and are closed", "[service][http]") {
  service_fixture f;
  cairn::order_service::server_options opts;
  opts.max_connections = 2;
  running_server srv{*f.svc, opts};
  connection a{srv.port}, b{srv.port};
  REQUIRE(a.call(http::verb::get, "/healthz"));
  REQUIRE(b.call(http::verb::get, "/healthz"));
  connection c{srv.port};
  auto refused = c.receive();
  REQUIRE(refused);
  CHECK(refused->result_int() == 429);
  CHECK_FALSE(c.receive());
  auto still = a.call(http::verb::get, "/healthz");
  REQUIRE(still);
  CHECK(still->result_int() == 200);
}

TEST_CASE("stop closes idle connections and run() returns", "[service][http]") {
  service_fixture f;
  running_server srv{*f.svc, {}};
  connection idle{srv.port};
  REQUIRE(idle.call(http::verb::get, "/healthz"));
  srv.stop(); // joins run()
  CHECK_FALSE(idle.receive());
  CHECK(f.svc->metrics().open_connections() == 0);
}

namespace {

/// Seconds since `start`.
double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// Connections that send a request one byte at a time, every `period`, never finishing it (slowloris).
struct slow_senders {
  slow_senders(unsigned short port, std::size_t count, std::chrono::milliseconds period) {
    for (std::size_t i = 0; i < count; ++i)
      conns.push_back(std::make_unique<connection>(port));
    thread = std::thread{[this, period] {
      const std::string request = "POST /orders HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(10'000, 's');
      for (std::size_t sent = 0; !done.load() && sent < request.size(); ++sent) {
        for (auto& c : conns) {
          beast::error_code ignored;
          net::write(c->stream.socket(), net::buffer(&request[sent], 1), ignored);
        }
        std::this_thread::sleep_for(period);
      }
    }};
  }
  ~slow_senders() {
    done = true;
    thread.join();
  }

  std::vector<std::unique_ptr<connection>> conns;
  std::atomic<bool> done{false};
  std::thread thread;
};

} // namespace

TEST_CASE("slow senders holding every connection do not lock honest clients out", "[service][http][hostile]") {
  service_fixture f;
  cairn::order_service::server_options opts;
  opts.max_connections = 8;
  opts.reclaimable_after = std::chrono::milliseconds{200};
  running_server srv{*f.svc, opts};
  slow_senders attack{srv.port, opts.max_connections, std::chrono::milliseconds{50}};
  std::this_thread::sleep_for(std::chrono::milliseconds{400}); // the attack holds every slot, longer than 200 ms
  for (int i = 0; i < 20; ++i) {
    connection honest{srv.port};
    auto r = honest.call(http::verb::post, "/orders", R"({"customer_id":"c-1"})");
    REQUIRE(r);
    CHECK(r->result_int() == 201);
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  CHECK(f.svc->metrics().reclaimed_connections() >= 1);
  CHECK(f.svc->metrics().open_connections() <= static_cast<std::int64_t>(opts.max_connections));
}

TEST_CASE("a header that arrives too slowly and a body below the minimum rate close the connection",
          "[service][http][hostile]") {
  service_fixture f;
  cairn::order_service::server_options opts;
  opts.header_timeout = std::chrono::milliseconds{300};
  opts.min_transfer_rate = 10'000; // a 1,000-byte body within 1.1 s
  running_server srv{*f.svc, opts};
  {
    slow_senders header{srv.port, 1, std::chrono::milliseconds{50}};
    auto start = std::chrono::steady_clock::now();
    CHECK_FALSE(header.conns[0]->receive());
    CHECK(seconds_since(start) < 2.0); // the idle timeout (30 s) does not apply once a request has begun
  }
  {
    connection body{srv.port};
    body.send_raw("POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{");
    auto start = std::chrono::steady_clock::now();
    std::optional<http::response<http::string_body>> r;
    for (int i = 0; i < 40 && seconds_since(start) < 5.0; ++i) {
      beast::error_code ec;
      net::write(body.stream.socket(), net::buffer(" ", 1), ec);
      if (ec)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds{100});
    }
    CHECK_FALSE(body.receive());
    CHECK(seconds_since(start) < 3.0);
  }
  connection ok{srv.port};
  auto health = ok.call(http::verb::get, "/healthz");
  REQUIRE(health);
  CHECK(health->result_int() == 200);
}

TEST_CASE("stop is bounded by a client that does not read its responses", "[service][http][hostile]") {
  service_fixture f;
  cairn::order_service::server_options opts;
  opts.shutdown_timeout = std::chrono::milliseconds{500};
  running_server srv{*f.svc, opts};
  connection greedy{srv.port};
  std::string pipelined;
  for (int i = 0; i < 2000; ++i) // megabytes of /metrics, more than the sockets buffer
    pipelined += "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  greedy.send_raw(pipelined);
  std::this_thread::sleep_for(std::chrono::milliseconds{300});
  auto start = std::chrono::steady_clock::now();
  srv.stop();
  CHECK(seconds_since(start) < 3.0);
}

TEST_CASE("HEAD answers like GET without a body", "[service][http]") {
  service_fixture f;
  running_server srv{*f.svc, {}};
  connection c{srv.port};
  auto get = c.call(http::verb::get, "/healthz");
  REQUIRE(get);
  http::request<http::empty_body> req{http::verb::head, "/healthz", 11};
  req.set(http::field::host, "localhost");
  http::write(c.stream, req);
  http::response_parser<http::string_body> parser;
  parser.skip(true);
  beast::error_code ec;
  http::read(c.stream, c.buffer, parser, ec);
  REQUIRE_FALSE(ec);
  auto& head = parser.get();
  CHECK(head.result_int() == 200);
  CHECK(head[http::field::content_length] == std::to_string(get->body().size()));
  CHECK(head.body().empty());
  auto after = c.call(http::verb::get, "/healthz"); // the connection stays usable
  REQUIRE(after);
  CHECK(after->result_int() == 200);
}

TEST_CASE("GET of an order answers its version as ETag; order commands take If-Match, 412 when it does not match",
          "[service][http][etag]") {
  service_fixture f;
  running_server srv{*f.svc, {}};
  connection c{srv.port};
  const std::string line = R"({"product_id":"p","name":"n","quantity":1,"unit_price":"0.10"})";
  auto id = f.create_order();
  auto order = [&] {
    auto r = c.call(http::verb::get, "/orders/" + id);
    REQUIRE(r);
    REQUIRE(r->result_int() == 200);
    return *r;
  };
  auto first = order();
  CHECK(first[http::field::etag] == "\"1\"");
  CHECK(nlohmann::json::parse(first.body())["version"] == 1);

  auto added = c.call(http::verb::post, "/orders/" + id + "/lines", line, {"\"1\""});
  REQUIRE(added);
  CHECK(added->result_int() == 200);
  CHECK(nlohmann::json::parse(added->body())["version"] == 2);
  CHECK(order()[http::field::etag] == "\"2\"");

  // A stale tag: 412 with the usual error body, and nothing written.
  auto stale = c.call(http::verb::post, "/orders/" + id + "/lines", line, {"\"1\""});
  REQUIRE(stale);
  CHECK(stale->result_int() == 412);
  CHECK(stale->keep_alive());
  auto error = nlohmann::json::parse(stale->body());
  CHECK(error["code"] == "precondition_failed");
  CHECK_THAT(error["error"].get<std::string>(), Catch::Contains("is at version 2, not 1"));
  auto removed_stale = c.call(http::verb::delete_, "/orders/" + id + "/lines/p", {}, {"\"1\""});
  REQUIRE(removed_stale);
  CHECK(removed_stale->result_int() == 412);
  auto submitted_stale = c.call(http::verb::post, "/orders/" + id + "/submit", {}, {"\"3\""});
  REQUIRE(submitted_stale);
  CHECK(submitted_stale->result_int() == 412);
  auto unchanged = order();
  CHECK(unchanged[http::field::etag] == "\"2\"");
  CHECK(nlohmann::json::parse(unchanged.body())["lines"].size() == 1);
  CHECK(nlohmann::json::parse(unchanged.body())["status"] == "draft");

  // Malformed tags are 400, a weak tag never matches (412), * matches any version; nothing written by the refused.
  for (const auto& malformed : std::vector<std::vector<std::string>>{
         {"2"}, {"\"two\""}, {"\"\""}, {""}, {"\"2\", \"3\""}, {"\"2\"", "\"3\""}, {"\"99999999999999999999\""}}) {
    auto r = c.call(http::verb::post, "/orders/" + id + "/lines", line, malformed);
    REQUIRE(r);
    INFO("If-Match: " << malformed[0]);
    CHECK(r->result_int() == 400);
    CHECK(nlohmann::json::parse(r->body())["code"] == "bad_request");
  }
  auto weak = c.call(http::verb::post, "/orders/" + id + "/lines", line, {"W/\"2\""});
  REQUIRE(weak);
  CHECK(weak->result_int() == 412);
  CHECK(order()[http::field::etag] == "\"2\"");
  auto any = c.call(http::verb::delete_, "/orders/" + id + "/lines/p", {}, {"*"});
  REQUIRE(any);
  CHECK(any->result_int() == 200);
  CHECK(order()[http::field::etag] == "\"3\"");

  // The current tag lets the command through; a product answers its ETag too.
  auto readded = c.call(http::verb::post, "/orders/" + id + "/lines", line, {" \"3\" "});
  REQUIRE(readded);
  CHECK(readded->result_int() == 200);
  auto submitted = c.call(http::verb::post, "/orders/" + id + "/submit", {}, {"\"4\""});
  REQUIRE(submitted);
  CHECK(submitted->result_int() == 200);
  CHECK(nlohmann::json::parse(submitted->body())["version"] == 5);
  auto product = c.call(http::verb::get, "/products/" + f.create_product(7));
  REQUIRE(product);
  CHECK(product->result_int() == 200);
  CHECK((*product)[http::field::etag] == "\"1\"");
}
