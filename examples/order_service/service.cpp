#include "service.hpp"

#include "views.hpp"

#include <cairn/domains/inventory.hpp>
#include <cairn/domains/order.hpp>
#include <cairn/money.hpp>
#include <cairn/runtime/typed_events.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <nlohmann/json.hpp>

#include <charconv>
#include <cstdio>
#include <limits>
#include <optional>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace cairn::order_service {

using json = nlohmann::ordered_json;
using namespace domains;

namespace {

std::string_view code_of_status(unsigned status) {
  switch (status) {
    case 400:
      return "bad_request";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 409:
      return "conflict";
    case 412:
      return "precondition_failed";
    case 413:
      return "too_large";
    case 429:
      return "overloaded";
    case 503:
      return "unavailable";
    default:
      return "internal";
  }
}

} // namespace

response error_response(unsigned status, std::string_view message, std::string_view code) {
  json body{{"error", std::string{message}}, {"code", std::string{code.empty() ? code_of_status(status) : code}}};
  // Messages may quote bytes from the request: replace what is not UTF-8 rather than throw.
  return response{status, body.dump(-1, ' ', false, json::error_handler_t::replace)};
}

/// The service's reader thread: store reads (an order's events) never run on the caller's thread.
struct service::reader {
  boost::asio::thread_pool pool{1};
};

namespace {

constexpr std::int64_t max_quantity = 1'000'000'000;
constexpr std::int64_t max_stock = 1'000'000'000'000;

response json_response(unsigned status, const json& body) {
  return response{status, body.dump(-1, ' ', false, json::error_handler_t::replace)};
}

/// The HTTP status of a command that was not accepted (docs/order_service.md, "Errors").
unsigned status_of(command_errc code) {
  switch (code) {
    case command_errc::none:
      return 200;
    case command_errc::rejected:
    case command_errc::conflict:
      return 409;
    case command_errc::not_found:
      return 404;
    case command_errc::overloaded:
      return 429;
    case command_errc::invalid_argument:
      return 400;
    case command_errc::storage_failure:
    case command_errc::timeout:
    case command_errc::shutting_down:
    case command_errc::unavailable:
      return 503;
  }
  return 500;
}

/// Logs what the client must not see (server paths, the store's messages), once per failure.
void log_failure(std::string_view what, std::string_view detail) {
  std::fprintf(stderr, "order-service: %.*s: %.*s\n", static_cast<int>(what.size()), what.data(),
               static_cast<int>(detail.size()), detail.data());
}

/// A store read failed: logged, answered 503 with a short message.
response read_failure(const store::error& error) {
  log_failure("store read failed", error.to_string());
  return error_response(503, "the store cannot be read now, retry later", "storage_failure");
}

response failure_response(const command_result& r) {
  auto code = to_string(r.code);
  switch (r.code) {
    case command_errc::storage_failure:
      log_failure("command failed in the store", r.message);
      return error_response(503, "the store cannot write now, nothing was stored; retry later", code);
    case command_errc::timeout:
      return error_response(503, "the command timed out before it started, nothing was stored", code);
    case command_errc::shutting_down:
      return error_response(503, "shutting down", code);
    default: // the domain's and the runtime's messages about the request itself
      return error_response(status_of(r.code), r.message.empty() ? std::string{code} : r.message, code);
  }
}

/// Decodes %XX escapes of one path segment; nullopt when an escape is malformed.
std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size())
      return std::nullopt;
    unsigned value = 0;
    auto [end, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, value, 16);
    if (ec != std::errc{} || end != s.data() + i + 3)
      return std::nullopt;
    out += static_cast<char>(value);
    i += 2;
  }
  return out;
}

/// The decoded segments of an absolute path ("/orders/o-1" -> {"orders", "o-1"}); nullopt when malformed.
std::optional<std::vector<std::string>> split_path(std::string_view path) {
  if (path.empty() || path.front() != '/')
    return std::nullopt;
  std::vector<std::string> segments;
  path.remove_prefix(1);
  for (;;) {
    auto slash = path.find('/');
    auto segment = percent_decode(path.substr(0, slash));
    if (!segment)
      return std::nullopt;
    segments.push_back(std::move(*segment));
    if (slash == std::string_view::npos)
      return segments;
    path.remove_prefix(slash + 1);
  }
}

/// The value of `key` in a query string "a=1&b=2" (nullopt when absent).
std::optional<std::string_view> query_param(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == key)
      return eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    if (amp == std::string_view::npos)
      break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

