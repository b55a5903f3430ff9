#include <cairn/runtime/detail/cluster_link.hpp>

#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/response_promise.hpp>
#include <caf/send.hpp>

#include <utility>

namespace cairn::detail {

namespace {

using forward_atom = caf::atom_constant<caf::atom("forward")>;
using watch_atom = caf::atom_constant<caf::atom("watch")>;
using answer_atom = caf::atom_constant<caf::atom("answer")>;

/// A callback that runs at most once: a forwarded command is answered by its owner, or `unavailable` when the
/// owner goes down first, whichever comes first.
struct once_callback {
  binding::result_callback done;
  std::atomic<bool> called{false};

  void operator()(command_result r) {
    if (!called.exchange(true))
      done(std::move(r));
  }
};
using once_ptr = std::shared_ptr<once_callback>;

command_result result_of(std::uint8_t code, std::string message, std::uint64_t version, std::uint64_t first,
                         std::uint64_t last) {
  command_result r;
  r.code = static_cast<command_errc>(code);
  r.message = std::move(message);
  r.version = version;
  r.first_position = first;
  r.last_position = last;
  return r;
}

command_result unavailable(const std::string& node, std::string_view why) {
  return command_result::failure(command_errc::unavailable, "node " + node + " " + std::string{why});
}

} // namespace

} // namespace cairn::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cairn::detail::once_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(caf::response_promise)

