#include "server.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <csignal>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

namespace cairn::order_service {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

class session;

struct http_server::state {
  state(service& s, server_options o) : svc(s), opts(std::move(o)) {}

  service& svc;
  const server_options opts;
  net::io_context ioc{static_cast<int>(opts.io_threads)};
  net::strand<net::io_context::executor_type> accept_strand{net::make_strand(ioc)};
  tcp::acceptor acceptor{accept_strand};
  net::steady_timer accept_retry{accept_strand};
  net::steady_timer shutdown_deadline{accept_strand};
  std::optional<net::signal_set> signals;
  std::atomic<bool> stopping{false};

  std::mutex sessions_mutex;
  std::unordered_map<std::uint64_t, std::weak_ptr<session>> sessions; ///< the counted (served) connections
  std::uint64_t next_session = 0;
};

namespace {

using server_state = http_server::state;

void stop_server(const std::shared_ptr<server_state>& s);

std::int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

} // namespace

/// One connection: reads a request, hands it to the core, writes the answer, and again while kept alive.
class session : public std::enable_shared_from_this<session> {
  static constexpr std::size_t first_read_bytes = 4096;

public:
  /// `id` 0: a connection over the limit, answered 429 and closed.
  session(tcp::socket&& socket, std::shared_ptr<server_state> server, std::uint64_t id)
    : stream_(std::move(socket)), server_(std::move(server)), id_(id) {}

  ~session() {
    if (id_ == 0)
      return;
    bool last = false;
    bool held_a_slot = false;
    {
      std::lock_guard guard{server_->sessions_mutex};
      held_a_slot = server_->sessions.erase(id_) == 1;
      last = server_->sessions.empty();
    }
    // A reclaimed connection gave its slot back (and was counted closed) when it was reclaimed.
    if (held_a_slot)
      server_->svc.metrics().connection_closed();
    if (last && server_->stopping.load())
      net::post(server_->accept_strand, [s = server_] { s->shutdown_deadline.cancel(); });
  }

  session(const session&) = delete;
  session& operator=(const session&) = delete;

  std::uint64_t id() const noexcept {
    return id_;
  }

  void start() {
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(&session::read, shared_from_this()));
  }

  void refuse() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      self->send_local(error_response(429, "too many connections"));
    });
  }

  /// For a graceful stop, or to make room for a new connection: an idle or slow connection closes now, a busy
  /// one after its response.
  void close_when_idle() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      self->closing_ = true;
      if (!self->busy_)
        self->stream_.cancel();
    });
  }

  /// At the end of the shutdown deadline: closes whatever it is doing.
  void close_now() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      self->closing_ = true;
      self->close();
    });
  }

  /// Since when (steady clock, ns) it has been waiting for a request or its rest; 0 while it handles one.
  std::int64_t waiting_since() const noexcept {
    return waiting_since_.load(std::memory_order_relaxed);
  }