std::optional<std::uint64_t> parse_count(std::string_view text) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty())
    return std::nullopt;
  return value;
}

/// The ETag of an aggregate at `version`: the version as a strong entity tag, "7" (quotes included).
std::string etag_of(std::uint64_t version) {
  return '"' + std::to_string(version) + '"';
}

/// The version an order command's If-Match header expects (docs/order_service.md, "Optimistic concurrency"): none
/// without the header or with `*`; else the version of its one entity tag, or the answer when it cannot match (400
/// malformed, 412 a weak tag: If-Match compares strongly).
std::variant<std::optional<std::uint64_t>, response> if_match_version(const request& req) {
  if (!req.if_match)
    return std::optional<std::uint64_t>{};
  std::string_view tag = *req.if_match;
  while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t'))
    tag.remove_prefix(1);
  while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t'))
    tag.remove_suffix(1);
  if (tag == "*")
    return std::optional<std::uint64_t>{};
  const bool weak = tag.starts_with("W/");
  if (weak)
    tag.remove_prefix(2);
  std::optional<std::uint64_t> version;
  if (tag.size() >= 3 && tag.front() == '"' && tag.back() == '"')
    version = parse_count(tag.substr(1, tag.size() - 2));
  if (!version)
    return error_response(400, "If-Match must be one entity tag as sent in ETag (e.g. \"7\"), or *");
  if (weak)
    return error_response(412, "If-Match compares strongly: a weak entity tag never matches");
  return version;
}

bool valid_id(std::string_view id) {
  return !id.empty() && id.size() <= max_aggregate_id_bytes && id.find('\0') == std::string_view::npos;
}

/// A JSON object body, or why not.
std::optional<json> parse_object(const std::string& body, std::string& error) {
  auto parsed = json::parse(body, nullptr, false);
  if (parsed.is_discarded()) {
    error = "malformed JSON body";
    return std::nullopt;
  }
  if (!parsed.is_object()) {
    error = "the body must be a JSON object";
    return std::nullopt;
  }
  return parsed;
}

/// A string field of 1..max bytes (0..max when `may_be_empty`), without NUL.
std::optional<std::string> text_field(const json& body, const char* key, std::size_t max, std::string& error,
                                      bool may_be_empty = false) {
  auto i = body.find(key);
  if (i == body.end() || !i->is_string()) {
    error = std::string{key} + " must be a string";
    return std::nullopt;
  }
  auto value = i->get<std::string>();
  if ((value.empty() && !may_be_empty) || value.size() > max || value.find('\0') != std::string::npos) {
    error = std::string{key} + " must be " + (may_be_empty ? "0" : "1") + " to " + std::to_string(max) +
            " bytes without NUL";
    return std::nullopt;
  }
  return value;
}

/// An integer field in [min, max].
std::optional<std::int64_t> integer_field(const json& body, const char* key, std::int64_t min, std::int64_t max,
                                          std::string& error) {
  auto i = body.find(key);
  auto out_of_range = [&] {
    error = std::string{key} + " must be an integer from " + std::to_string(min) + " to " + std::to_string(max);
    return std::nullopt;
  };
  if (i == body.end() || !i->is_number_integer())
    return out_of_range();
  if (i->is_number_unsigned() && i->get<std::uint64_t>() > static_cast<std::uint64_t>(max))
    return out_of_range();
  auto value = i->get<std::int64_t>();
  if (value < min || value > max)
    return out_of_range();
  return value;
}

/// A non-negative amount given as a decimal string with at most two places ("12.50", "3").
std::optional<money> money_field(const json& body, const char* key, std::string& error) {
  auto i = body.find(key);
  std::optional<money> value;
  if (i != body.end() && i->is_string())
    value = money::parse(i->get_ref<const std::string&>());
  if (!value || value->minor_units < 0 || i->get_ref<const std::string&>().front() == '-') { // also "-0.00"
    error = std::string{key} + " must be a non-negative decimal string with at most two places, e.g. \"12.50\"";
    return std::nullopt;
  }
  return value;
}

} // namespace

service::service(runtime& rt, service_limits limits)
  : rt_(rt), limits_(limits), reader_(std::make_unique<reader>()), ids_(std::random_device{}()) {
  std::random_device rd;
  ids_.seed((static_cast<std::uint64_t>(rd()) << 32) ^ rd());
}