namespace cairn::detail {

namespace {

/// Serves forwarded commands: (forward, type, id, command, cause source, cause sequence, has cause, expected
/// version) answered with (code, message, version, first position, last position).
caf::behavior endpoint(caf::event_based_actor* self, std::shared_ptr<const cluster_link::serve_function> serve) {
  return {
    [self, serve](forward_atom, std::string& type, std::string& id, std::string& command, std::string& source,
                  std::uint64_t sequence, bool has_cause, std::uint64_t expected) -> caf::result<caf::message> {
      auto promise = self->make_response_promise();
      forwarded_command in{std::move(type), std::move(id), std::move(command), std::nullopt, expected};
      if (has_cause)
        in.cause = causation{std::move(source), sequence};
      (*serve)(std::move(in), [me = caf::actor{self}, promise](command_result r) {
        caf::anon_send(me, answer_atom::value, promise, std::move(r));
      });
      return caf::delegated<caf::message>{};
    },
    [](answer_atom, caf::response_promise& promise, command_result& r) {
      promise.deliver(static_cast<std::uint8_t>(r.code), std::move(r.message), r.version, r.first_position,
                      r.last_position);
    },
  };
}

struct forwarder_state {
  std::uint64_t next_ticket = 0;
  /// Per peer, the commands on their way to it: answered `unavailable` if it goes down first.
  std::map<std::string, std::map<std::uint64_t, once_ptr>> pending;
  std::map<caf::actor_addr, std::string> watched;
};

caf::behavior forwarder(caf::stateful_actor<forwarder_state>* self, cluster_link* link,
                        std::chrono::milliseconds timeout) {
  // Stopping: what is still on its way will not be answered through this node.
  self->set_exit_handler([self](caf::exit_msg& exit) {
    for (auto& [node, tickets] : self->state.pending)
      for (auto& [ticket, done] : tickets)
        (*done)(command_result::failure(command_errc::shutting_down,
                                        "this node stopped while a command to node " + node +
                                          " was on its way: its outcome is unknown"));
    self->state.pending.clear();
    self->quit(std::move(exit.reason));
  });
  self->set_down_handler([self, link](caf::down_msg& down) {
    auto it = self->state.watched.find(down.source);
    if (it == self->state.watched.end())
      return;
    auto node = it->second;
    self->state.watched.erase(it);
    for (auto& [ticket, done] : self->state.pending[node])
      (*done)(unavailable(node, "went down while the command was on its way: its outcome is unknown (retry "
                                "with the same causation)"));
    self->state.pending.erase(node);
    link->peer_down_from_actor(node);
  });
  return {
    [self](watch_atom, caf::actor& peer, std::string& node) {
      self->monitor(peer);
      self->state.watched.emplace(peer.address(), std::move(node));
    },
    [self, timeout](forward_atom, caf::actor& peer, std::string& node, std::string& type, std::string& id,
                    std::string& command, std::string& source, std::uint64_t sequence, bool has_cause,
                    std::uint64_t expected, once_ptr& done) {
      auto ticket = ++self->state.next_ticket;
      self->state.pending[node].emplace(ticket, done);
      self->request(peer, timeout, forward_atom::value, std::move(type), std::move(id), std::move(command),
                    std::move(source), sequence, has_cause, expected)
        .then(
          [self, node, ticket, done](std::uint8_t code, std::string& message, std::uint64_t version,
                                     std::uint64_t first, std::uint64_t last) {
            self->state.pending[node].erase(ticket);
            (*done)(result_of(code, std::move(message), version, first, last));
          },
          [self, node, ticket, done](caf::error& e) {
            self->state.pending[node].erase(ticket);
            (*done)(unavailable(node, "did not answer (" + self->system().render(e) +
                                        "): the command's outcome is unknown (retry with the same causation)"));
          });
    },
  };
}

} // namespace

cluster_link::cluster_link(caf::actor_system& sys, const cluster_map& map, std::string self_id,
                           std::chrono::milliseconds command_timeout, serve_function serve)
  : sys_(sys), map_(map), self_id_(std::move(self_id)), command_timeout_(command_timeout), serve_(std::move(serve)) {}

cluster_link::~cluster_link() {
  stop();
}

store::status cluster_link::start() {
  const auto* self = map_.node(self_id_);
  endpoint_ = sys_.spawn(endpoint, std::make_shared<const serve_function>(serve_));
  forwarder_ = sys_.spawn(forwarder, this, command_timeout_);
  auto published = sys_.middleman().publish(endpoint_, self->port, self->host.c_str(), true);
  if (!published)
    return store::error{store::errc::io_error, "node " + self_id_ + " cannot listen on " + self->host + ":" +
                                                 std::to_string(self->port) + ": " + sys_.render(published.error())};
  connector_ = std::thread{[this] { connect_loop(); }};
  return store::ok;
}

void cluster_link::stop() {
  {
    std::lock_guard guard{mutex_};
    if (stopping_)
      return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (connector_.joinable())
    connector_.join();
  if (endpoint_) {
    (void) sys_.middleman().unpublish(endpoint_);
    caf::anon_send_exit(endpoint_, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(forwarder_, caf::exit_reason::user_shutdown);
  }
  std::lock_guard guard{mutex_};
  peers_.clear();
}

void cluster_link::connect_loop() {
  std::unique_lock lock{mutex_};
  while (!stopping_) {
    for (const auto& node : map_.nodes()) {
      if (node.id == self_id_ || peers_.contains(node.id))
        continue;
      lock.unlock();
      auto peer = sys_.middleman().remote_actor(node.host, node.port);
      lock.lock();
      if (peer && !stopping_) {
        peers_[node.id] = *peer;
        caf::anon_send(forwarder_, watch_atom::value, *peer, node.id);
      }
    }
    wake_.wait_for(lock, std::chrono::milliseconds{200}, [this] { return stopping_; });
  }
}

void cluster_link::peer_down_from_actor(const std::string& node_id) {
  std::lock_guard guard{mutex_};
  peers_.erase(node_id);
}

void cluster_link::forward(const cluster_node& owner, forwarded_command command, binding::result_callback done) {
  caf::actor peer;
  {
    std::lock_guard guard{mutex_};
    if (auto it = peers_.find(owner.id); it != peers_.end())
      peer = it->second;
  }
  if (!peer)
    return done(unavailable(owner.id, "(" + owner.host + ":" + std::to_string(owner.port) +
                                        ") is not connected: nothing was sent"));
  auto once = std::make_shared<once_callback>();
  once->done = std::move(done);
  std::string source;
  std::uint64_t sequence = 0;
  if (command.cause) {
    source = std::move(command.cause->source);
    sequence = command.cause->sequence;
  }
  caf::anon_send(forwarder_, forward_atom::value, peer, owner.id, std::move(command.type_name), std::move(command.id),
                 std::move(command.command), std::move(source), sequence, command.cause.has_value(),
                 command.expected_version, once);
}

std::vector<std::string> cluster_link::connected_peers() const {
  std::vector<std::string> out;
  std::lock_guard guard{mutex_};
  for (const auto& [id, peer] : peers_)
    out.push_back(id);
  return out;
}

} // namespace cairn::detail
