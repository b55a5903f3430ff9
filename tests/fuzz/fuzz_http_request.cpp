// Fuzz target: HTTP requests to the order service. The input is the bytes of one HTTP/1.1 request, parsed by
// Boost.Beast with the server's limits (server.cpp) and handed to the socket-free core (service.hpp), which runs
// on a real runtime over RocksDB in a temporary folder, kept across inputs. What must hold for any input: the
// core answers exactly once, with one of the documented status codes, and its body is JSON; an error is
// {"error": "..."}. Any crash, sanitizer report or failed check is a bug in the service or below it.
#include "server.hpp"
#include "service.hpp"

#include <shop.hpp>

#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>

namespace {

namespace http = boost::beast::http;
using namespace cairn;

struct fixture {
  runtime rt;
  std::optional<order_service::service> svc;

  explicit fixture(const std::string& dir) : rt(config(dir)) {
    shop::register_shop(rt);
    if (!rt.start())
      std::abort();
    svc.emplace(rt);
  }

  static runtime_config config(const std::string& dir) {
    runtime_config cfg;
    cfg.data_dir = dir;
    cfg.durability = commit_mode::buffered; // the fuzzer checks answers, not fsyncs
    cfg.scheduler_threads = 1;
    return cfg;
  }
};

std::string scratch_dir;

fixture& the_fixture() {
  // Never destroyed (its threads run until libFuzzer exits) but reachable, so not a leak; the folder goes at exit.
  static fixture* f = [] {
    char tmpl[] = "/tmp/cairn-fuzz-http-XXXXXX";
    if (mkdtemp(tmpl) == nullptr)
      std::abort();
    scratch_dir = tmpl;
    std::atexit([] { std::filesystem::remove_all(scratch_dir); });
    return new fixture{scratch_dir + "/db"};
  }();
  return *f;
}

order_service::response answer(order_service::request req) {
  std::mutex mutex;
  std::condition_variable answered;
  std::optional<order_service::response> got;
  unsigned calls = 0;
  the_fixture().svc->handle(std::move(req), [&](order_service::response r) {
    std::lock_guard guard{mutex};
    ++calls;
    got = std::move(r);
    answered.notify_all();
  });
  std::unique_lock lock{mutex};
  answered.wait(lock, [&] { return got.has_value(); });
  if (calls != 1)
    __builtin_trap();
  return std::move(*got);
}

bool documented(unsigned status) {
  switch (status) {
  case 200: case 201: case 400: case 404: case 405: case 409: case 413: case 429: case 503:
    return true;
  default:
    return false;
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& f = the_fixture();
  http::request_parser<http::string_body> parser;
  parser.eager(true);
  parser.header_limit(static_cast<std::uint32_t>(order_service::server_options{}.max_header_bytes));
  parser.body_limit(f.svc->limits().max_body_bytes);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (!ec && !parser.is_done())
    parser.put_eof(ec);
  if (ec || !parser.is_done())
    return 0; // the server answers 400 or 413 itself, or waits for more bytes
  auto& req = parser.get();
  auto resp = answer({std::string{req.method_string()}, std::string{req.target()}, std::move(req.body())});
  if (!documented(resp.status))
    __builtin_trap();
  if (resp.content_type == "application/json") {
    auto body = nlohmann::json::parse(resp.body, nullptr, false);
    if (body.is_discarded())
      __builtin_trap();
    if (resp.status >= 400 && !(body.is_object() && body.contains("error") && body["error"].is_string()))
      __builtin_trap();
  }
  return 0;
}