service::~service() {
  drain();
  reader_->pool.join();
}

void service::drain() {
  draining_ = true;
  std::unique_lock lock{pending_mutex_};
  pending_done_.wait(lock, [this] { return pending_ == 0; });
}

responder service::finish(responder done) {
  {
    std::lock_guard guard{pending_mutex_};
    ++pending_;
  }
  return [this, done = std::move(done)](response r) {
    metrics_.record_response(r.status);
    done(std::move(r));
    std::lock_guard guard{pending_mutex_};
    if (--pending_ == 0)
      pending_done_.notify_all();
  };
}

std::string service::new_id(std::string_view prefix) {
  std::uint64_t bits = 0;
  {
    std::lock_guard guard{ids_mutex_};
    bits = ids_();
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(bits));
  return std::string{prefix} + hex;
}

void service::handle(request req, responder done) {
  auto reply = finish(std::move(done));
  if (draining_.load())
    return reply(error_response(503, "shutting down"));
  if (req.body.size() > limits_.max_body_bytes)
    return reply(error_response(413, "request body larger than " + std::to_string(limits_.max_body_bytes) +
                                       " bytes"));
  try {
    route(req, reply);
  } catch (const std::exception& e) {
    // Only allocation failures get here (inputs are validated before use); answer if not answered yet.
    log_failure("internal error", e.what());
    if (reply)
      reply(error_response(500, "internal error"));
  }
}

void service::route(const request& req, responder& done) {
  std::string_view target = req.target;
  auto question = target.find('?');
  auto query = question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);
  auto segments = split_path(target.substr(0, question));
  if (!segments)
    return done(error_response(400, "malformed request target"));
  const auto& s = *segments;
  const auto& m = req.method;
  const bool get = m == "GET" || m == "HEAD"; // the server sends a HEAD's answer without its body
  auto no_method = [&] { done(error_response(405, "method " + m + " not allowed on " + std::string{target})); };

  if (s.size() == 1 && s[0] == "orders")
    return m == "POST" ? create_order(req, done) : no_method();
  if (s.size() == 2 && s[0] == "orders")
    return get ? get_order(s[1], done) : no_method();
  if (s.size() == 3 && s[0] == "orders" && s[2] == "lines")
    return m == "POST" ? add_line(s[1], req, done) : no_method();
  if (s.size() == 4 && s[0] == "orders" && s[2] == "lines")
    return m == "DELETE" ? remove_line(s[1], s[3], req, done) : no_method();
  if (s.size() == 3 && s[0] == "orders" && s[2] == "submit")
    return m == "POST" ? submit_order(s[1], req, done) : no_method();
  if (s.size() == 3 && s[0] == "orders" && s[2] == "events")
    return get ? get_order_events(s[1], query, done) : no_method();
  if (s.size() == 1 && s[0] == "products")
    return m == "POST" ? register_product(req, done) : no_method();
  if (s.size() == 2 && s[0] == "products")
    return get ? get_product(s[1], done) : no_method();
  if (s.size() == 1 && s[0] == "metrics") {
    if (!get)
      return no_method();
    return done(response{200, metrics_.render(rt_), "text/plain; version=0.0.4; charset=utf-8"});
  }
  if (s.size() == 1 && s[0] == "healthz") {
    if (!get)
      return no_method();
    return healthz(done);
  }
  done(error_response(404, "no route for " + m + " " + std::string{target}));
}

template <class Aggregate, class Command, class OnAccepted>
void service::send_command(command_kind kind, std::string id, Command command, std::optional<std::uint64_t> expected,
                           responder& done, OnAccepted on_accepted) {
  auto started = std::chrono::steady_clock::now();
  auto answer = [this, kind, started, expected, done = std::move(done), on_accepted](command_result r) {
    metrics_.record_command(kind, r.code, std::chrono::steady_clock::now() - started);
    if (expected && r.code == command_errc::conflict) // the If-Match did not hold: nothing was written
      return done(error_response(412, "If-Match does not match: " + r.message));
    done(r.ok() ? on_accepted(r) : failure_response(r));
  };
  if (expected)
    rt_.send<Aggregate>(id, std::move(command), expect_version{*expected}, std::move(answer));
  else
    rt_.send<Aggregate>(id, std::move(command), std::move(answer));
}

