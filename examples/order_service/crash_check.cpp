// order-service-crash-check: proves that the order service loses nothing it acknowledged when it is killed.
//
//   order-service-crash-check --server build/bin/order-service [--rounds 10] [--clients 8] [--seed S] [--keep DIR]
//
// Starts the service (durable) on a fresh folder and registers a few products. Each round: client threads (one
// keep-alive connection each) create orders, add and remove lines and submit orders, recording every
// acknowledged response; the server is SIGKILLed 200-900 ms into the round; it is restarted on the same data and
// every order ever acknowledged is checked:
//   * GET /orders/{id}/events: versions are 1..head without a gap, and the event at every acknowledged version is
//     exactly the acknowledged command's (type and fields);
//   * beyond the last acknowledged version there is at most the one command in flight at the kill, then only
//     the stock saga's order.confirmed / order.rejected after an order.submitted;
//   * GET /orders/{id} equals the fold of its events (lines, total, status, version): nothing half applied;
//   * every submitted order ends confirmed or rejected (the saga resumes after the crash), and each product's
//     stock is its initial stock minus the quantities of the confirmed orders, with nothing left reserved.
// The last round stops the server with SIGTERM during traffic instead: it must exit 0, and the same checks hold.
// Prints "order-service-crash-check: N rounds passed" or what failed, and exits non-zero on any failure.
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <poll.h>
#include <random>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using json = nlohmann::json;

namespace {

constexpr int product_count = 5;
constexpr std::int64_t initial_stock = 300;
constexpr int max_lines_per_order = 12;

struct failure_log {
  std::mutex mutex;
  std::vector<std::string> messages;

  void add(std::string m) {
    std::lock_guard guard{mutex};
    if (messages.size() < 20)
      std::fprintf(stderr, "  FAIL %s\n", m.c_str());
    messages.push_back(std::move(m));
  }
  std::size_t count() {
    std::lock_guard guard{mutex};
    return messages.size();
  }
};

/// A blocking HTTP/1.1 client on one keep-alive connection.
class client {
public:
  explicit client(unsigned short port) : stream_(ioc_) {
    beast::error_code ec;
    stream_.expires_after(std::chrono::seconds{5});
    stream_.connect(tcp::endpoint{net::ip::make_address("127.0.0.1"), port}, ec);
    ok_ = !ec;
  }

  struct reply {
    unsigned status = 0;
    json body;
  };

  /// nullopt when the connection failed (the server died): the command's outcome is unknown.
  std::optional<reply> call(http::verb method, const std::string& target, const std::string& body = {}) {
    if (!ok_)
      return std::nullopt;
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.keep_alive(true);
    if (!body.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
    }
    req.prepare_payload();
    beast::error_code ec;
    stream_.expires_after(std::chrono::seconds{30});
    http::write(stream_, req, ec);
    http::response<http::string_body> res;
    if (!ec)
      http::read(stream_, buffer_, res, ec);
    if (ec) {
      ok_ = false;
      return std::nullopt;
    }
    reply r{res.result_int(), json::parse(res.body(), nullptr, false)};
    if (!res.keep_alive())
      ok_ = false;
    return r;
  }

private:
  net::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  bool ok_ = false;
};

/// What the clients know of one order: the event each acknowledged command recorded, by version.
struct order_record {
  std::map<std::uint64_t, json> acked; ///< version -> {"type", "data"} expected there
  std::optional<json> in_flight;       ///< the command whose answer was lost when the server died
};

struct ledger {
  std::mutex mutex;
  std::map<std::string, order_record> orders;
  std::vector<std::string> products;
};

// ---- the server process ----

struct server_process {
  pid_t pid = -1;
  int out = -1; ///< its stdout (kept open so that its last lines do not hit a closed pipe)
  unsigned short port = 0;
};

std::optional<server_process> start_server(const std::string& binary, const std::string& data_dir) {
  int fds[2];
  if (pipe(fds) != 0)
    return std::nullopt;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    execl(binary.c_str(), binary.c_str(), "--listen", "127.0.0.1:0", "--data-dir", data_dir.c_str(), "--durability",
          "durable", "--threads", "2", static_cast<char*>(nullptr));
    std::perror("exec");
    _exit(127);
  }
  close(fds[1]);
  server_process p{pid, fds[0], 0};
  std::string text;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{30};
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{p.out, POLLIN, 0};
    if (poll(&pfd, 1, 100) <= 0)
      continue;
    char buf[512];
    auto n = read(p.out, buf, sizeof buf);
    if (n <= 0)
      break;
    text.append(buf, static_cast<std::size_t>(n));
    auto at = text.find("http://127.0.0.1:");
    if (at != std::string::npos && text.find(' ', at) != std::string::npos) {
      p.port = static_cast<unsigned short>(std::atoi(text.c_str() + at + std::strlen("http://127.0.0.1:")));
      return p;
    }
  }
  std::fprintf(stderr, "server did not start: %s\n", text.c_str());
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  close(p.out);
  return std::nullopt;
}