private:
  void read() {
    if (closing_ || server_->stopping.load())
      return close();
    head_ = false;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_->opts.max_header_bytes));
    parser_->body_limit(server_->svc.limits().max_body_bytes);
    waiting_since_.store(steady_now_ns(), std::memory_order_relaxed);
    if (buffer_.size() > 0) // a pipelined request has begun already
      return read_header();
    // Waiting for the first byte is bounded by the idle timeout, the rest of the header by the header timeout.
    stream_.expires_after(server_->opts.idle_timeout);
    stream_.async_read_some(buffer_.prepare(first_read_bytes),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->buffer_.commit(n);
                              if (ec)
                                return self->close();
                              self->read_header();
                            });
  }

  void read_header() {
    stream_.expires_after(server_->opts.header_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&session::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, std::size_t n) {
    if (ec || parser_->is_done())
      return on_read(ec, n);
    auto expected = parser_->content_length().value_or(server_->svc.limits().max_body_bytes);
    stream_.expires_after(transfer_time(expected));
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  /// The longest a transfer of `bytes` may take at the minimum rate.
  std::chrono::milliseconds transfer_time(std::uint64_t bytes) const {
    auto rate = std::max<std::uint64_t>(server_->opts.min_transfer_rate, 1);
    return std::chrono::seconds{1} + std::chrono::milliseconds{bytes * 1000 / rate};
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::body_limit || ec == http::error::header_limit)
      return send_local(error_response(413, ec == http::error::body_limit ? "request body too large"
                                                                           : "request header too large"));
    if (ec && ec.category() == http::make_error_code(http::error::bad_target).category() && ec != http::error::end_of_stream &&
        ec != http::error::partial_message)
      return send_local(error_response(400, "malformed HTTP request: " + ec.message()));
    if (ec)
      return close(); // end of stream, timeout, cancelled by a stop, or a socket error
    auto& req = parser_->get();
    version_ = req.version();
    keep_alive_ = req.keep_alive();
    head_ = req.method() == http::verb::head;
    request r{std::string{req.method_string()}, std::string{req.target()}, std::move(req.body())};
    // Several If-Match fields make one list (RFC 9110, 5.3), which the core refuses as it refuses "a", "b".
    for (auto [field, end] = req.equal_range(http::field::if_match); field != end; ++field)
      r.if_match = r.if_match ? *r.if_match + ", " + std::string{field->value()} : std::string{field->value()};
    busy_ = true;
    waiting_since_.store(0, std::memory_order_relaxed);
    stream_.expires_never(); // the runtime's command timeout bounds the wait
    // A tracked executor keeps run() going while the command is in flight (no socket operation is pending).
    auto work = net::prefer(stream_.get_executor(), net::execution::outstanding_work.tracked);
    server_->svc.handle(std::move(r), [self = shared_from_this(), work](response resp) {
      net::post(work, [self, resp = std::move(resp)]() mutable { self->send(std::move(resp), self->keep_alive_); });
    });
  }

  /// A response made here, not by the core (413, 400, 429): counted, then the connection closes.
  void send_local(response resp) {
    server_->svc.metrics().record_response(resp.status);
    busy_ = true;
    waiting_since_.store(0, std::memory_order_relaxed);
    send(std::move(resp), false);
  }

  void send(response resp, bool keep_alive) {
    keep_alive = keep_alive && !closing_ && !server_->stopping.load();
    res_ = {};
    res_.version(version_);
    res_.result(resp.status);
    res_.set(http::field::server, "cairn-order-service");
    res_.set(http::field::content_type, resp.content_type);
    if (!resp.etag.empty())
      res_.set(http::field::etag, resp.etag);
    res_.keep_alive(keep_alive);
    if (head_) { // the length of the body a GET would have, and no body
      res_.content_length(resp.body.size());
    } else {
      res_.body() = std::move(resp.body);
      res_.prepare_payload();
    }
    // A client that does not read its response cannot hold the connection (and a stop) for long.
    stream_.expires_after(transfer_time(res_.body().size()));
    http::async_write(stream_, res_, beast::bind_front_handler(&session::on_write, shared_from_this(), keep_alive));
  }

  void on_write(bool keep_alive, beast::error_code ec, std::size_t) {
    busy_ = false;
    if (ec || !keep_alive)
      return close();
    read();
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  std::shared_ptr<server_state> server_;
  const std::uint64_t id_;
  std::atomic<std::int64_t> waiting_since_{0};
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool head_ = false;
  bool busy_ = false;
  bool closing_ = false;
};

namespace {

void accept(const std::shared_ptr<server_state>& s);

/// The connection that has waited longest for a request, if it has waited at least reclaimable_after
/// (sessions_mutex held).
std::shared_ptr<session> longest_waiting(server_state& s) {
  auto latest = steady_now_ns() -
                std::chrono::duration_cast<std::chrono::nanoseconds>(s.opts.reclaimable_after).count();
  std::shared_ptr<session> found;
  std::int64_t found_since = 0;
  for (auto& [id, weak] : s.sessions) {
    auto conn = weak.lock();
    auto since = conn ? conn->waiting_since() : 0;
    if (since != 0 && since <= latest && (!found || since < found_since)) {
      found = std::move(conn);
      found_since = since;
    }
  }
  return found;
}

void on_accept(const std::shared_ptr<server_state>& s, beast::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || s->stopping.load())
    return;
  if (ec) {
    // E.g. out of file descriptors: retry soon instead of spinning.
    s->accept_retry.expires_after(std::chrono::milliseconds{50});
    s->accept_retry.async_wait([s](beast::error_code wait_ec) {
      if (!wait_ec)
        accept(s);
    });
    return;
  }
  std::shared_ptr<session> conn, reclaimed;
  {
    std::lock_guard guard{s->sessions_mutex};
    if (s->sessions.size() >= s->opts.max_connections && (reclaimed = longest_waiting(*s)))
      s->sessions.erase(reclaimed->id());
    if (s->sessions.size() < s->opts.max_connections) {
      conn = std::make_shared<session>(std::move(socket), s, ++s->next_session);
      s->sessions.emplace(s->next_session, conn);
    }
  }
  if (reclaimed) {
    // Counted closed now, when its slot goes to the new connection: its socket closes on its own strand a little
    // later, and until then the open count would exceed max_connections (seen under load in CI).
    s->svc.metrics().connection_reclaimed();
    s->svc.metrics().connection_closed();
    reclaimed->close_when_idle();
  }
  if (conn) {
    s->svc.metrics().connection_opened();
    conn->start();
  } else {
    s->svc.metrics().connection_refused();
    std::make_shared<session>(std::move(socket), s, 0)->refuse();
  }
  accept(s);
}

void accept(const std::shared_ptr<server_state>& s) {
  s->acceptor.async_accept(net::make_strand(s->ioc), [s](beast::error_code ec, tcp::socket socket) {
    on_accept(s, ec, std::move(socket));
  });
}

std::vector<std::shared_ptr<session>> open_sessions(server_state& s) {
  std::vector<std::shared_ptr<session>> open;
  std::lock_guard guard{s.sessions_mutex};
  for (auto& [id, weak] : s.sessions)
    if (auto conn = weak.lock())
      open.push_back(std::move(conn));
  return open;
}

void stop_server(const std::shared_ptr<server_state>& s) {
  if (s->stopping.exchange(true))
    return;
  net::post(s->accept_strand, [s] {
    beast::error_code ignored;
    s->acceptor.close(ignored);
    s->accept_retry.cancel();
    if (s->signals)
      s->signals->cancel(ignored);
  });
  auto open = open_sessions(*s);
  for (auto& conn : open)
    conn->close_when_idle();
  if (open.empty())
    return;
  net::post(s->accept_strand, [s] {
    {
      std::lock_guard guard{s->sessions_mutex};
      if (s->sessions.empty())
        return; // closed before this ran (the last one's cancel may have run already)
    }
    s->shutdown_deadline.expires_after(s->opts.shutdown_timeout);
    s->shutdown_deadline.async_wait([s](beast::error_code ec) {
      if (ec)
        return; // every connection closed in time
      for (auto& conn : open_sessions(*s))
        conn->close_now();
    });
  });
}

} // namespace