void service::create_order(const request& req, responder& done) {
  std::string error;
  auto body = parse_object(req.body, error);
  std::optional<std::string> customer;
  if (body)
    customer = text_field(*body, "customer_id", limits_.max_text_bytes, error);
  if (!customer)
    return done(error_response(400, error));
  auto id = new_id("o-");
  send_command<orders::order>(command_kind::create_order, id, orders::create_order{std::move(*customer)}, std::nullopt,
                              done,
                              [id](const command_result& r) {
                                return json_response(201, json{{"id", id}, {"version", r.version}});
                              });
}

void service::add_line(std::string_view order_id, const request& req, responder& done) {
  if (!valid_id(order_id))
    return done(error_response(400, "invalid order id"));
  std::string error;
  auto body = parse_object(req.body, error);
  std::optional<std::string> product, name;
  std::optional<std::int64_t> quantity;
  std::optional<money> price;
  if (body && (product = text_field(*body, "product_id", limits_.max_text_bytes, error)) &&
      (name = text_field(*body, "name", limits_.max_text_bytes, error, true)) &&
      (quantity = integer_field(*body, "quantity", 1, max_quantity, error)))
    price = money_field(*body, "unit_price", error);
  if (!price)
    return done(error_response(400, error));
  auto expected = if_match_version(req);
  if (auto* refused = std::get_if<response>(&expected))
    return done(std::move(*refused));
  send_command<orders::order>(command_kind::add_line, std::string{order_id},
                              orders::add_line{std::move(*product), std::move(*name), *quantity, *price},
                              std::get<0>(expected), done,
                              [](const command_result& r) { return json_response(200, json{{"version", r.version}}); });
}

void service::remove_line(std::string_view order_id, std::string_view product_id, const request& req,
                          responder& done) {
  if (!valid_id(order_id))
    return done(error_response(400, "invalid order id"));
  if (product_id.empty() || product_id.size() > limits_.max_text_bytes || product_id.find('\0') != std::string_view::npos)
    return done(error_response(400, "invalid product id"));
  auto expected = if_match_version(req);
  if (auto* refused = std::get_if<response>(&expected))
    return done(std::move(*refused));
  send_command<orders::order>(command_kind::remove_line, std::string{order_id},
                              orders::remove_line{std::string{product_id}}, std::get<0>(expected), done,
                              [](const command_result& r) { return json_response(200, json{{"version", r.version}}); });
}

void service::submit_order(std::string_view order_id, const request& req, responder& done) {
  if (!valid_id(order_id))
    return done(error_response(400, "invalid order id"));
  auto expected = if_match_version(req);
  if (auto* refused = std::get_if<response>(&expected))
    return done(std::move(*refused));
  send_command<orders::order>(command_kind::submit_order, std::string{order_id}, orders::submit_order{},
                              std::get<0>(expected), done,
                              [](const command_result& r) { return json_response(200, json{{"version", r.version}}); });
}

void service::register_product(const request& req, responder& done) {
  std::string error;
  auto body = parse_object(req.body, error);
  std::optional<std::string> sku;
  std::optional<std::int64_t> stock;
  if (body && (sku = text_field(*body, "sku", limits_.max_text_bytes, error)))
    stock = integer_field(*body, "stock", 0, max_stock, error);
  if (!stock)
    return done(error_response(400, error));
  auto id = new_id("p-");
  send_command<inventory::product>(command_kind::register_product, id,
                                   inventory::register_product{std::move(*sku), *stock}, std::nullopt, done,
                                   [id](const command_result& r) {
                                     return json_response(201, json{{"id", id}, {"version", r.version}});
                                   });
}

template <class Aggregate, class View>
void service::query_stored(std::string_view id, std::string_view noun, responder& done, View view) {
  if (!valid_id(id))
    return done(error_response(400, "invalid " + std::string{noun} + " id"));
  // An unknown id is answered from the store on the reader thread: a query would activate an instance for it,
  // and a client asking for many unknown ids would fill memory with empty instances until the idle timeout.
  auto stream = stream_name<Aggregate>(id);
  boost::asio::post(reader_->pool, [this, id = std::string{id}, stream = std::move(stream), noun,
                                    done = std::move(done), view]() mutable {
    auto head = rt_.store().stream_version(stream);
    if (!head)
      return done(read_failure(head.error()));
    if (*head == 0)
      return done(error_response(404, std::string{noun} + " not found"));
    rt_.query<Aggregate>(id, [done = std::move(done), noun, view](const aggregate_root<Aggregate>* root,
                                                                  const command_result& status) {
      if (!status.ok() && status.code != command_errc::not_found)
        return done(failure_response(status));
      if (root == nullptr || !root->exists())
        return done(error_response(404, std::string{noun} + " not found"));
      auto found = json_response(200, view(*root));
      found.etag = etag_of(root->version());
      done(std::move(found));
    });
  });
}