/// Waits for the process; its exit status (or 128 + signal).
int reap(server_process& p) {
  int status = 0;
  waitpid(p.pid, &status, 0);
  close(p.out);
  p.pid = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// ---- traffic ----

json line_body(std::mt19937_64& rng, const std::vector<std::string>& products) {
  const auto& product = products[rng() % products.size()];
  auto cents = 1 + rng() % 999;
  char price[32];
  std::snprintf(price, sizeof price, "%llu.%02llu", static_cast<unsigned long long>(cents / 100),
                static_cast<unsigned long long>(cents % 100));
  return json{{"product_id", product},
              {"name", "item " + product},
              {"quantity", 1 + static_cast<std::int64_t>(rng() % 3)},
              {"unit_price", std::string{price}}};
}

/// One client: orders one after another on one connection until the server goes away or `stop` is set.
void drive(unsigned short port, std::uint64_t seed, ledger& book, failure_log& failures, std::atomic<bool>& stop) {
  std::mt19937_64 rng{seed};
  client c{port};
  std::string order;              // the current order (empty: none)
  std::vector<std::string> lines; // its products with lines
  auto remember = [&](const std::string& id, std::uint64_t version, json expected) {
    std::lock_guard guard{book.mutex};
    book.orders[id].acked[version] = std::move(expected);
  };
  auto lost = [&](const std::string& id, json expected) {
    if (id.empty())
      return;
    std::lock_guard guard{book.mutex};
    auto& rec = book.orders[id];
    rec.in_flight = std::move(expected);
  };
  auto unexpected = [&](const std::string& what, const client::reply& r) {
    failures.add(what + " answered " + std::to_string(r.status) + " " + r.body.dump());
  };
  while (!stop.load()) {
    if (order.empty()) {
      std::string customer = "c-" + std::to_string(rng() % 100);
      auto r = c.call(http::verb::post, "/orders", json{{"customer_id", customer}}.dump());
      if (!r)
        return; // an order the server may have created: nobody knows its id, nothing to check
      if (r->status != 201 || !r->body.contains("id"))
        return unexpected("POST /orders", *r);
      order = r->body["id"].get<std::string>();
      lines.clear();
      remember(order, r->body["version"].get<std::uint64_t>(),
               json{{"type", "order.created"}, {"data", {{"customer_id", customer}}}});
      continue;
    }
    auto dice = rng() % 100;
    if (static_cast<int>(lines.size()) >= max_lines_per_order || (dice < 8 && !lines.empty())) {
      json expected{{"type", "order.submitted"}};
      auto r = c.call(http::verb::post, "/orders/" + order + "/submit");
      if (!r)
        return lost(order, expected);
      if (r->status != 200)
        return unexpected("POST /orders/" + order + "/submit", *r);
      {
        std::lock_guard guard{book.mutex};
        book.orders[order].acked[r->body["version"].get<std::uint64_t>()] = expected;
      }
      order.clear();
    } else if (dice < 18 && !lines.empty()) {
      auto product = lines[rng() % lines.size()];
      json expected{{"type", "order.line_removed"}, {"data", {{"product_id", product}}}};
      auto r = c.call(http::verb::delete_, "/orders/" + order + "/lines/" + product);
      if (!r)
        return lost(order, expected);
      if (r->status != 200)
        return unexpected("DELETE line", *r);
      std::erase(lines, product);
      remember(order, r->body["version"].get<std::uint64_t>(), expected);
    } else {
      std::vector<std::string> products;
      {
        std::lock_guard guard{book.mutex};
        products = book.products;
      }
      auto body = line_body(rng, products);
      json expected{{"type", "order.line_added"}, {"data", body}};
      auto r = c.call(http::verb::post, "/orders/" + order + "/lines", body.dump());
      if (!r)
        return lost(order, expected);
      if (r->status != 200)
        return unexpected("POST line", *r);
      lines.push_back(body["product_id"].get<std::string>());
      remember(order, r->body["version"].get<std::uint64_t>(), expected);
    }
  }
}

// ---- checks ----

std::string money_text(std::int64_t cents) {
  char text[32];
  std::snprintf(text, sizeof text, "%lld.%02lld", static_cast<long long>(cents / 100),
                static_cast<long long>(cents % 100));
  return text;
}

std::int64_t cents_of(const std::string& text) {
  auto dot = text.find('.');
  return std::stoll(text.substr(0, dot)) * 100 + std::stoll(text.substr(dot + 1));
}

bool same_event(const json& expected, const json& actual) {
  if (expected["type"] != actual["type"])
    return false;
  if (!expected.contains("data"))
    return true; // order.submitted: its lines are checked against the fold
  // The service formats prices with two places; the client may have sent fewer.
  auto want = expected["data"];
  if (want.contains("unit_price"))
    want["unit_price"] = money_text(cents_of(want["unit_price"].get<std::string>()));
  return want == actual["data"];
}

/// What an order must look like after its events, as GET /orders/{id} shows it.
struct folded {
  std::vector<json> lines;
  std::string status = "draft";
  std::int64_t total = 0;
};

/// Checks one order; `done` is set when it no longer waits for the saga; adds its confirmed quantities.
void check_order(client& c, const std::string& id, const order_record& rec, failure_log& failures, bool& done,
                 std::map<std::string, std::int64_t>& confirmed) {
  done = false;
  // The saga may append between the two reads: read again until both show the same version.
  std::optional<client::reply> events_reply, state_reply;
  for (int attempt = 0; attempt < 10; ++attempt) {
    events_reply = c.call(http::verb::get, "/orders/" + id + "/events");
    state_reply = c.call(http::verb::get, "/orders/" + id);
    if (!events_reply || !state_reply || events_reply->status != 200 || state_reply->status != 200)
      return failures.add("order " + id + " cannot be read back (acknowledged, so it must exist)");
    if (events_reply->body["version"] == state_reply->body["version"])
      break;
  }
  const auto& events = events_reply->body["events"];
  const auto head = events_reply->body["version"].get<std::uint64_t>();
  if (events.size() != head)
    return failures.add("order " + id + ": " + std::to_string(events.size()) + " events for head " +
                        std::to_string(head));
  for (std::size_t i = 0; i < events.size(); ++i)
    if (events[i]["version"].get<std::uint64_t>() != i + 1)
      return failures.add("order " + id + ": versions not contiguous at " + std::to_string(i + 1));
  std::uint64_t last_acked = rec.acked.empty() ? 0 : rec.acked.rbegin()->first;
  for (const auto& [version, expected] : rec.acked) {
    if (version > head)
      return failures.add("order " + id + ": acknowledged version " + std::to_string(version) + " lost (head " +
                          std::to_string(head) + ")");
    if (!same_event(expected, events[version - 1]))
      return failures.add("order " + id + " v" + std::to_string(version) + ": expected " + expected.dump() +
                          ", stored " + events[version - 1].dump());
  }
  // After the last acknowledged version: at most the command in flight, then only the saga's answer.
  std::uint64_t v = last_acked + 1;
  if (v <= head && rec.in_flight && same_event(*rec.in_flight, events[v - 1]))
    ++v;
  for (; v <= head; ++v) {
    auto type = events[v - 1]["type"];
    if (type != "order.confirmed" && type != "order.rejected")
      return failures.add("order " + id + " v" + std::to_string(v) + ": unacknowledged " + events[v - 1].dump());
  }
  // Fold the events and compare with the state.
  folded f;
  for (const auto& e : events) {
    const auto type = e["type"].get<std::string>();
    const auto& data = e["data"];
    if (type == "order.line_added") {
      auto line = data;
      line["total"] = money_text(cents_of(data["unit_price"].get<std::string>()) * data["quantity"].get<std::int64_t>());
      f.lines.push_back(line);
    } else if (type == "order.line_removed") {
      std::erase_if(f.lines, [&](const json& l) { return l["product_id"] == data["product_id"]; });
    } else if (type == "order.submitted") {
      if (data["lines"] != json(f.lines))
        failures.add("order " + id + ": submitted lines differ from the lines added");
      f.status = "submitted";
    } else if (type == "order.confirmed") {
      if (f.status != "submitted")
        failures.add("order " + id + ": confirmed while " + f.status);
      f.status = "confirmed";
    } else if (type == "order.rejected") {
      if (f.status != "submitted")
        failures.add("order " + id + ": rejected while " + f.status);
      f.status = "rejected";
    }
  }
  for (const auto& l : f.lines)
    f.total += cents_of(l["total"].get<std::string>());
  const auto& s = state_reply->body;
  if (s["lines"] != json(f.lines) || s["total"] != money_text(f.total) || s["version"].get<std::uint64_t>() != head)
    return failures.add("order " + id + ": state " + s.dump() + " is not the fold of its events");
  if (s["status"] != f.status)
    return failures.add("order " + id + ": status " + s["status"].dump() + ", events say " + f.status);
  done = f.status != "submitted";
  if (f.status == "confirmed")
    for (const auto& l : f.lines)
      confirmed[l["product_id"].get<std::string>()] += l["quantity"].get<std::int64_t>();
}

/// Checks every order and product; waits (up to 20 s) for the sagas of submitted orders to finish.
void check_all(unsigned short port, ledger& book, failure_log& failures) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{20};
  for (;;) {
    failure_log attempt;
    std::map<std::string, std::int64_t> confirmed;
    bool all_done = true;
    {
      client c{port};
      std::lock_guard guard{book.mutex};
      for (const auto& [id, rec] : book.orders) {
        if (rec.acked.empty())
          continue; // only a lost create: the id was never known
        bool done = false;
        check_order(c, id, rec, attempt, done, confirmed);
        all_done = all_done && done;
      }
      if (all_done)
        for (const auto& product : book.products) {
          auto r = c.call(http::verb::get, "/products/" + product);
          if (!r || r->status != 200) {
            attempt.add("product " + product + " cannot be read back");
            continue;
          }
          auto want = initial_stock - confirmed[product];
          if (r->body["on_hand"] != want || r->body["reserved"] != 0)
            attempt.add("product " + product + ": " + r->body.dump() + ", expected on_hand " + std::to_string(want) +
                        " and nothing reserved");
        }
    }
    // Lost or broken data does not heal: report at once; an unfinished saga may still finish.
    if (attempt.count() > 0 || all_done || std::chrono::steady_clock::now() > deadline) {
      for (auto& m : attempt.messages)
        failures.add(m);
      if (!all_done && attempt.count() == 0)
        failures.add("some submitted orders were neither confirmed nor rejected within 20 s");
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
}

} // namespace

int main(int argc, char** argv) {
  std::string server_binary;
  std::string keep;
  int rounds = 10;
  int clients = 8;
  std::uint64_t seed = std::random_device{}();
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view flag = argv[i];
    if (flag == "--server")
      server_binary = argv[i + 1];
    else if (flag == "--rounds")
      rounds = std::atoi(argv[i + 1]);
    else if (flag == "--clients")
      clients = std::atoi(argv[i + 1]);
    else if (flag == "--seed")
      seed = std::strtoull(argv[i + 1], nullptr, 10);
    else if (flag == "--keep")
      keep = argv[i + 1];
  }
  if (server_binary.empty() || rounds < 1 || clients < 1) {
    std::fprintf(stderr, "usage: order-service-crash-check --server PATH [--rounds N] [--clients N] [--seed S] "
                         "[--keep DIR]\n");
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  std::printf("order-service-crash-check: %d rounds, %d clients, seed %llu\n", rounds, clients,
              static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  namespace fs = std::filesystem;
  fs::path dir = keep.empty() ? fs::temp_directory_path() / ("order-service-crash-" + std::to_string(getpid()))
                              : fs::path{keep};
  fs::remove_all(dir);
  fs::create_directories(dir);
  const auto data_dir = (dir / "db").string();

  std::mt19937_64 rng{seed};
  ledger book;
  failure_log failures;
  auto server = start_server(server_binary, data_dir);
  if (!server)
    return 1;
  {
    client c{server->port};
    for (int i = 0; i < product_count; ++i) {
      auto r = c.call(http::verb::post, "/products",
                      json{{"sku", "sku-" + std::to_string(i)}, {"stock", initial_stock}}.dump());
      if (!r || r->status != 201) {
        std::fprintf(stderr, "cannot register a product\n");
        return 1;
      }
      book.products.push_back(r->body["id"].get<std::string>());
    }
  }
  std::size_t acked_total = 0;
  for (int round = 1; round <= rounds; ++round) {
    const bool graceful = round == rounds;
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (int i = 0; i < clients; ++i)
      threads.emplace_back(drive, server->port, rng(), std::ref(book), std::ref(failures), std::ref(stop));
    std::this_thread::sleep_for(std::chrono::milliseconds{200 + rng() % 700});
    kill(server->pid, graceful ? SIGTERM : SIGKILL);
    auto status = reap(*server);
    stop = true;
    for (auto& t : threads)
      t.join();
    if (graceful && status != 0)
      failures.add("SIGTERM: the server exited with " + std::to_string(status) + ", not 0");
    server = start_server(server_binary, data_dir);
    if (!server) {
      failures.add("restart failed");
      break;
    }
    check_all(server->port, book, failures);
    std::size_t acked = 0, orders = 0;
    {
      std::lock_guard guard{book.mutex};
      for (const auto& [id, rec] : book.orders) {
        acked += rec.acked.size();
        orders += rec.acked.empty() ? 0 : 1;
      }
    }
    std::printf("round %d (%s): %zu acknowledged commands so far (+%zu), %zu orders, %zu failures\n", round,
                graceful ? "SIGTERM" : "SIGKILL", acked, acked - acked_total, orders, failures.count());
    std::fflush(stdout);
    acked_total = acked;
    if (failures.count() > 0)
      break;
  }
  if (server) {
    kill(server->pid, SIGTERM);
    if (auto status = reap(*server); status != 0)
      failures.add("final SIGTERM: the server exited with " + std::to_string(status));
  }
  if (acked_total == 0)
    failures.add("no command was acknowledged: the check proved nothing");
  if (failures.count() > 0) {
    std::printf("order-service-crash-check: FAILED (%zu failures, seed %llu); the data is kept in %s\n",
                failures.count(), static_cast<unsigned long long>(seed), data_dir.c_str());
    return 1;
  }
  if (keep.empty())
    fs::remove_all(dir);
  std::printf("order-service-crash-check: %d rounds passed\n", rounds);
  return 0;
}