std::variant<std::unique_ptr<http_server>, std::string> http_server::open(service& svc, server_options options) {
  if (options.io_threads == 0)
    options.io_threads = 1;
  auto s = std::make_shared<state>(svc, std::move(options));
  const auto& where = s->opts.listen;
  auto failed = [&](const char* what, const beast::error_code& ec) {
    return "cannot " + std::string{what} + " " + where.address().to_string() + ":" + std::to_string(where.port()) +
           ": " + ec.message();
  };
  beast::error_code ec;
  s->acceptor.open(where.protocol(), ec);
  if (ec)
    return failed("open a socket for", ec);
  s->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  s->acceptor.bind(where, ec);
  if (ec)
    return failed("bind", ec);
  s->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return failed("listen on", ec);
  if (s->opts.handle_signals) {
    s->signals.emplace(s->ioc, SIGINT, SIGTERM);
    s->signals->async_wait([weak = std::weak_ptr<state>{s}](beast::error_code wait_ec, int) {
      if (auto strong = weak.lock(); strong && !wait_ec)
        stop_server(strong);
    });
  }
  accept(s);
  return std::unique_ptr<http_server>{new http_server{std::move(s)}};
}

http_server::http_server(std::shared_ptr<state> s) : state_(std::move(s)) {}

http_server::~http_server() {
  stop();
}

tcp::endpoint http_server::local_endpoint() const {
  beast::error_code ignored;
  return state_->acceptor.local_endpoint(ignored);
}

void http_server::run() {
  std::vector<std::thread> extra;
  for (std::size_t i = 1; i < state_->opts.io_threads; ++i)
    extra.emplace_back([s = state_] { s->ioc.run(); });
  state_->ioc.run();
  for (auto& t : extra)
    t.join();
}

void http_server::stop() {
  stop_server(state_);
}

} // namespace cairn::order_service