void service::get_order(std::string_view order_id, responder& done) {
  query_stored<orders::order>(order_id, "order", done,
                              [](const aggregate_root<orders::order>& root) { return order_view(root); });
}

void service::get_product(std::string_view product_id, responder& done) {
  query_stored<inventory::product>(product_id, "product", done,
                                   [](const aggregate_root<inventory::product>& root) { return product_view(root); });
}

void service::healthz(responder& done) {
  if (!rt_.running())
    return done(error_response(503, "shutting down"));
  // The usual answer costs no I/O and no thread hop (it is the HTTP layer's baseline in docs/order_service.md).
  if (storage_healthy_.load() && rt_.store().health().writable)
    return done(json_response(200, json{{"status", "ok"}}));
  // On the reader thread: while the store fails, the check tries to recover it, which takes some I/O.
  boost::asio::post(reader_->pool, [this, done = std::move(done)] {
    const auto health = rt_.storage_health();
    if (storage_healthy_.exchange(health.writable) != health.writable) {
      if (health.writable)
        std::fprintf(stderr, "order-service: the store takes writes again\n");
      else
        std::fprintf(stderr, "order-service: the store refuses writes: %s\n", health.reason.c_str());
    }
    if (health.writable)
      return done(json_response(200, json{{"status", "ok"}}));
    // A stable answer; the store's message (paths, RocksDB's words) goes to the log above.
    done(json_response(503, json{{"status", "storage_failure"}, {"code", "storage_failure"},
                                 {"error", "the store does not take writes (a full or failing disk); it resumes "
                                           "by itself once the disk takes writes again"}}));
  });
}

void service::get_order_events(std::string_view order_id, std::string_view query, responder& done) {
  if (!valid_id(order_id))
    return done(error_response(400, "invalid order id"));
  std::uint64_t from = 1;
  std::uint64_t limit = limits_.max_events_page;
  if (auto text = query_param(query, "from")) {
    auto value = parse_count(*text);
    if (!value || *value == 0)
      return done(error_response(400, "from must be a version of 1 or more"));
    from = *value;
  }
  if (auto text = query_param(query, "limit")) {
    auto value = parse_count(*text);
    if (!value || *value == 0 || *value > limits_.max_events_page)
      return done(error_response(400, "limit must be from 1 to " + std::to_string(limits_.max_events_page)));
    limit = *value;
  }
  auto stream = stream_name<orders::order>(order_id);
  boost::asio::post(reader_->pool, [this, id = std::string{order_id}, stream = std::move(stream), from, limit,
                                    done = std::move(done)] {
    auto head = rt_.store().stream_version(stream);
    if (!head)
      return done(read_failure(head.error()));
    if (*head == 0)
      return done(error_response(404, "order not found"));
    auto stored = rt_.store().read_stream(stream, from, limit);
    if (!stored)
      return done(read_failure(stored.error()));
    json events = json::array();
    // Decoded with the registered codec: events stored with an older schema are upcast as the order's own replay
    // does, and shown under their current type.
    typed_events<orders::order> typed{rt_.codec<orders::order>()};
    auto to_json = [&events](const auto& event, const event_meta& m) {
      events.push_back(json{{"version", m.version},
                            {"position", m.position},
                            {"type", std::decay_t<decltype(event)>::event_type},
                            {"timestamp_us", m.timestamp.time_since_epoch().count()},
                            {"data", event_data(orders::order::event{event})}});
    };
    std::uint64_t last = from - 1;
    for (const auto& e : *stored) {
      if (auto st = typed.dispatch(e, to_json); !st) {
        log_failure("stored event cannot be decoded (" + e.stream + " version " + std::to_string(e.version) + ")",
                    st.error().to_string());
        return done(error_response(500, "a stored event cannot be decoded", "corrupt_event"));
      }
      last = e.version;
    }
    json body{{"id", id}, {"version", *head}, {"events", std::move(events)}};
    if (last < *head && last >= from)
      body["next_from"] = last + 1;
    done(json_response(200, body));
  });
}

} // namespace cairn::order_service
